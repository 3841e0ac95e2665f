//! What the store holds for a connection, and what callers may see of it.

use crate::secret::{stored, Secret};
use crate::wire::json::{encode, parse, quote};
use crate::wire::loose::Loose;
use crate::wire::token_response::MintedToken;
use serde::Serialize;

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
    /// The record's generation: one more with every write of a new credential, so a
    /// fenced write can tell the record it started from.
    pub gen: u64,
    /// When a token was last obtained for the connection (connect or refresh), epoch ms:
    /// a refresh token's idle time counts from there.
    pub last_refresh_at: u64,
    /// Whether a rotated refresh token was ever seen.
    pub rotation: bool,
    /// Until when the fleet sends no token request after one failed, epoch ms.
    pub cooldown_until: u64,
    /// The login host the tokens came from when it is not the manager's (a sandbox's
    /// `test.salesforce.com`, a My Domain): the connection renews there.
    pub token_host: Option<String>,
    /// How the connection renews without a refresh token: `jwt` or `client_credentials`.
    pub grant: Option<String>,
    /// The JWT grant's username.
    pub subject: Option<String>,
    /// The JWT grant's audience, when it is not the token host.
    pub audience: Option<String>,
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
            gen: 1,
            last_refresh_at: token.issued_at,
            rotation: false,
            cooldown_until: 0,
            token_host: None,
            grant: None,
            subject: None,
            audience: None,
        }
    }

    /// Whether the connection can be renewed without a person: a refresh token, or a
    /// grant that is minted again (JWT bearer, client credentials).
    pub fn renewable(&self) -> bool {
        self.refresh_token.is_some() || self.grant.is_some()
    }

    /// Reads a stored record; `None` when the text is not one. A `null` member counts
    /// as absent; every other member must be of its kind.
    pub fn from_json(text: &str) -> Option<Self> {
        let r = parse(text)?;
        let reauth = match r.get("reauth") {
            Loose::Absent => None,
            a => Some(ReauthInfo {
                reason: text_of(a, "reason")?,
                description: text_of(a, "description")?,
                at: whole(a, "at")?,
            }),
        };
        Some(StoredConnection {
            v: u32::try_from(whole(&r, "v")?).ok()?,
            access_token: Secret::new(text_of(&r, "accessToken")?),
            refresh_token: optional_text(&r, "refreshToken")?.map(Secret::new),
            instance_url: text_of(&r, "instanceUrl")?,
            id_url: text_of(&r, "idUrl")?,
            org_id: text_of(&r, "orgId")?,
            user_id: text_of(&r, "userId")?,
            issued_at: whole(&r, "issuedAt")?,
            expires_at: whole(&r, "expiresAt")?,
            expiry_source: match optional_text(&r, "expirySource")?.as_deref() {
                None | Some("estimate") => ExpirySource::Estimate,
                Some("introspection") => ExpirySource::Introspection,
                Some(_) => return None,
            },
            minted_by: text_of(&r, "mintedBy")?,
            status: match optional_text(&r, "status")?.as_deref() {
                None | Some("active") => Status::Active,
                Some("reauth_required") => Status::ReauthRequired,
                Some(_) => return None,
            },
            reauth,
            ip_locked: flag(&r, "ipLocked")?,
            scope: optional_text(&r, "scope")?,
            gen: whole_or(&r, "gen", 0)?,
            last_refresh_at: whole_or(&r, "lastRefreshAt", 0)?,
            rotation: flag(&r, "rotation")?,
            cooldown_until: whole_or(&r, "cooldownUntil", 0)?,
            token_host: optional_text(&r, "tokenHost")?,
            grant: optional_text(&r, "grant")?,
            subject: optional_text(&r, "subject")?,
            audience: optional_text(&r, "audience")?,
        })
    }

    /// The record as the store holds it, written member by member (absent optional
    /// members left out).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(640);
        let text = |out: &mut String, name: &str, value: &str| {
            out.push_str(name);
            quote(out, value);
        };
        let number = |out: &mut String, name: &str, value: u64| {
            out.push_str(name);
            out.push_str(&value.to_string());
        };
        number(&mut out, "{\"v\":", u64::from(self.v));
        text(&mut out, ",\"accessToken\":", self.access_token.expose());
        if let Some(r) = &self.refresh_token {
            text(&mut out, ",\"refreshToken\":", r.expose());
        }
        text(&mut out, ",\"instanceUrl\":", &self.instance_url);
        text(&mut out, ",\"idUrl\":", &self.id_url);
        text(&mut out, ",\"orgId\":", &self.org_id);
        text(&mut out, ",\"userId\":", &self.user_id);
        number(&mut out, ",\"issuedAt\":", self.issued_at);
        number(&mut out, ",\"expiresAt\":", self.expires_at);
        let source = match self.expiry_source {
            ExpirySource::Estimate => "estimate",
            ExpirySource::Introspection => "introspection",
        };
        text(&mut out, ",\"expirySource\":", source);
        text(&mut out, ",\"mintedBy\":", &self.minted_by);
        let status = match self.status {
            Status::Active => "active",
            Status::ReauthRequired => "reauth_required",
        };
        text(&mut out, ",\"status\":", status);
        if let Some(r) = &self.reauth {
            text(&mut out, ",\"reauth\":{\"reason\":", &r.reason);
            text(&mut out, ",\"description\":", &r.description);
            number(&mut out, ",\"at\":", r.at);
            out.push('}');
        }
        out.push_str(if self.ip_locked {
            ",\"ipLocked\":true"
        } else {
            ",\"ipLocked\":false"
        });
        if let Some(scope) = &self.scope {
            text(&mut out, ",\"scope\":", scope);
        }
        number(&mut out, ",\"gen\":", self.gen);
        number(&mut out, ",\"lastRefreshAt\":", self.last_refresh_at);
        out.push_str(if self.rotation {
            ",\"rotation\":true"
        } else {
            ",\"rotation\":false"
        });
        if self.cooldown_until != 0 {
            number(&mut out, ",\"cooldownUntil\":", self.cooldown_until);
        }
        for (name, value) in [
            (",\"tokenHost\":", &self.token_host),
            (",\"grant\":", &self.grant),
            (",\"subject\":", &self.subject),
            (",\"audience\":", &self.audience),
        ] {
            if let Some(v) = value {
                text(&mut out, name, v);
            }
        }
        out.push('}');
        out
    }

    /// The record as stored while `instance` has a token request out under the fleet
    /// lock (sent at `at`). Only the store holds that mark: the record in memory has
    /// none, so any later write of it clears the mark.
    pub fn to_json_pending(&self, instance: &str, at: u64) -> String {
        let mut out = self.to_json();
        out.pop();
        out.push_str(",\"pendingBy\":");
        quote(&mut out, instance);
        out.push_str(",\"pendingAt\":");
        out.push_str(&at.to_string());
        out.push('}');
        out
    }

    /// The mark `to_json_pending` left in a stored text: who and when.
    pub fn pending_of(text: &str) -> Option<(String, u64)> {
        let r = parse(text)?;
        Some((text_of(&r, "pendingBy")?, whole_or(&r, "pendingAt", 0)?))
    }
}

/// An access token one instance keeps for itself when the org locks sessions to IPs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalToken {
    /// The access token minted by this instance.
    #[serde(with = "stored")]
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
        let r = parse(text)?;
        Some(LocalToken {
            access_token: Secret::new(text_of(&r, "accessToken")?),
            issued_at: whole(&r, "issuedAt")?,
            expires_at: whole(&r, "expiresAt")?,
            instance_url: text_of(&r, "instanceUrl")?,
        })
    }

    /// The token as the store holds it.
    pub fn to_json(&self) -> String {
        encode(self)
    }
}

/// A required string member.
fn text_of(r: &Loose, name: &str) -> Option<String> {
    r.get(name).as_str().map(str::to_string)
}

/// An optional string member: `Some(None)` when absent, `None` when of another kind.
fn optional_text(r: &Loose, name: &str) -> Option<Option<String>> {
    r.optional_str(name).ok().map(|s| s.map(str::to_string))
}

/// A required whole number.
fn whole(r: &Loose, name: &str) -> Option<u64> {
    r.get(name).as_u64()
}

/// An optional whole number, `default` when absent.
fn whole_or(r: &Loose, name: &str, default: u64) -> Option<u64> {
    match r.get(name) {
        Loose::Absent => Some(default),
        n => n.as_u64(),
    }
}

/// An optional flag, `false` when absent.
fn flag(r: &Loose, name: &str) -> Option<bool> {
    match r.get(name) {
        Loose::Absent => Some(false),
        Loose::Bool(b) => Some(*b),
        _ => None,
    }
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
    /// Whether a rotated refresh token was ever seen.
    pub rotation: bool,
    /// When a token was last obtained (connect or refresh), epoch ms.
    pub last_refresh_at: u64,
    /// When this instance last sent a call on the connection, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"v":1,"accessToken":"00Dsecret","refreshToken":"5Aepsecret","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"expirySource":"introspection","mintedBy":"w","status":"reauth_required","reauth":{"reason":"r \"q\"","description":"d","at":3},"ipLocked":true,"scope":"api","gen":4,"lastRefreshAt":5,"rotation":true,"cooldownUntil":6,"tokenHost":"https://test.salesforce.com","grant":"jwt","subject":"u@x","audience":"https://a"}"#;

    #[test]
    fn records_round_trip_and_default_missing_fields() {
        let json = r#"{"v":1,"accessToken":"a","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"mintedBy":"w"}"#;
        let r = StoredConnection::from_json(json).unwrap();
        assert_eq!(r.status, Status::Active);
        assert_eq!(r.expiry_source, ExpirySource::Estimate);
        assert!(!r.ip_locked && r.refresh_token.is_none() && r.scope.is_none());
        assert_eq!(
            r.to_json(),
            r#"{"v":1,"accessToken":"a","instanceUrl":"https://x.my.salesforce.com","idUrl":"i","orgId":"o","userId":"u","issuedAt":1,"expiresAt":2,"expirySource":"estimate","mintedBy":"w","status":"active","ipLocked":false,"gen":0,"lastRefreshAt":0,"rotation":false}"#
        );
    }

    #[test]
    fn a_pending_mark_is_read_back_and_cleared_by_the_next_write() {
        let r = StoredConnection::from_json(FULL).unwrap();
        let pending = r.to_json_pending("worker \"7\"", 42);
        assert_eq!(
            StoredConnection::pending_of(&pending),
            Some(("worker \"7\"".to_string(), 42))
        );
        let back = StoredConnection::from_json(&pending).unwrap();
        assert_eq!(back.to_json(), r.to_json());
        assert_eq!(StoredConnection::pending_of(&back.to_json()), None);
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
            let mut r: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(FULL).unwrap();
            r.remove(name);
            serde_json::to_string(&r).unwrap()
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
            (r#""v":1"#, r#""v":1.5"#),
            (r#""issuedAt":1"#, r#""issuedAt":"1""#),
            (r#""status":"reauth_required""#, r#""status":"paused""#),
            (r#""expirySource":"introspection""#, r#""expirySource":1"#),
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
            (r#""status":"reauth_required""#, r#""status":null"#),
            (r#""ipLocked":true"#, r#""ipLocked":null"#),
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
            rotation: true,
            last_refresh_at: 5,
            last_used_at: None,
        };
        assert_eq!(
            encode(&info),
            r#"{"connectionId":"acme","orgId":"o","userId":"u","instanceUrl":"https://x.my.salesforce.com","issuedAt":1,"expiresAt":2,"status":"active","mintedBy":"w","hasRefreshToken":true,"ipLocked":false,"rotation":true,"lastRefreshAt":5}"#
        );
        info.reauth_reason = Some("gone".into());
        info.last_used_at = Some(6);
        assert!(encode(&info).ends_with(
            r#""ipLocked":false,"reauthReason":"gone","rotation":true,"lastRefreshAt":5,"lastUsedAt":6}"#
        ));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let r = StoredConnection::from_json(FULL).unwrap();
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("00Dsecret") && !dbg.contains("5Aepsecret"));
    }
}
