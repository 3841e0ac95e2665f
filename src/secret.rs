//! Secrets as types: access tokens, refresh tokens and client secrets can be stored
//! and sent, but never printed. `Debug` and `Display` say `[redacted]`.

use std::fmt;

/// A string that must never appear in a log line, an event or an error message.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for the one place that needs it: a request to Salesforce or the store.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The store format's view of a secret: its value, written and read as a string.
/// `Secret` itself has no `Serialize`, so no event, error or report can carry one;
/// only the stored records opt in, field by field, with `#[serde(with = ...)]`.
pub mod stored {
    use super::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the value.
    pub fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    /// Reads the value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }

    /// The same for an optional secret.
    pub mod optional {
        use super::Secret;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes the value; callers skip `None`.
        pub fn serialize<S: Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
            match secret {
                Some(v) => s.serialize_str(v.expose()),
                None => s.serialize_none(),
            }
        }

        /// Reads the value; `null` is `None`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
            Option::<String>::deserialize(d).map(|v| v.map(Secret))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("00Dx!supersecret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "00Dx!supersecret");
    }
}
