//! `grant_type=refresh_token` (SALESFORCE.md §2): a new access token for a stored
//! refresh token, at the token host the connection's tokens came from.

use super::TokenRequest;
use crate::secret::Secret;

/// The refresh request: `format=json` so every answer, errors included, is JSON.
pub fn request(
    token_url: String,
    refresh_token: &Secret,
    client_id: &str,
    client_secret: Option<&Secret>,
) -> TokenRequest {
    TokenRequest::to(token_url)
        .plain("grant_type", "refresh_token")
        .secret("refresh_token", refresh_token)
        .plain("client_id", client_id)
        .plain("format", "json")
        .secret_if("client_secret", client_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_sends_the_grant_the_token_and_the_client() {
        let r = request(
            "https://login.salesforce.com/services/oauth2/token".into(),
            &Secret::new("5Aep-r"),
            "cid",
            Some(&Secret::new("shh")),
        );
        assert_eq!(r.url, "https://login.salesforce.com/services/oauth2/token");
        assert_eq!(
            r.pairs(),
            [
                ("grant_type", "refresh_token"),
                ("refresh_token", "5Aep-r"),
                ("client_id", "cid"),
                ("format", "json"),
                ("client_secret", "shh"),
            ]
        );
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("5Aep-r") && !dbg.contains("shh"), "{dbg}");
        let public = request("u".into(), &Secret::new("r"), "cid", None);
        assert!(public.pairs().iter().all(|(k, _)| *k != "client_secret"));
    }
}
