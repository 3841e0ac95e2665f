//! `POST /services/oauth2/introspect` (SALESFORCE.md §4): the only way to learn an
//! access token's real expiry. Needs the client secret; used sparingly.

use super::TokenRequest;
use crate::secret::Secret;

/// Asks the instance about one access token.
pub fn request(
    instance_url: &str,
    access_token: &Secret,
    client_id: &str,
    client_secret: &Secret,
) -> TokenRequest {
    TokenRequest::to(format!("{instance_url}/services/oauth2/introspect"))
        .secret("token", access_token)
        .plain("token_type_hint", "access_token")
        .plain("client_id", client_id)
        .secret("client_secret", client_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introspection_goes_to_the_instance_with_the_client_credentials() {
        let r = request(
            "https://acme.my.salesforce.com",
            &Secret::new("00D!x"),
            "cid",
            &Secret::new("shh"),
        );
        assert_eq!(
            r.url,
            "https://acme.my.salesforce.com/services/oauth2/introspect"
        );
        assert_eq!(
            r.pairs(),
            [
                ("token", "00D!x"),
                ("token_type_hint", "access_token"),
                ("client_id", "cid"),
                ("client_secret", "shh"),
            ]
        );
    }
}
