//! Every conversion between Rust and JavaScript values: serde types out as plain
//! objects through serde-wasm-bindgen; JavaScript values (the caller's options, what
//! the platform's `JSON.parse` made of a body or a record) in as [`Loose`] values,
//! which typed records are then read from; thrown values described without secrets.

use crate::decide::redact::redact_json;
use crate::error::SessionError;
use crate::wire::loose::Loose;
use js_sys::{Array, Object, Reflect, JSON};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

/// Deeper than any record, option or Salesforce body: a cycle stops here.
const MAX_DEPTH: usize = 32;

/// The one serializer: absent members as `null`, maps as plain objects, numbers as numbers.
fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}

/// A serde value as a plain JavaScript object (`null` if it cannot be one).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value.serialize(&serializer()).unwrap_or(JsValue::NULL)
}

/// A plain JavaScript value (what JSON can hold) as a loose value; `None` for
/// functions, symbols, big integers and anything nested deeper than [`MAX_DEPTH`].
pub fn loose_from_js(value: &JsValue) -> Option<Loose> {
    read_js(value, 0)
}

fn read_js(value: &JsValue, depth: usize) -> Option<Loose> {
    if depth > MAX_DEPTH {
        return None;
    }
    if value.is_null() || value.is_undefined() {
        return Some(Loose::Absent);
    }
    if let Some(s) = value.as_string() {
        return Some(Loose::Str(s));
    }
    if let Some(n) = value.as_f64() {
        return Some(Loose::Num(n));
    }
    if let Some(b) = value.as_bool() {
        return Some(Loose::Bool(b));
    }
    if Array::is_array(value) {
        let items = value.unchecked_ref::<Array>();
        return items
            .iter()
            .map(|item| read_js(&item, depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Loose::Array);
    }
    if !value.is_object() || value.is_function() {
        return None;
    }
    let object = value.unchecked_ref::<Object>();
    let mut members = Vec::new();
    for key in Object::keys(object).iter() {
        let name = key.as_string()?;
        let member = Reflect::get(object, &key).ok()?;
        if member.is_undefined() {
            continue;
        }
        members.push((name, read_js(&member, depth + 1)?));
    }
    Some(Loose::Object(members))
}

/// A serde value as a plain JavaScript object, with every secret taken out of its
/// texts: what leaves the library for a caller (errors, events, reports) goes this way.
pub fn to_js_redacted<T: Serialize + ?Sized>(value: &T, secrets: &[&str]) -> JsValue {
    redacted(to_js(value), secrets)
}

/// A plain object with every secret taken out of its texts (one copy of the code for
/// every type: the object is made once, and remade only when something was taken out).
#[inline(never)]
fn redacted(value: JsValue, secrets: &[&str]) -> JsValue {
    let text = JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    match redact_json(&text, secrets) {
        std::borrow::Cow::Borrowed(_) => value,
        std::borrow::Cow::Owned(clean) => JSON::parse(&clean).unwrap_or(JsValue::NULL),
    }
}

/// JSON text read by the platform's own parser.
pub fn parse_json(text: &str) -> Option<Loose> {
    loose_from_js(&JSON::parse(text).ok()?)
}

/// `T` as JSON text, written by the platform.
pub fn encode_json<T: Serialize + ?Sized>(value: &T) -> String {
    JSON::stringify(&to_js(value))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The error record the JavaScript wrapper turns into a `SalesforceSessionError`
/// (errors raised before any connection is known: nothing secret to take out).
pub fn error_record(e: &SessionError) -> JsValue {
    to_js(&e.record())
}

/// The error record of an error about a connection, through the redactor.
pub fn error_record_redacted(e: &SessionError, secrets: &[crate::secret::Secret]) -> JsValue {
    to_js_redacted(&e.record(), &crate::decide::redact::exposed(secrets))
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
