//! Every conversion between Rust and JavaScript values: serde types to plain objects
//! and back through serde-wasm-bindgen, JSON text through the platform's own `JSON`,
//! and thrown values described without secrets.

use crate::error::SessionError;
use js_sys::{Reflect, JSON};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// The one serializer: absent members as `null`, maps as plain objects, numbers as numbers.
fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}

/// A serde value as a plain JavaScript object (`null` if it cannot be one).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value.serialize(&serializer()).unwrap_or(JsValue::NULL)
}

/// A JavaScript value read as `T`.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(value).ok()
}

/// JSON text read as `T`, parsed by the platform.
pub fn decode_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js(JSON::parse(text).ok()?)
}

/// `T` as JSON text, written by the platform.
pub fn encode_json<T: Serialize + ?Sized>(value: &T) -> String {
    JSON::stringify(&to_js(value))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The error record the JavaScript wrapper turns into a `SalesforceSessionError`.
pub fn error_record(e: &SessionError) -> JsValue {
    to_js(&e.record())
}

/// A short, secret-free description of a thrown JavaScript value.
pub fn describe(error: &JsValue) -> String {
    if let Some(message) = Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
    {
        return message;
    }
    error
        .as_string()
        .unwrap_or_else(|| "a non-Error value was thrown".to_string())
}
