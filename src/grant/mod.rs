//! Every request the library sends to an OAuth endpoint, one file per way to get,
//! check or end a token. Each builds a plain [`TokenRequest`] that tests assert exactly;
//! the engine hands it to the transport as it is.

pub mod authorization_code;
pub mod client_credentials;
pub mod introspect;
pub mod jwt_bearer;
pub mod refresh_token;
pub mod revoke;

use crate::secret::Secret;
use std::fmt;

/// One form parameter's value: secrets stay typed until the form is sent.
#[derive(Clone, PartialEq, Eq)]
pub enum Param {
    /// A value that may be shown.
    Plain(String),
    /// A token or client secret.
    Secret(Secret),
}

impl Param {
    /// The value as sent.
    pub fn expose(&self) -> &str {
        match self {
            Param::Plain(v) => v,
            Param::Secret(s) => s.expose(),
        }
    }
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Plain(v) => write!(f, "{v:?}"),
            Param::Secret(_) => f.write_str("[redacted]"),
        }
    }
}

/// A form POSTed to an OAuth endpoint (token, introspection, revocation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The endpoint.
    pub url: String,
    /// The form, in order.
    pub form: Vec<(&'static str, Param)>,
}

impl TokenRequest {
    /// A request to `url` with no parameters yet.
    pub fn to(url: String) -> Self {
        TokenRequest {
            url,
            form: Vec::new(),
        }
    }

    /// Adds a parameter that may be shown.
    pub fn plain(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.form.push((name, Param::Plain(value.into())));
        self
    }

    /// Adds a secret parameter.
    pub fn secret(mut self, name: &'static str, value: &Secret) -> Self {
        self.form.push((name, Param::Secret(value.clone())));
        self
    }

    /// Adds a secret parameter when there is one.
    pub fn secret_if(self, name: &'static str, value: Option<&Secret>) -> Self {
        match value {
            Some(v) => self.secret(name, v),
            None => self,
        }
    }

    /// The form as the transport sends it.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.form.iter().map(|(k, v)| (*k, v.expose())).collect()
    }
}
