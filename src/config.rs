//! Options: read once from the caller's object, validated, with defaults.

use crate::decide::origin::{check_login_url, Origin};
use crate::error::SessionError;
use crate::secret::Secret;
use crate::wire::json::parse;
use crate::wire::loose::Loose;

/// Where and how to announce that a connection needs re-authorization.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// The URL to POST to.
    pub url: String,
    /// The HMAC-SHA256 key.
    pub secret: Secret,
}

/// Validated options.
#[derive(Clone, Debug)]
pub struct Config {
    /// The connected app's consumer key.
    pub client_id: String,
    /// The consumer secret, for confidential clients.
    pub client_secret: Option<Secret>,
    /// The login origin (token endpoint host), as text.
    pub login_url: String,
    /// The login origin, parsed.
    pub login_origin: Origin,
    /// Bound of every token request (token, introspection, revocation), ms.
    pub token_timeout_ms: u64,
    /// The org's session timeout.
    pub session_timeout_s: u64,
    /// Refresh this long before the expected expiry.
    pub refresh_margin_s: u64,
    /// This manager's id; recorded as `mintedBy`.
    pub instance_id: String,
    /// Lets http loopback hosts act as login and instance hosts.
    pub allow_insecure_loopback: bool,
    /// Prefix of every store key.
    pub key_prefix: String,
    /// REST API version used by probes.
    pub api_version: String,
    /// Token requests per refresh before giving up on transient failures.
    pub refresh_attempts: u32,
    /// First backoff between token requests, doubled each time.
    pub refresh_backoff_ms: u64,
    /// Window of the INVALID_SESSION_ID spike detector.
    pub spike_window_ms: u64,
    /// INVALID_SESSION_ID count in the window that makes a spike.
    pub spike_threshold: usize,
    /// Re-authorization webhook.
    pub webhook: Option<Webhook>,
    /// Ask the introspection endpoint for the real expiry (needs a client secret).
    pub introspect: bool,
}

fn string_opt(v: &Loose, name: &str) -> Result<Option<String>, SessionError> {
    match v.get(name) {
        Loose::Absent => Ok(None),
        Loose::Str(s) => Ok(Some(s.to_string())),
        _ => Err(SessionError::config(format!(
            "option '{name}' must be a string"
        ))),
    }
}

/// A number option within bounds, rounded to a whole number.
fn number_opt(v: &Loose, name: &str, min: u64, max: u64) -> Result<Option<u64>, SessionError> {
    match v.get(name) {
        Loose::Absent => Ok(None),
        n @ Loose::Num(_) => match n.as_rounded_within(min, max) {
            Some(x) => Ok(Some(x)),
            None => Err(SessionError::config(format!(
                "option '{name}' must be a number from {min} to {max}"
            ))),
        },
        _ => Err(SessionError::config(format!(
            "option '{name}' must be a number"
        ))),
    }
}

fn bool_opt(v: &Loose, name: &str) -> Result<Option<bool>, SessionError> {
    match v.get(name) {
        Loose::Absent => Ok(None),
        Loose::Bool(b) => Ok(Some(*b)),
        _ => Err(SessionError::config(format!(
            "option '{name}' must be a boolean"
        ))),
    }
}

impl Config {
    /// Reads the options from JSON text (tests and hosts without objects).
    pub fn from_json(json: &str) -> Result<Config, SessionError> {
        let v = parse(json).ok_or_else(|| SessionError::config("options must be an object"))?;
        Config::from_options(&v)
    }

    /// Reads the plain-data options, as the caller's object held them.
    pub fn from_options(v: &Loose) -> Result<Config, SessionError> {
        if !v.is_object() {
            return Err(SessionError::config("options must be an object"));
        }
        let client_id = string_opt(v, "clientId")?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                SessionError::config(
                    "option 'clientId' is required (the connected app's consumer key)",
                )
            })?;
        let client_secret = string_opt(v, "clientSecret")?
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        let allow_insecure_loopback = bool_opt(v, "allowInsecureLoopback")?.unwrap_or(false);
        let login_raw =
            string_opt(v, "loginUrl")?.unwrap_or_else(|| "https://login.salesforce.com".into());
        let login_origin = check_login_url(&login_raw, allow_insecure_loopback)
            .map_err(|why| SessionError::config(format!("option 'loginUrl' is refused: {why}")))?;
        let login_url = login_origin.to_string();
        let token_timeout_ms = number_opt(v, "tokenTimeoutMs", 100, 600_000)?.unwrap_or(30_000);
        let session_timeout_s = number_opt(v, "sessionTimeoutSeconds", 60, 86_400)?.unwrap_or(7200);
        let refresh_margin_s = number_opt(v, "refreshMarginSeconds", 0, 86_400)?.unwrap_or(300);
        let instance_id = string_opt(v, "instanceId")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                SessionError::config("option 'instanceId' must be a non-empty string")
            })?;
        let key_prefix = string_opt(v, "keyPrefix")?.unwrap_or_else(|| "sfs:".into());
        let api_version = string_opt(v, "apiVersion")?.unwrap_or_else(|| "62.0".into());
        if !api_version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SessionError::config(
                "option 'apiVersion' must look like 62.0",
            ));
        }
        let refresh_attempts = number_opt(v, "refreshAttempts", 1, 10)?.unwrap_or(3) as u32;
        let refresh_backoff_ms = number_opt(v, "refreshBackoffMs", 0, 60_000)?.unwrap_or(200);
        let (mut spike_window_ms, mut spike_threshold) = (60_000u64, 10usize);
        let spike = v.get("spike");
        if *spike != Loose::Absent {
            if !spike.is_object() {
                return Err(SessionError::config(
                    "option 'spike' must be an object { windowSeconds, threshold }",
                ));
            }
            if let Some(w) = number_opt(spike, "windowSeconds", 1, 86_400)? {
                spike_window_ms = w * 1000;
            }
            if let Some(t) = number_opt(spike, "threshold", 1, 1_000_000)? {
                spike_threshold = t as usize;
            }
        }
        let webhook = match v.get("webhook") {
            Loose::Absent => None,
            w if w.is_object() => {
                let url = string_opt(w, "url")?
                    .ok_or_else(|| SessionError::config("option 'webhook.url' is required"))?;
                let parsed = crate::decide::origin::parse_url(&url).map_err(|why| {
                    SessionError::config(format!("option 'webhook.url' is refused: {why}"))
                })?;
                let loopback = crate::decide::origin::classify_host(&parsed.origin.host)
                    == crate::decide::origin::HostKind::Loopback;
                if parsed.origin.scheme != crate::decide::origin::Scheme::Https
                    && !(loopback && allow_insecure_loopback)
                {
                    return Err(SessionError::config("option 'webhook.url' must be https"));
                }
                let secret = string_opt(w, "secret")?
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| SessionError::config("option 'webhook.secret' is required"))?;
                Some(Webhook {
                    url,
                    secret: Secret::new(secret),
                })
            }
            _ => {
                return Err(SessionError::config(
                    "option 'webhook' must be an object { url, secret }",
                ))
            }
        };
        let introspect = bool_opt(v, "introspect")?.unwrap_or(true) && client_secret.is_some();
        Ok(Config {
            client_id,
            client_secret,
            login_url,
            login_origin,
            token_timeout_ms,
            session_timeout_s,
            refresh_margin_s,
            instance_id,
            allow_insecure_loopback,
            key_prefix,
            api_version,
            refresh_attempts,
            refresh_backoff_ms,
            spike_window_ms,
            spike_threshold,
            webhook,
            introspect,
        })
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/services/oauth2/token", self.login_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply() {
        let c = Config::from_json(r#"{"clientId":"abc","instanceId":"w1"}"#).unwrap();
        assert_eq!(c.login_url, "https://login.salesforce.com");
        assert_eq!(c.session_timeout_s, 7200);
        assert_eq!(c.refresh_margin_s, 300);
        assert!(!c.introspect);
    }

    #[test]
    fn bad_options_name_the_option() {
        for (json, word) in [
            (r#"{"instanceId":"w"}"#, "clientId"),
            (
                r#"{"clientId":"a","instanceId":"w","loginUrl":"http://login.salesforce.com"}"#,
                "loginUrl",
            ),
            (
                r#"{"clientId":"a","instanceId":"w","sessionTimeoutSeconds":"2h"}"#,
                "sessionTimeoutSeconds",
            ),
            (
                r#"{"clientId":"a","instanceId":"w","loginUrl":"http://127.0.0.1:1"}"#,
                "loopback",
            ),
            (
                r#"{"clientId":"a","instanceId":"w","webhook":{"url":"https://x.example"}}"#,
                "webhook.secret",
            ),
        ] {
            let e = Config::from_json(json).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidConfig);
            assert!(e.message.contains(word), "{json}: {}", e.message);
        }
    }

    #[test]
    fn debug_hides_the_client_secret() {
        let c = Config::from_json(
            r#"{"clientId":"a","instanceId":"w","clientSecret":"shh-very-secret"}"#,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("shh-very-secret"));
        assert!(c.introspect);
    }
}
