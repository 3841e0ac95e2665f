//! What the store holds for a connection, and what callers may see of it.

use crate::json::{self, Json};
use crate::secret::Secret;
use crate::wire::token_response::MintedToken;

/// Version of the stored record layout.
pub const RECORD_VERSION: u32 = 1;

/// Whether the connection can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// Usable.
    #[default]
    Active,
    /// The refresh token is dead: a person must authorize again. No worker sends another token request.
    ReauthRequired,
}

impl Status {
    /// The name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::ReauthRequired => "reauth_required",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "active" => Some(Status::Active),
            "reauth_required" => Some(Status::ReauthRequired),
            _ => None,
        }
    }
}

/// Why a connection needs re-authorization, as Salesforce said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReauthInfo {
    /// The sub-reason label.
    pub reason: String,
    /// `error_description`, verbatim.
    pub description: String,
    /// When it was seen, epoch ms.
    pub at: u64,
}

/// Where the expiry estimate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpirySource {
    /// `issued_at` + the configured session timeout.
    #[default]
    Estimate,
    /// The introspection endpoint's `exp`.
    Introspection,
}

impl ExpirySource {
    /// The name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpirySource::Estimate => "estimate",
            ExpirySource::Introspection => "introspection",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "estimate" => Some(ExpirySource::Estimate),
            "introspection" => Some(ExpirySource::Introspection),
            _ => None,
        }
    }
}

/// An optional member with a default: absent means the default, anything but a known name is refused.
fn named<T: Default>(record: &Json, name: &str, from_name: fn(&str) -> Option<T>) -> Option<T> {
    match record.get(name) {
        None => Some(T::default()),
        Some(value) => from_name(value.as_str()?),
    }
}

/// The shared record of one connection in the store. Its JSON (camelCase names,
/// absent optional members omitted) is the store format that every instance shares.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredConnection {
    /// Layout version.
    pub v: u32,
    /// The current access token.
    pub access_token: Secret,
    /// The current refresh token (rotated ones are replaced before use).
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
    pub expiry_source: ExpirySource,
    /// The instance id of the manager that obtained the access token.
    pub minted_by: String,
    /// Usable or not.
    pub status: Status,
    /// Why re-authorization is required.
    pub reauth: Option<ReauthInfo>,
    /// The org locks sessions to their IP: each instance keeps its own access token.
    pub ip_locked: bool,
    /// Granted scopes.
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

    /// Reads a stored record; `None` when the text is not one.
    pub fn from_json(text: &str) -> Option<Self> {
        let r = json::parse(text)?;
        if !r.is_object() {
            return None;
        }
        let reauth = match r.get("reauth") {
            None | Some(Json::Null) => None,
            Some(a) if a.is_object() => Some(ReauthInfo {
                reason: a.required_str("reason")?.to_string(),
                description: a.required_str("description")?.to_string(),
                at: a.required_u64("at")?,
            }),
            Some(_) => return None,
        };
        let ip_locked = match r.get("ipLocked") {
            None => false,
            Some(b) => b.as_bool()?,
        };
        Some(StoredConnection {
            v: u32::try_from(r.required_u64("v")?).ok()?,
            access_token: Secret::new(r.required_str("accessToken")?),
            refresh_token: r.optional_str("refreshToken").ok()?.map(Secret::new),
            instance_url: r.required_str("instanceUrl")?.to_string(),
            id_url: r.required_str("idUrl")?.to_string(),
            org_id: r.required_str("orgId")?.to_string(),
            user_id: r.required_str("userId")?.to_string(),
            issued_at: r.required_u64("issuedAt")?,
            expires_at: r.required_u64("expiresAt")?,
            expiry_source: named(&r, "expirySource", ExpirySource::from_name)?,
            minted_by: r.required_str("mintedBy")?.to_string(),
            status: named(&r, "status", Status::from_name)?,
            reauth,
            ip_locked,
            scope: r.optional_str("scope").ok()?.map(str::to_string),
        })
    }

    /// The record as the store holds it.
    pub fn to_json(&self) -> String {
        let mut members = vec![
            ("v", Json::Uint(self.v.into())),
            ("accessToken", Json::str(self.access_token.expose())),
        ];
        if let Some(t) = &self.refresh_token {
            members.push(("refreshToken", Json::str(t.expose())));
        }
        members.extend([
            ("instanceUrl", Json::str(&self.instance_url)),
            ("idUrl", Json::str(&self.id_url)),
            ("orgId", Json::str(&self.org_id)),
            ("userId", Json::str(&self.user_id)),
            ("issuedAt", Json::Uint(self.issued_at)),
            ("expiresAt", Json::Uint(self.expires_at)),
            ("expirySource", Json::str(self.expiry_source.as_str())),
            ("mintedBy", Json::str(&self.minted_by)),
            ("status", Json::str(self.status.as_str())),
        ]);
        if let Some(a) = &self.reauth {
            members.push((
                "reauth",
                Json::object([
                    ("reason", Json::str(&a.reason)),
                    ("description", Json::str(&a.description)),
                    ("at", Json::Uint(a.at)),
                ]),
            ));
        }
        members.push(("ipLocked", Json::Bool(self.ip_locked)));
        if let Some(scope) = &self.scope {
            members.push(("scope", Json::str(scope)));
        }
        Json::object(members).write()
    }
}

/// An access token one instance keeps for itself when the org locks sessions to IPs.
#[derive(Clone, Debug, PartialEq)]
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

impl LocalToken {
    /// Reads this instance's stored token; `None` when the text is not one.
    pub fn from_json(text: &str) -> Option<Self> {
        let t = json::parse(text)?;
        Some(LocalToken {
            access_token: Secret::new(t.required_str("accessToken")?),
            issued_at: t.required_u64("issuedAt")?,
            expires_at: t.required_u64("expiresAt")?,
            instance_url: t.required_str("instanceUrl")?.to_string(),
        })
    }

    /// The token as the store holds it.
    pub fn to_json(&self) -> String {
        Json::object([
            ("accessToken", Json::str(self.access_token.expose())),
            ("issuedAt", Json::Uint(self.issued_at)),
            ("expiresAt", Json::Uint(self.expires_at)),
            ("instanceUrl", Json::str(&self.instance_url)),
        ])
        .write()
    }
}

/// What callers may see of a connection: no secrets.
#[derive(Clone, Debug, PartialEq)]
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
    pub reauth_reason: Option<String>,
}

impl ConnectionInfo {
    /// The info object callers receive.
    pub fn to_json(&self) -> String {
        let mut members = vec![
            ("connectionId", Json::str(&self.connection_id)),
            ("orgId", Json::str(&self.org_id)),
            ("userId", Json::str(&self.user_id)),
            ("instanceUrl", Json::str(&self.instance_url)),
            ("issuedAt", Json::Uint(self.issued_at)),
            ("expiresAt", Json::Uint(self.expires_at)),
            ("status", Json::str(&self.status)),
            ("mintedBy", Json::str(&self.minted_by)),
            ("hasRefreshToken", Json::Bool(self.has_refresh_token)),
            ("ipLocked", Json::Bool(self.ip_locked)),
        ];
        if let Some(reason) = &self.reauth_reason {
            members.push(("reauthReason", Json::str(reason)));
        }
        Json::object(members).write()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"v":1,"accessToken":"00Dsecret","refreshToken":"5Aepsecret","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"expirySource":"introspection","mintedBy":"w","status":"reauth_required","reauth":{"reason":"r \"q\"","description":"d","at":3},"ipLocked":true,"scope":"api"}"#;

    #[test]
    fn records_round_trip_and_default_missing_fields() {
        let json = r#"{"v":1,"accessToken":"a","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"mintedBy":"w"}"#;
        let r = StoredConnection::from_json(json).unwrap();
        assert_eq!(r.status, Status::Active);
        assert_eq!(r.expiry_source, ExpirySource::Estimate);
        assert!(!r.ip_locked && r.refresh_token.is_none() && r.scope.is_none());
        assert_eq!(
            r.to_json(),
            r#"{"v":1,"accessToken":"a","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"expirySource":"estimate","mintedBy":"w","status":"active","ipLocked":false}"#
        );
    }

    #[test]
    fn the_store_format_keeps_every_member_in_its_place() {
        let r = StoredConnection::from_json(FULL).unwrap();
        assert_eq!(
            r.refresh_token.as_ref().map(Secret::expose),
            Some("5Aepsecret")
        );
        assert_eq!(
            r.reauth.as_ref().map(|a| a.reason.as_str()),
            Some("r \"q\"")
        );
        assert_eq!(r.to_json(), FULL);
        let local = LocalToken {
            access_token: Secret::new("abc"),
            issued_at: 1,
            expires_at: 2,
            instance_url: "https://x.my.salesforce.com".into(),
        };
        let text = local.to_json();
        assert_eq!(
            text,
            r#"{"accessToken":"abc","issuedAt":1,"expiresAt":2,"instanceUrl":"https://x.my.salesforce.com"}"#
        );
        assert_eq!(LocalToken::from_json(&text), Some(local));
    }

    #[test]
    fn records_of_the_wrong_shape_are_unreadable() {
        let without = |name: &str| {
            let mut r = json::parse(FULL).unwrap();
            if let Json::Object(members) = &mut r {
                members.retain(|(k, _)| k != name);
            }
            r.write()
        };
        for required in [
            "v",
            "accessToken",
            "instanceUrl",
            "idUrl",
            "orgId",
            "userId",
            "issuedAt",
            "expiresAt",
            "mintedBy",
        ] {
            assert_eq!(
                StoredConnection::from_json(&without(required)),
                None,
                "{required}"
            );
        }
        for (from, to) in [
            (r#""v":1"#, r#""v":4294967296"#),
            (r#""v":1"#, r#""v":1.0"#),
            (r#""issuedAt":1"#, r#""issuedAt":"1""#),
            (r#""status":"reauth_required""#, r#""status":"paused""#),
            (r#""status":"reauth_required""#, r#""status":null"#),
            (r#""expirySource":"introspection""#, r#""expirySource":1"#),
            (r#""ipLocked":true"#, r#""ipLocked":null"#),
            (r#""scope":"api""#, r#""scope":7"#),
            (r#""refreshToken":"5Aepsecret""#, r#""refreshToken":[]"#),
            (r#""at":3"#, r#""at":-3"#),
        ] {
            assert_eq!(
                StoredConnection::from_json(&FULL.replace(from, to)),
                None,
                "{to}"
            );
        }
        for (from, to) in [
            (r#""scope":"api""#, r#""scope":null"#),
            (r#""refreshToken":"5Aepsecret""#, r#""refreshToken":null"#),
            (
                r#""reauth":{"reason":"r \"q\"","description":"d","at":3}"#,
                r#""reauth":null"#,
            ),
            (r#""v":1"#, r#""v":1,"unknown":{"x":[1]}"#),
        ] {
            assert!(
                StoredConnection::from_json(&FULL.replace(from, to)).is_some(),
                "{to}"
            );
        }
        assert_eq!(StoredConnection::from_json("[]"), None);
        assert_eq!(StoredConnection::from_json("not json"), None);
        assert_eq!(LocalToken::from_json(r#"{"accessToken":"a"}"#), None);
    }

    #[test]
    fn info_omits_an_absent_reauth_reason() {
        let mut info = ConnectionInfo {
            connection_id: "acme".into(),
            org_id: "o".into(),
            user_id: "u".into(),
            instance_url: "https://x.my.salesforce.com".into(),
            issued_at: 1,
            expires_at: 2,
            status: "active".into(),
            minted_by: "w".into(),
            has_refresh_token: true,
            ip_locked: false,
            reauth_reason: None,
        };
        assert_eq!(
            info.to_json(),
            r#"{"connectionId":"acme","orgId":"o","userId":"u","instanceUrl":"https://x.my.salesforce.com","issuedAt":1,"expiresAt":2,"status":"active","mintedBy":"w","hasRefreshToken":true,"ipLocked":false}"#
        );
        info.reauth_reason = Some("gone".into());
        assert!(info
            .to_json()
            .ends_with(r#""ipLocked":false,"reauthReason":"gone"}"#));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let r = StoredConnection::from_json(FULL).unwrap();
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("00Dsecret") && !dbg.contains("5Aepsecret"));
    }
}
