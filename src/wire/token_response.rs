//! Token responses: parsing and validating what Salesforce's token endpoint returns
//! (SALESFORCE.md §2), and the identity URL that names the org and user.

use crate::decide::origin::{check_instance_url, parse_url, HostKind, Origin, Scheme};
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
    allow_insecure_loopback: bool,
) -> Result<MintedToken, SessionError> {
    validate_token_response(&TokenResponseBody::read(json)?, allow_insecure_loopback)
}

/// Validates a token endpoint's body: every member Salesforce sends, with sane values.
pub fn validate_token_response(
    body: &TokenResponseBody,
    allow_insecure_loopback: bool,
) -> Result<MintedToken, SessionError> {
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
    let access_token = Secret::new(required(raw, "access_token")?);
    let refresh_token = string_field(raw, "refresh_token")?.map(Secret::new);
    let instance_url = required(raw, "instance_url")?;
    let id_url = required(raw, "id")?;
    let issued_at = parse_issued_at(raw)?;
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
            now: 7,
        };
        let body = TokenResponseBody::read(r#"{"access_token":"a!b"}"#)
            .unwrap()
            .completed(&defaults);
        let t = validate_token_response(&body, false).unwrap();
        assert_eq!(t.instance_url, "https://acme.my.salesforce.com");
        assert_eq!(t.org_id, "00Dx0000000BV7zEAG");
        assert_eq!(t.issued_at, 7);
        let moved = TokenResponseBody::read(&GOOD.replace("acme.my", "moved.my"))
            .unwrap()
            .completed(&defaults);
        let t = validate_token_response(&moved, false).unwrap();
        assert_eq!(t.instance_url, "https://moved.my.salesforce.com");
        assert_eq!(t.issued_at, 1_779_461_039_475);
        assert!(TokenResponseBody::read("not json").is_err());
    }

    #[test]
    fn evidence_never_quotes_the_tokens() {
        let e = parse_token_response(&GOOD.replace("\"id\"", "\"idx\""), false).unwrap_err();
        let all = format!("{e:?} {}", e.evidence.join(" "));
        assert!(!all.contains("AR8AQP0jITN") && !all.contains("5Aep861TSESvWeug"));
    }
}
