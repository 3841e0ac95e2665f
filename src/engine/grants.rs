//! Connect by grant: a connection made from a credential rather than a token
//! response (today a refresh token; the flows of the coming work land here too).
//! Token-endpoint refusals are classified exactly as a refresh's are.

use super::*;

impl<H: Host> Engine<H> {
    /// Redeems a refresh token at the token host and stores what it returns under `id`.
    pub async fn connect_refresh_token(
        &self,
        id: &str,
        refresh_token_value: &str,
    ) -> Result<ConnectionInfo, SessionError> {
        check_connection_id(id)?;
        let presented = Secret::new(refresh_token_value.trim());
        if presented.is_empty() {
            return Err(SessionError::config("the refresh token is empty").about(id, None));
        }
        let request = refresh_token::request(
            self.config.token_url(),
            &presented,
            &self.config.client_id,
            self.config.client_secret.as_ref(),
        );
        let reply = self
            .host
            .post_form(&request.url, &request.pairs())
            .await
            .map_err(|e| {
                SessionError::new(
                    ErrorCode::RefreshFailed,
                    "The token endpoint could not be reached",
                )
                .evidence(format!("token request failed: {}", clip(e.detail(), 160)))
                .about(id, None)
            })?;
        if reply.status != 200 {
            let mut e = classify_token_failure(reply.status, &reply.body)
                .into_error()
                .about(id, None);
            e.status = Some(reply.status);
            return Err(e);
        }
        let body = TokenResponseBody::read(&reply.body)
            .map_err(|e| e.about(id, None))?
            .or_refresh_token(&presented);
        let token =
            validate_token_response(&body, &self.token_checks()).map_err(|e| e.about(id, None))?;
        self.store_minted(id, token).await
    }
}
