//! `Clock` over the caller's `now` option (or `Date.now`) and the host's timers.

use super::js_host::JsHost;
use crate::host::Clock;
use wasm_bindgen::JsValue;

impl Clock for JsHost {
    fn now_ms(&self) -> u64 {
        let ms = match &self.now {
            Some(f) => f
                .call0(&JsValue::UNDEFINED)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or_else(js_sys::Date::now),
            None => js_sys::Date::now(),
        };
        if ms.is_finite() && ms > 0.0 {
            ms as u64
        } else {
            0
        }
    }

    async fn sleep_ms(&self, ms: u64) {
        gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32).await;
    }
}
