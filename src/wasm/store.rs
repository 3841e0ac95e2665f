//! `Store` over the caller's store object: `get`/`put`/`delete`, each returning a
//! promise or a value, with strings as values; `compareAndPut`, `lock` and `list`
//! when it has them (a store without a lock serves one isolate, whose own single
//! flight is the lock; without `compareAndPut` the write re-reads first).

use super::js_host::{settle, thrown, JsHost};
use crate::host::{HostError, Store};
use js_sys::{Array, Function};
use wasm_bindgen::{JsCast, JsValue};

impl Store for JsHost {
    /// The release function (`None`: the store has no lock).
    type Lock = Option<Function>;

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

    async fn store_compare_and_put(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, HostError> {
        let Some(cas) = &self.store_cas else {
            if self.store_get(key).await?.as_deref() != expected {
                return Ok(false);
            }
            return self.store_put(key, value).await.map(|_| true);
        };
        let expected = expected.map_or(JsValue::NULL, JsValue::from_str);
        let written = settle(cas.call3(
            &self.store,
            &JsValue::from_str(key),
            &expected,
            &JsValue::from_str(value),
        ))
        .await
        .map_err(thrown)?;
        Ok(written.is_truthy())
    }

    async fn store_lock(&self, key: &str, ttl_ms: u64) -> Result<Option<Self::Lock>, HostError> {
        let Some(lock) = &self.store_lock else {
            return Ok(Some(None));
        };
        let release = settle(lock.call2(
            &self.store,
            &JsValue::from_str(key),
            &JsValue::from_f64(ttl_ms as f64),
        ))
        .await
        .map_err(thrown)?;
        if release.is_null() || release.is_undefined() {
            return Ok(None);
        }
        Ok(Some(release.dyn_into::<Function>().ok()))
    }

    fn store_has_lock(&self) -> bool {
        self.store_lock.is_some()
    }

    async fn store_unlock(&self, lock: Self::Lock) {
        if let Some(release) = lock {
            // A failed release leaves the lock to expire by its TTL.
            let _ = settle(release.call0(&JsValue::UNDEFINED)).await;
        }
    }

    async fn store_list(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        let list = self.store_list.as_ref().ok_or_else(|| {
            HostError::new("the store cannot list its keys (it has no list(prefix))")
        })?;
        let keys = settle(list.call1(&self.store, &JsValue::from_str(prefix)))
            .await
            .map_err(thrown)?;
        let keys = keys
            .dyn_into::<Array>()
            .map_err(|_| HostError::new("store.list did not return an array of keys"))?;
        Ok(keys.iter().filter_map(|k| k.as_string()).collect())
    }
}
