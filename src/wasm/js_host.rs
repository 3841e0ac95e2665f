//! The host over the caller's JavaScript objects: its `fetch`, its store (anything
//! with `get`/`put`/`delete`, duck-typed), its clock and its `onEvent`. Each
//! capability's trait is implemented in a file of its own beside this one.

use super::convert::describe;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The host capabilities the JavaScript side handed over.
pub struct JsHost {
    pub(super) fetch: Function,
    pub(super) store: JsValue,
    pub(super) store_get: Function,
    pub(super) store_put: Function,
    pub(super) store_delete: Function,
    /// The store's own `compareAndPut`, `lock` and `list`, when it has them.
    pub(super) store_cas: Option<Function>,
    pub(super) store_lock: Option<Function>,
    pub(super) store_list: Option<Function>,
    pub(super) now: Option<Function>,
    pub(super) on_event: Option<Function>,
    /// `peek(response)`: the first bytes of a copy of an error response's body, read
    /// within a bound (js/core.js); the response itself is left whole for the caller.
    pub(super) peek: Option<Function>,
    /// `signJwt(connectionId, claims)`: RS256 through WebCrypto with the connection's key (js/flows.js).
    pub(super) sign_jwt: Option<Function>,
    /// Bound of every request the library makes itself (token, introspection, probes, webhook).
    pub(super) request_timeout_ms: u64,
}

fn optional_method(object: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
}

fn method_of(object: &JsValue, name: &str) -> Result<Function, String> {
    optional_method(object, name).ok_or_else(|| format!("store.{name} is not a function"))
}

impl JsHost {
    /// Wraps the caller's objects; the store must have `get`, `put` and `delete`.
    pub fn new(
        fetch: Function,
        store: JsValue,
        now: Option<Function>,
        on_event: Option<Function>,
        peek: Option<Function>,
        sign_jwt: Option<Function>,
        request_timeout_ms: u64,
    ) -> Result<JsHost, String> {
        Ok(JsHost {
            store_get: method_of(&store, "get")?,
            store_put: method_of(&store, "put")?,
            store_delete: method_of(&store, "delete")?,
            store_cas: optional_method(&store, "compareAndPut"),
            store_lock: optional_method(&store, "lock"),
            store_list: optional_method(&store, "list"),
            fetch,
            store,
            now,
            on_event,
            peek,
            sign_jwt,
            request_timeout_ms,
        })
    }
}

/// Awaits what a host function returned, whether a promise or a plain value.
pub(super) async fn settle(value: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    let value = value?;
    JsFuture::from(Promise::resolve(&value)).await
}

/// The text of a thrown value, for errors that quote it.
pub(super) fn thrown(e: JsValue) -> crate::host::HostError {
    crate::host::HostError::new(describe(&e))
}
