//! JSON text to and from serde types. In wasm the platform's own `JSON` does the
//! text (the module carries no JSON parser); on the host, serde_json does.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads JSON text into `T`; `None` when the text is not JSON or not a `T`.
pub fn decode<T: DeserializeOwned>(text: &str) -> Option<T> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::wasm::convert::decode_json(text)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str(text).ok()
    }
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
