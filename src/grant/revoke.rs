//! `POST /services/oauth2/revoke` (SALESFORCE.md §4, §7): revoking a refresh token
//! ends its whole family; revoking an access token ends its session.

use super::TokenRequest;
use crate::secret::Secret;

/// Revokes `token` at the token host.
pub fn request(token_host: &str, token: &Secret) -> TokenRequest {
    TokenRequest::to(format!("{token_host}/services/oauth2/revoke")).secret("token", token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_names_only_the_token() {
        let r = request("https://login.salesforce.com", &Secret::new("5Aep"));
        assert_eq!(r.url, "https://login.salesforce.com/services/oauth2/revoke");
        assert_eq!(r.pairs(), [("token", "5Aep")]);
    }
}
