//! The authorization-code grant with PKCE (SALESFORCE.md §7): the code the user's
//! consent produced, redeemed with the verifier whose S256 challenge went into the
//! authorize URL. Public clients send no secret.

use super::TokenRequest;
use crate::secret::Secret;

/// Redeems `code` at `token_url`.
pub fn request(
    token_url: String,
    code: &Secret,
    redirect_uri: &str,
    code_verifier: &Secret,
    client_id: &str,
    client_secret: Option<&Secret>,
) -> TokenRequest {
    TokenRequest::to(token_url)
        .plain("grant_type", "authorization_code")
        .secret("code", code)
        .plain("redirect_uri", redirect_uri)
        .secret("code_verifier", code_verifier)
        .plain("client_id", client_id)
        .plain("format", "json")
        .secret_if("client_secret", client_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_exchange_sends_the_code_the_verifier_and_the_client() {
        let r = request(
            "https://login.salesforce.com/services/oauth2/token".into(),
            &Secret::new("aPrx-code"),
            "https://app.example/cb",
            &Secret::new("verifier-43-chars"),
            "cid",
            None,
        );
        assert_eq!(
            r.pairs(),
            [
                ("grant_type", "authorization_code"),
                ("code", "aPrx-code"),
                ("redirect_uri", "https://app.example/cb"),
                ("code_verifier", "verifier-43-chars"),
                ("client_id", "cid"),
                ("format", "json"),
            ]
        );
        let dbg = format!("{r:?}");
        assert!(
            !dbg.contains("aPrx-code") && !dbg.contains("verifier-43"),
            "{dbg}"
        );
    }
}
