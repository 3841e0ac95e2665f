//! `Events` over the caller's `onEvent`: each event crosses as a plain object built once.

use super::convert::to_js_redacted;
use super::js_host::JsHost;
use crate::engine::events::Event;
use crate::host::Events;
use wasm_bindgen::JsValue;

impl Events for JsHost {
    fn wants_events(&self) -> bool {
        self.on_event.is_some()
    }

    fn emit(&self, event: &Event<'_>, secrets: &[&str]) {
        let Some(f) = &self.on_event else { return };
        // A listener that throws must not break the call it observes.
        let _ = f.call1(&JsValue::UNDEFINED, &to_js_redacted(event, secrets));
    }
}
