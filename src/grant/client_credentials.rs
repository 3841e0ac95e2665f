//! The client-credentials grant: the connected app's own key and secret, at the org's
//! My Domain only (a login host refuses it), re-minted when the session needs renewing.

use super::TokenRequest;
use crate::secret::Secret;

/// Asks `token_url` for a token for the app's run-as user.
pub fn request(token_url: String, client_id: &str, client_secret: &Secret) -> TokenRequest {
    TokenRequest::to(token_url)
        .plain("grant_type", "client_credentials")
        .plain("client_id", client_id)
        .secret("client_secret", client_secret)
        .plain("format", "json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_send_the_key_and_secret() {
        let r = request("u".into(), "cid", &Secret::new("shh"));
        assert_eq!(
            r.pairs(),
            [
                ("grant_type", "client_credentials"),
                ("client_id", "cid"),
                ("client_secret", "shh"),
                ("format", "json"),
            ]
        );
    }
}
