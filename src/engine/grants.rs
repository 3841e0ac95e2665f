//! Connect by grant: a connection made from a credential rather than a token
//! response — a refresh token, an authorization code with its PKCE verifier, a JWT
//! assertion, the app's client credentials. Refusals are classified as a refresh's
//! are, with Salesforce's `error_description` as evidence; nothing is stored then.

use super::*;
use crate::decide::origin::{check_login_url, classify_host, HostKind};
use crate::grant::{authorization_code, client_credentials, jwt_bearer};

/// A credential to redeem at the token host.
pub enum Grant<'a> {
    /// A refresh token the caller holds.
    RefreshToken(&'a str),
    /// The code the user's consent produced, with the PKCE verifier and redirect URI.
    Code {
        /// The authorization code.
        code: &'a str,
        /// The redirect URI the authorize request named.
        redirect_uri: &'a str,
        /// The verifier whose S256 challenge the authorize request carried.
        verifier: &'a str,
    },
    /// A JWT bearer assertion for `username`, signed by the host with the caller's key.
    Jwt {
        /// The Salesforce username (`sub`).
        username: &'a str,
        /// `aud`, when not the login host.
        audience: Option<&'a str>,
    },
    /// The connected app's own key and secret (My Domain only).
    ClientCredentials,
}

/// What a connection's record keeps of how it was made.
#[derive(Default)]
pub(super) struct Provenance {
    /// The login host the tokens came from, when not the manager's.
    pub token_host: Option<String>,
    /// `jwt` or `client_credentials`: re-minted instead of refreshed.
    pub grant: Option<String>,
    /// The JWT username.
    pub subject: Option<String>,
    /// The JWT audience, when not the token host.
    pub audience: Option<String>,
}

impl<H: Host> Engine<H> {
    /// The login host a connection's tokens come from and are renewed at.
    pub(super) fn token_host_of(&self, record: &StoredConnection) -> String {
        record
            .token_host
            .clone()
            .unwrap_or_else(|| self.config.login_url.clone())
    }

    /// A login URL given for one connection, held to the rules of option `loginUrl`.
    pub(super) fn login_origin(&self, url: &str) -> Result<Origin, SessionError> {
        check_login_url(url, self.config.allow_insecure_loopback)
            .map_err(|why| SessionError::config(format!("loginUrl is refused: {why}")))
    }

    /// The request that mints a new token for a connection that has no refresh token:
    /// a new JWT assertion, or the client credentials again.
    pub(super) async fn mint_request(
        &self,
        id: &str,
        record: &StoredConnection,
    ) -> Result<TokenRequest, SessionError> {
        let host = self.token_host_of(record);
        let url = format!("{host}/services/oauth2/token");
        match (record.grant.as_deref(), &self.config.client_secret) {
            (Some("jwt"), _) => {
                let username = record.subject.as_deref().unwrap_or_default();
                let audience = record.audience.as_deref().unwrap_or(&host);
                self.jwt_request(id, url, username, audience).await
            }
            (Some("client_credentials"), Some(secret)) => Ok(client_credentials::request(
                url,
                &self.config.client_id,
                secret,
            )),
            _ => Err(SessionError::new(
                ErrorCode::SessionExpired,
                "The session needs renewing and the connection has no refresh token",
            )
            .evidence("no refresh token is stored for this connection")
            .about(id, Some(&record.org_id))),
        }
    }

    async fn jwt_request(
        &self,
        id: &str,
        url: String,
        username: &str,
        audience: &str,
    ) -> Result<TokenRequest, SessionError> {
        let claims = jwt_bearer::claims(
            &self.config.client_id,
            username,
            audience,
            self.host.now_ms(),
        );
        let assertion = self.host.sign_jwt(id, &claims).await.map_err(|e| {
            SessionError::config(format!(
                "the JWT assertion could not be signed: {}",
                clip(e.detail(), 160)
            ))
            .about(id, None)
        })?;
        Ok(jwt_bearer::request(url, &assertion))
    }

    /// Redeems `grant` at the token host and stores what it returns under `id`.
    pub async fn connect_grant(
        &self,
        id: &str,
        grant: Grant<'_>,
    ) -> Result<ConnectionInfo, SessionError> {
        check_connection_id(id)?;
        let token_url = self.config.token_url();
        let secret = self.config.client_secret.as_ref();
        let client_id = &self.config.client_id;
        let mut kept = Provenance::default();
        let mut presented = None;
        let (request, name) = match grant {
            Grant::RefreshToken(value) => {
                let value = Secret::new(value.trim());
                if value.is_empty() {
                    return Err(SessionError::config("the refresh token is empty").about(id, None));
                }
                presented = Some(value.clone());
                let r = refresh_token::request(token_url, &value, client_id, secret);
                (r, "refresh_token")
            }
            Grant::Code {
                code,
                redirect_uri,
                verifier,
            } => {
                let r = authorization_code::request(
                    token_url,
                    &Secret::new(code),
                    redirect_uri,
                    &Secret::new(verifier),
                    client_id,
                    secret,
                );
                (r, "authorization_code")
            }
            Grant::Jwt { username, audience } => {
                let login = self.config.login_url.clone();
                let audience_or_host = audience.unwrap_or(&login);
                kept.grant = Some("jwt".into());
                kept.subject = Some(username.into());
                kept.audience = audience.map(str::to_string);
                let r = self
                    .jwt_request(id, token_url, username, audience_or_host)
                    .await?;
                (r, "JWT bearer")
            }
            Grant::ClientCredentials => {
                let secret = secret.ok_or_else(|| {
                    SessionError::config("client credentials need option 'clientSecret'")
                        .about(id, None)
                })?;
                if classify_host(&self.config.login_origin.host) == HostKind::Login {
                    return Err(SessionError::config(
                        "client credentials are redeemed at the org's My Domain: set loginUrl to it (a login host refuses this grant)",
                    )
                    .evidence(format!("loginUrl is {}; nothing was sent", self.config.login_url))
                    .about(id, None));
                }
                kept.grant = Some("client_credentials".into());
                (
                    client_credentials::request(token_url, client_id, secret),
                    "client credentials",
                )
            }
        };
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
            let failure = classify_token_failure(reply.status, &reply.body);
            let mut e = match presented {
                Some(_) => failure.into_error(),
                None => failure.into_grant_error(name),
            }
            .about(id, None);
            e.status = Some(reply.status);
            return Err(e);
        }
        let mut body = TokenResponseBody::read(&reply.body).map_err(|e| e.about(id, None))?;
        if let Some(value) = &presented {
            body = body.or_refresh_token(value);
        }
        let token =
            validate_token_response(&body, &self.token_checks()).map_err(|e| e.about(id, None))?;
        self.store_minted(id, token, kept).await
    }
}
