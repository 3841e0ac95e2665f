//! JSON text to and from serde types. Text becomes a [`Loose`] value first (by the
//! platform's own `JSON` in wasm, so the module carries no JSON parser; by serde_json
//! on the host), and typed values are read from that one value the same way everywhere.

use crate::wire::loose::Loose;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads JSON text as a loose value; `None` when it is not JSON.
pub fn parse(text: &str) -> Option<Loose> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::wasm::convert::parse_json(text)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str(text).ok()
    }
}

/// Reads JSON text into `T`; `None` when the text is not JSON or not a `T`.
pub fn decode<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = parse(text)?;
    T::deserialize(&value).ok()
}

/// Writes `value` as JSON text.
pub fn encode<T: Serialize>(value: &T) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        crate::wasm::convert::encode_json(value)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::to_string(value).unwrap_or_default()
    }
}
