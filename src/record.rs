//! What the store holds for a connection, and what callers may see of it.

use crate::secret::Secret;
use crate::token::MintedToken;
use serde::{Deserialize, Serialize};

/// Version of the stored record layout.
pub const RECORD_VERSION: u32 = 1;

/// Whether the connection can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Usable.
    #[default]
    Active,
    /// The refresh token is dead: a person must authorize again. No worker sends another token request.
    ReauthRequired,
}

/// Why a connection needs re-authorization, as Salesforce said it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReauthInfo {
    /// The sub-reason label.
    pub reason: String,
    /// `error_description`, verbatim.
    pub description: String,
    /// When it was seen, epoch ms.
    pub at: u64,
}

/// Where the expiry estimate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpirySource {
    /// `issued_at` + the configured session timeout.
    #[default]
    Estimate,
    /// The introspection endpoint's `exp`.
    Introspection,
}

/// The shared record of one connection in the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredConnection {
    /// Layout version.
    pub v: u32,
    /// The current access token.
    pub access_token: Secret,
    /// The current refresh token (rotated ones are replaced before use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// The instance origin.
    pub instance_url: String,
    /// The identity URL.
    pub id_url: String,
    /// Org id.
    pub org_id: String,
    /// User id.
    pub user_id: String,
    /// When the access token was issued, epoch ms.
    pub issued_at: u64,
    /// When the access token is expected to expire, epoch ms.
    pub expires_at: u64,
    /// Where `expires_at` came from.
    #[serde(default)]
    pub expiry_source: ExpirySource,
    /// The instance id of the manager that obtained the access token.
    pub minted_by: String,
    /// Usable or not.
    #[serde(default)]
    pub status: Status,
    /// Why re-authorization is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth: Option<ReauthInfo>,
    /// The org locks sessions to their IP: each instance keeps its own access token.
    #[serde(default)]
    pub ip_locked: bool,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl StoredConnection {
    /// A fresh record from a token response.
    pub fn from_token(token: MintedToken, expires_at: u64, minted_by: &str) -> Self {
        StoredConnection {
            v: RECORD_VERSION,
            access_token: token.access_token,
            refresh_token: token.refresh_token,
            instance_url: token.instance_url,
            id_url: token.id_url,
            org_id: token.org_id,
            user_id: token.user_id,
            issued_at: token.issued_at,
            expires_at,
            expiry_source: ExpirySource::Estimate,
            minted_by: minted_by.to_string(),
            status: Status::Active,
            reauth: None,
            ip_locked: false,
            scope: token.scope,
        }
    }
}

/// An access token one instance keeps for itself when the org locks sessions to IPs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalToken {
    /// The access token minted by this instance.
    pub access_token: Secret,
    /// When it was issued, epoch ms.
    pub issued_at: u64,
    /// When it is expected to expire, epoch ms.
    pub expires_at: u64,
    /// The instance origin it was minted for.
    pub instance_url: String,
}

/// What callers may see of a connection: no secrets.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// The caller's id for the connection.
    pub connection_id: String,
    /// Org id.
    pub org_id: String,
    /// User id.
    pub user_id: String,
    /// The instance origin.
    pub instance_url: String,
    /// When the access token in use was issued, epoch ms.
    pub issued_at: u64,
    /// When it is expected to expire, epoch ms.
    pub expires_at: u64,
    /// `active`, `reauth_required` or `read_only`.
    pub status: String,
    /// The instance id that obtained the access token in use.
    pub minted_by: String,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// Whether the org locks sessions to IPs (each instance keeps its own token).
    pub ip_locked: bool,
    /// Why re-authorization is required, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reauth_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_default_missing_fields() {
        let json = r#"{"v":1,"accessToken":"a","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"mintedBy":"w"}"#;
        let r: StoredConnection = serde_json::from_str(json).unwrap();
        assert_eq!(r.status, Status::Active);
        assert!(!r.ip_locked);
        let back = serde_json::to_string(&r).unwrap();
        assert!(back.contains("\"status\":\"active\""));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let json = r#"{"v":1,"accessToken":"00Dsecret","refreshToken":"5Aepsecret","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"mintedBy":"w"}"#;
        let r: StoredConnection = serde_json::from_str(json).unwrap();
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("00Dsecret") && !dbg.contains("5Aepsecret"));
    }
}
