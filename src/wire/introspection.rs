//! The introspection endpoint's answer (SALESFORCE.md §4): whether a token is
//! active and when it really expires.

use serde::Deserialize;

/// What the endpoint said of a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Introspection {
    /// `active: true`.
    pub active: bool,
    /// `exp`, epoch ms, when given.
    pub expires_at_ms: Option<u64>,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    exp: Option<u64>,
}

/// Reads a reply; anything but a 200 with `active: true` is an inactive token.
pub fn read_introspection(status: u16, body: &str) -> Introspection {
    let Some(reply) = crate::wire::json::decode::<Reply>(body) else {
        return Introspection::default();
    };
    Introspection {
        active: status == 200 && reply.active == Some(true),
        expires_at_ms: reply.exp.map(|s| s.saturating_mul(1000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_token_has_its_expiry_in_milliseconds() {
        let r = read_introspection(200, r#"{"active":true,"exp":1700000000,"iat":1}"#);
        assert_eq!(
            r,
            Introspection {
                active: true,
                expires_at_ms: Some(1_700_000_000_000)
            }
        );
    }

    #[test]
    fn anything_else_is_inactive() {
        assert!(!read_introspection(200, r#"{"active":false}"#).active);
        assert!(!read_introspection(401, r#"{"active":true}"#).active);
        assert!(!read_introspection(200, "<html>").active);
        assert!(!read_introspection(200, r#"{"active":"true"}"#).active);
    }
}
