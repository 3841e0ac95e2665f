//! `Events` over the caller's `onEvent`: each event crosses as a plain object built once
//! — what happened, through the redactor, then which connection and when.

use super::convert::to_js_redacted;
use super::js_host::JsHost;
use crate::decide::redact::redact;
use crate::engine::events::Event;
use crate::host::Events;
use js_sys::Reflect;
use wasm_bindgen::JsValue;

impl Events for JsHost {
    fn wants_events(&self) -> bool {
        self.on_event.is_some()
    }

    fn emit(&self, event: &Event<'_>, secrets: &[&str]) {
        let Some(f) = &self.on_event else { return };
        let object = to_js_redacted(&event.detail, secrets);
        for (name, text) in [
            ("connectionId", event.connection_id),
            ("orgId", event.org_id),
            ("userId", event.user_id),
        ] {
            let text = redact(text, secrets);
            let _ = Reflect::set(&object, &name.into(), &JsValue::from_str(&text));
        }
        let _ = Reflect::set(&object, &"at".into(), &JsValue::from_f64(event.at as f64));
        // A listener that throws must not break the call it observes.
        let _ = f.call1(&JsValue::UNDEFINED, &object);
    }
}
