//! Token responses: parsing and validating what Salesforce's token endpoint returns
//! (SALESFORCE.md §2), and the identity URL that names the org and user.

use crate::decide::origin::{
    check_instance_url, classify_host, parse_url, HostKind, Origin, Scheme,
};
use crate::error::{clip, ErrorCode, SessionError};
use crate::secret::Secret;
use crate::wire::json::parse;
use crate::wire::loose::Loose;

/// A validated token response.
#[derive(Clone, Debug, PartialEq)]
pub struct MintedToken {
    /// The access token (the session id).
    pub access_token: Secret,
    /// The refresh token, when the grant returned one.
    pub refresh_token: Option<Secret>,
    /// The instance origin, normalised (`https://acme.my.salesforce.com`).
    pub instance_url: String,
    /// The identity URL (`id`).
    pub id_url: String,
    /// The org id from the identity URL.
    pub org_id: String,
    /// The user id from the identity URL.
    pub user_id: String,
    /// When the token was issued, epoch ms.
    pub issued_at: u64,
    /// The granted scopes, if given.
    pub scope: Option<String>,
}

fn invalid(why: impl Into<String>) -> SessionError {
    let why = why.into();
    SessionError::new(
        ErrorCode::InvalidTokenResponse,
        format!("Invalid token response: {why}"),
    )
    .evidence(why)
}

/// Member `name` of the response, trimmed; absent and `null` are `None`.
fn string_field(response: &Loose, name: &str) -> Result<Option<String>, SessionError> {
    match response.get(name) {
        Loose::Absent => Ok(None),
        Loose::Str(s) if s.trim().is_empty() => Err(invalid(format!("'{name}' is empty"))),
        Loose::Str(s) => Ok(Some(s.trim().to_string())),
        _ => Err(invalid(format!("'{name}' is not a string"))),
    }
}

fn required(response: &Loose, name: &str) -> Result<String, SessionError> {
    string_field(response, name)?.ok_or_else(|| invalid(format!("'{name}' is missing")))
}

/// `issued_at` is a string of epoch milliseconds; a number is tolerated.
fn parse_issued_at(response: &Loose) -> Result<u64, SessionError> {
    match response.get("issued_at") {
        Loose::Str(s)
            if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse()
                .map_err(|_| invalid("'issued_at' is not epoch milliseconds"))
        }
        n @ Loose::Num(_) => n
            .as_u64()
            .ok_or_else(|| invalid("'issued_at' is not epoch milliseconds")),
        Loose::Absent => Err(invalid("'issued_at' is missing")),
        _ => Err(invalid("'issued_at' is not epoch milliseconds")),
    }
}

/// The org and user named by an identity URL (`…/id/00D…/005…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The org id (`00D…`).
    pub org_id: String,
    /// The user id (`005…`).
    pub user_id: String,
    /// The identity URL's origin.
    pub origin: Origin,
}

/// Salesforce ids are 15 or 18 characters; emulators and test orgs sometimes use
/// shorter ones with the right key prefix, which is what identifies the kind.
fn is_sf_id(s: &str, prefix: &str) -> bool {
    (prefix.len()..=18).contains(&s.len())
        && s.starts_with(prefix)
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Parses an identity URL: its last two path segments are the org id and the user id.
pub fn parse_identity_url(url: &str, allow_insecure_loopback: bool) -> Result<Identity, String> {
    let parsed = parse_url(url)?;
    let loopback = crate::decide::origin::classify_host(&parsed.origin.host) == HostKind::Loopback;
    if loopback && !allow_insecure_loopback {
        return Err("identity URL is on a loopback host".into());
    }
    if parsed.origin.scheme != Scheme::Https && !loopback {
        return Err("identity URL is not https".into());
    }
    let path = parsed.rest.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., "id", org, user] if is_sf_id(org, "00D") && is_sf_id(user, "005") => Ok(Identity {
            org_id: (*org).to_string(),
            user_id: (*user).to_string(),
            origin: parsed.origin,
        }),
        _ => Err("identity URL does not end in /id/<orgId>/<userId>".into()),
    }
}

/// A token endpoint's JSON body, read but not yet validated.
#[derive(Clone, Debug)]
pub struct TokenResponseBody(Loose);

/// What a refresh response may leave out and the stored record already knows.
#[derive(Clone, Debug)]
pub struct RefreshDefaults {
    /// The stored identity URL.
    pub id_url: String,
    /// The stored instance origin.
    pub instance_url: String,
    /// The clock, epoch ms: the token counts as issued now.
    pub now: u64,
}

impl TokenResponseBody {
    /// Reads the body's JSON object.
    pub fn read(json: &str) -> Result<TokenResponseBody, SessionError> {
        match parse(json) {
            Some(v) if v.is_object() => Ok(TokenResponseBody(v)),
            Some(_) => Err(invalid("the body is not a JSON object")),
            None => Err(invalid("the body is not JSON")),
        }
    }

    /// Refresh responses carry `id`, `instance_url` and `issued_at`; when a server omits
    /// one, the stored identity and instance are kept and the token counts as issued now.
    /// A value that is present is always taken as it is (sandbox refresh moves instances).
    pub fn completed(self, defaults: &RefreshDefaults) -> TokenResponseBody {
        let Loose::Object(mut members) = self.0 else {
            return self;
        };
        let mut fill = |name: &str, value: Loose| {
            if !members.iter().any(|(n, _)| n == name) {
                members.push((name.to_string(), value));
            }
        };
        fill("id", Loose::Str(defaults.id_url.clone()));
        fill("instance_url", Loose::Str(defaults.instance_url.clone()));
        fill("issued_at", Loose::Num(defaults.now as f64));
        TokenResponseBody(Loose::Object(members))
    }

    /// A refresh without rotation returns no refresh token: the one presented stays valid.
    pub fn or_refresh_token(self, presented: &Secret) -> TokenResponseBody {
        let Loose::Object(mut members) = self.0 else {
            return self;
        };
        if matches!(self_get(&members, "refresh_token"), Loose::Absent) {
            members.retain(|(n, _)| n != "refresh_token");
            members.push((
                "refresh_token".to_string(),
                Loose::Str(presented.expose().to_string()),
            ));
        }
        TokenResponseBody(Loose::Object(members))
    }
}

fn self_get<'a>(members: &'a [(String, Loose)], name: &str) -> &'a Loose {
    members
        .iter()
        .find(|(n, _)| n == name)
        .map_or(&Loose::Absent, |(_, v)| v)
}

/// Parses and validates a token endpoint's JSON body.
pub fn parse_token_response(
    json: &str,
    checks: &TokenChecks<'_>,
) -> Result<MintedToken, SessionError> {
    validate_token_response(&TokenResponseBody::read(json)?, checks)
}

/// What a token response is held to besides its own shape.
#[derive(Clone, Debug)]
pub struct TokenChecks<'a> {
    /// Lets http loopback hosts act as login and instance hosts.
    pub allow_insecure_loopback: bool,
    /// The login host the tokens came from (the identity URL must be there, at a
    /// known login host, or at the instance's own origin for My Domain logins).
    pub login_origin: &'a Origin,
    /// The clock, epoch ms: `issued_at` must be near it.
    pub now_ms: u64,
}

/// Tokens are header values: visible ASCII, of a sane length (SALESFORCE.md §2).
const TOKEN_MIN_LEN: usize = 16;
const TOKEN_MAX_LEN: usize = 8192;
/// `issued_at` before 2000 or more than a day ahead of the clock is not a real issue time.
const ISSUED_AT_MIN_MS: u64 = 946_684_800_000;
const ISSUED_AT_MAX_AHEAD_MS: u64 = 24 * 3600 * 1000;

fn check_token_value(name: &str, value: &str) -> Result<(), SessionError> {
    if !(TOKEN_MIN_LEN..=TOKEN_MAX_LEN).contains(&value.len()) {
        return Err(invalid(format!(
            "'{name}' is {} characters long, not {TOKEN_MIN_LEN} to {TOKEN_MAX_LEN}",
            value.len()
        )));
    }
    if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(invalid(format!(
            "'{name}' has characters that cannot travel in a header (only visible ASCII can)"
        )));
    }
    Ok(())
}

/// Validates a token endpoint's body: every member Salesforce sends, with sane values.
pub fn validate_token_response(
    body: &TokenResponseBody,
    checks: &TokenChecks<'_>,
) -> Result<MintedToken, SessionError> {
    let allow_insecure_loopback = checks.allow_insecure_loopback;
    let raw = &body.0;
    if let Some(error) = string_field(raw, "error").ok().flatten() {
        let description = string_field(raw, "error_description")
            .ok()
            .flatten()
            .unwrap_or_default();
        return Err(invalid(format!(
            "it is an error response: {} ({})",
            clip(&error, 60),
            clip(&description, 120)
        )));
    }
    let access_token = required(raw, "access_token")?;
    check_token_value("access_token", &access_token)?;
    let access_token = Secret::new(access_token);
    let refresh_token = string_field(raw, "refresh_token")?;
    if let Some(r) = &refresh_token {
        check_token_value("refresh_token", r)?;
    }
    let refresh_token = refresh_token.map(Secret::new);
    let instance_url = required(raw, "instance_url")?;
    let id_url = required(raw, "id")?;
    let issued_at = parse_issued_at(raw)?;
    if issued_at < ISSUED_AT_MIN_MS
        || issued_at > checks.now_ms.saturating_add(ISSUED_AT_MAX_AHEAD_MS)
    {
        return Err(invalid(
            "'issued_at' is not a time near the clock (before 2000 or over a day ahead)",
        ));
    }
    if let Some(t) = string_field(raw, "token_type")? {
        if !t.eq_ignore_ascii_case("bearer") {
            return Err(invalid(format!(
                "'token_type' is '{}', not Bearer",
                clip(&t, 20)
            )));
        }
    }
    let community = string_field(raw, "sfdc_community_url")?;
    let origin = check_instance_url(&instance_url, allow_insecure_loopback, community.as_deref())
        .map_err(|why| {
        if parse_url(&instance_url).is_err() {
            invalid(format!("'instance_url' is not a URL: {why}"))
        } else {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "The token response's instance_url is not a Salesforce API host",
            )
            .evidence(format!("instance_url refused: {why}"))
        }
    })?;
    let identity = parse_identity_url(&id_url, allow_insecure_loopback)
        .map_err(|why| invalid(format!("'id' is not an identity URL: {why}")))?;
    let login_host = classify_host(&identity.origin.host) == HostKind::Login
        && identity.origin.scheme == Scheme::Https
        && identity.origin.port.is_none();
    if !(login_host || identity.origin == *checks.login_origin || identity.origin == origin) {
        return Err(SessionError::new(
            ErrorCode::InvalidTokenResponse,
            "The token response's identity URL is not on its login host; the token would be sent there",
        )
        .evidence(format!(
            "'id' is on {}, which is neither the login host {} nor the instance {origin}",
            identity.origin, checks.login_origin
        )));
    }
    Ok(MintedToken {
        access_token,
        refresh_token,
        instance_url: origin.to_string(),
        id_url,
        org_id: identity.org_id,
        user_id: identity.user_id,
        issued_at,
        scope: string_field(raw, "scope").ok().flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Origin {
        parse_url("https://login.salesforce.com").unwrap().origin
    }

    fn parse_token_response(json: &str, allow: bool) -> Result<MintedToken, SessionError> {
        super::parse_token_response(json, &checks(&login(), allow))
    }

    fn validate_token_response(
        body: &TokenResponseBody,
        allow: bool,
    ) -> Result<MintedToken, SessionError> {
        super::validate_token_response(body, &checks(&login(), allow))
    }

    fn checks(login: &Origin, allow: bool) -> TokenChecks<'_> {
        TokenChecks {
            allow_insecure_loopback: allow,
            login_origin: login,
            now_ms: 1_779_461_040_000,
        }
    }

    const GOOD: &str = r#"{"access_token":"00Dx0000000BV7z!AR8AQP0jITN","refresh_token":"5Aep861TSESvWeug","signature":"x","scope":"refresh_token api","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU","token_type":"Bearer","issued_at":"1779461039475"}"#;

    #[test]
    fn parses_a_real_token_response() {
        let t = parse_token_response(GOOD, false).unwrap();
        assert_eq!(t.org_id, "00Dx0000000BV7zEAG");
        assert_eq!(t.user_id, "005x00000012Q9PAAU");
        assert_eq!(t.issued_at, 1_779_461_039_475);
        assert_eq!(t.instance_url, "https://acme.my.salesforce.com");
        assert_eq!(
            t.refresh_token.as_ref().map(|s| s.expose()),
            Some("5Aep861TSESvWeug")
        );
    }

    #[test]
    fn garbage_is_an_invalid_token_response() {
        for bad in [
            "",
            "nope",
            "[]",
            "{}",
            r#"{"access_token":"x"}"#,
            r#"{"access_token":5,"instance_url":"https://a.my.salesforce.com","id":"https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P","issued_at":"1"}"#,
        ] {
            let e = parse_token_response(bad, false).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidTokenResponse, "{bad}");
        }
        let e =
            parse_token_response(&GOOD.replace("1779461039475", "yesterday"), false).unwrap_err();
        assert!(e.evidence[0].contains("issued_at"));
        let e = parse_token_response(&GOOD.replace("/id/00Dx0000000BV7zEAG", "/id/xyz"), false)
            .unwrap_err();
        assert!(e.evidence[0].contains("'id'"));
    }

    #[test]
    fn identity_ids_need_their_key_prefix_not_a_full_length() {
        assert!(
            parse_identity_url("https://login.salesforce.com/id/00Dacme/005bob", false).is_ok()
        );
        assert!(parse_identity_url("https://login.salesforce.com/id/acme/005bob", false).is_err());
        assert!(parse_identity_url("https://login.salesforce.com/id/00Dacme/bob", false).is_err());
        assert!(parse_identity_url(
            "https://login.salesforce.com/id/00D0000000000000000001/005bob",
            false
        )
        .is_err());
    }

    #[test]
    fn an_error_body_is_not_a_token_response() {
        let e = parse_token_response(
            r#"{"error":"invalid_grant","error_description":"authentication failure"}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidTokenResponse);
        assert!(e.evidence[0].contains("invalid_grant"));
    }

    #[test]
    fn a_lightning_instance_url_is_refused_as_wrong_instance() {
        let e = parse_token_response(
            &GOOD.replace("acme.my.salesforce.com", "acme.lightning.force.com"),
            false,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::WrongInstanceUrl);
    }

    #[test]
    fn a_refresh_body_gets_the_stored_identity_and_instance_when_it_omits_them() {
        let defaults = RefreshDefaults {
            id_url: "https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU".into(),
            instance_url: "https://acme.my.salesforce.com".into(),
            now: 1_779_461_040_000,
        };
        let body = TokenResponseBody::read(r#"{"access_token":"00Dx!refreshed-token"}"#)
            .unwrap()
            .completed(&defaults);
        let t = validate_token_response(&body, false).unwrap();
        assert_eq!(t.instance_url, "https://acme.my.salesforce.com");
        assert_eq!(t.org_id, "00Dx0000000BV7zEAG");
        assert_eq!(t.issued_at, 1_779_461_040_000);
        let moved = TokenResponseBody::read(&GOOD.replace("acme.my", "moved.my"))
            .unwrap()
            .completed(&defaults);
        let t = validate_token_response(&moved, false).unwrap();
        assert_eq!(t.instance_url, "https://moved.my.salesforce.com");
        assert_eq!(t.issued_at, 1_779_461_039_475);
        assert!(TokenResponseBody::read("not json").is_err());
    }

    #[test]
    fn token_values_must_be_header_safe_and_of_sane_length() {
        for bad in [
            "null",
            "short-token",
            "00Dx0000000BV7z!AR8\\u0000QP0jITN",
            "00Dx0000000BV7z!AR8 QP0jITN",
            "00Dx0000000BV7z!AR8\\u00e9QP0jITN",
            "00Dx0000000BV7z!AR8\\nQP0jITN",
        ] {
            let e = parse_token_response(&GOOD.replace("00Dx0000000BV7z!AR8AQP0jITN", bad), false)
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidTokenResponse, "{bad}");
            assert!(e.evidence[0].contains("access_token"), "{bad}: {e:?}");
        }
        let long = "x".repeat(8193);
        assert!(
            parse_token_response(&GOOD.replace("00Dx0000000BV7z!AR8AQP0jITN", &long), false)
                .is_err()
        );
        let e = parse_token_response(
            &GOOD.replace("5Aep861TSESvWeug", "5Aep861TSES\\tvWeug"),
            false,
        )
        .unwrap_err();
        assert!(e.evidence[0].contains("refresh_token"));
    }

    #[test]
    fn issued_at_must_be_near_the_clock() {
        for bad in ["0", "100", "9999999999999"] {
            let e = parse_token_response(&GOOD.replace("1779461039475", bad), false).unwrap_err();
            assert!(e.evidence[0].contains("issued_at"), "{bad}");
        }
    }

    #[test]
    fn the_identity_url_must_be_on_the_login_host_or_the_instance() {
        for host in [
            "login.salesforce.com.evil.com",
            "acme.lightning.force.com",
            "other.my.salesforce.com",
            "evil.example.com",
            "login.salesforce.com:8443",
        ] {
            let json = GOOD.replace(
                "https://login.salesforce.com/id/",
                &format!("https://{host}/id/"),
            );
            let e = parse_token_response(&json, false).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidTokenResponse, "{host}");
        }
        for host in ["test.salesforce.com", "acme.my.salesforce.com"] {
            let json = GOOD.replace(
                "https://login.salesforce.com/id/",
                &format!("https://{host}/id/"),
            );
            assert!(parse_token_response(&json, false).is_ok(), "{host}");
        }
        let my_domain = parse_url("https://acme--dev.sandbox.my.salesforce.com")
            .unwrap()
            .origin;
        let json = GOOD.replace(
            "https://login.salesforce.com/id/",
            "https://acme--dev.sandbox.my.salesforce.com/id/",
        );
        assert!(super::parse_token_response(&json, &checks(&my_domain, false)).is_ok());
    }

    #[test]
    fn evidence_never_quotes_the_tokens() {
        let e = parse_token_response(&GOOD.replace("\"id\"", "\"idx\""), false).unwrap_err();
        let all = format!("{e:?} {}", e.evidence.join(" "));
        assert!(!all.contains("AR8AQP0jITN") && !all.contains("5Aep861TSESvWeug"));
    }
}
