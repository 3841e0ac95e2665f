//! The JWT bearer grant: an assertion signed with the connected app's certificate
//! key (RS256, by the platform's WebCrypto), re-minted whenever the session needs
//! renewing — there is no refresh token.

use super::TokenRequest;
use crate::secret::Secret;

/// The grant type's name.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How far ahead the assertion's `exp` is (Salesforce takes at most 3 minutes).
pub const LIFETIME_S: u64 = 170;

/// The assertion's claims as JSON text: `iss` the consumer key, `sub` the username,
/// `aud` the login host, `exp` in seconds on the manager's clock.
pub fn claims(client_id: &str, username: &str, audience: &str, now_ms: u64) -> String {
    let text = |s: &str| crate::wire::json::encode(&s);
    format!(
        r#"{{"iss":{},"sub":{},"aud":{},"exp":{}}}"#,
        text(client_id),
        text(username),
        text(audience),
        now_ms / 1000 + LIFETIME_S
    )
}

/// Presents a signed `assertion` at `token_url`.
pub fn request(token_url: String, assertion: &Secret) -> TokenRequest {
    TokenRequest::to(token_url)
        .plain("grant_type", GRANT_TYPE)
        .secret("assertion", assertion)
        .plain("format", "json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_name_the_app_the_user_and_the_audience_and_expire_within_three_minutes() {
        let c = claims(
            "cid",
            "u@x.com",
            "https://login.salesforce.com",
            1_000_000_000_500,
        );
        assert_eq!(
            c,
            r#"{"iss":"cid","sub":"u@x.com","aud":"https://login.salesforce.com","exp":1000000170}"#
        );
        assert!(claims("c", "a\"b", "x", 0).contains(r#""sub":"a\"b""#));
        let r = request("u".into(), &Secret::new("eyJ.sig"));
        assert_eq!(
            r.pairs(),
            [
                ("grant_type", GRANT_TYPE),
                ("assertion", "eyJ.sig"),
                ("format", "json")
            ]
        );
    }
}
