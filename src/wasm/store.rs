//! `Store` over the caller's store object: `get`/`put`/`delete`, each returning a
//! promise or a value, with strings as values.

use super::js_host::{settle, thrown, JsHost};
use crate::host::{HostError, Store};
use wasm_bindgen::JsValue;

impl Store for JsHost {
    async fn store_get(&self, key: &str) -> Result<Option<String>, HostError> {
        let value = settle(self.store_get.call1(&self.store, &JsValue::from_str(key)))
            .await
            .map_err(thrown)?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        value.as_string().map(Some).ok_or_else(|| {
            HostError::new("store.get returned something other than a string or null")
        })
    }

    async fn store_put(&self, key: &str, value: &str) -> Result<(), HostError> {
        settle(self.store_put.call2(
            &self.store,
            &JsValue::from_str(key),
            &JsValue::from_str(value),
        ))
        .await
        .map(|_| ())
        .map_err(thrown)
    }

    async fn store_delete(&self, key: &str) -> Result<(), HostError> {
        settle(
            self.store_delete
                .call1(&self.store, &JsValue::from_str(key)),
        )
        .await
        .map(|_| ())
        .map_err(thrown)
    }
}
