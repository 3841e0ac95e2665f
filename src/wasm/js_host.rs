//! The host over JavaScript objects: the caller's `fetch`, the store (anything with
//! `get`/`put`/`delete`, duck-typed), the clock and `onEvent`. Every conversion
//! between Rust and JavaScript values happens in this module.

use crate::host::{Host, HttpReply};
use crate::secret::Secret;
use js_sys::{Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// A `Response` from whichever fetch the caller gave (the global one, undici's…): used structurally.
    pub type JsResponse;
    #[wasm_bindgen(method, getter)]
    fn status(this: &JsResponse) -> u16;
    #[wasm_bindgen(method, catch, js_name = clone)]
    fn duplicate(this: &JsResponse) -> Result<JsResponse, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn text(this: &JsResponse) -> Result<Promise, JsValue>;

    /// The global `Headers` class.
    type Headers;
    #[wasm_bindgen(constructor, catch)]
    fn new(init: &JsValue) -> Result<Headers, JsValue>;
    #[wasm_bindgen(method)]
    fn set(this: &Headers, name: &str, value: &str);
}

/// The host capabilities the JavaScript side handed over.
pub struct JsHost {
    fetch: Function,
    store: JsValue,
    store_get: Function,
    store_put: Function,
    store_delete: Function,
    now: Option<Function>,
    on_event: Option<Function>,
}

fn method_of(object: &JsValue, name: &str) -> Result<Function, String> {
    Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| format!("store.{name} is not a function"))
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

async fn settle(value: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    let value = value?;
    JsFuture::from(Promise::resolve(&value)).await
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(k, &mut out);
        out.push('=');
        encode_component(v, &mut out);
    }
    out
}

fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

impl JsHost {
    /// Wraps the caller's objects; the store must have `get`, `put` and `delete`.
    pub fn new(
        fetch: Function,
        store: JsValue,
        now: Option<Function>,
        on_event: Option<Function>,
    ) -> Result<JsHost, String> {
        Ok(JsHost {
            store_get: method_of(&store, "get")?,
            store_put: method_of(&store, "put")?,
            store_delete: method_of(&store, "delete")?,
            fetch,
            store,
            now,
            on_event,
        })
    }

    async fn call_fetch(&self, url: &str, init: &JsValue) -> Result<JsValue, JsValue> {
        settle(
            self.fetch
                .call2(&JsValue::UNDEFINED, &JsValue::from_str(url), init),
        )
        .await
    }

    async fn whole_reply(&self, url: &str, init: &JsValue) -> Result<HttpReply, String> {
        let response: JsResponse = self
            .call_fetch(url, init)
            .await
            .map_err(|e| describe(&e))?
            .unchecked_into();
        let status = response.status();
        let body = JsFuture::from(response.text().map_err(|e| describe(&e))?)
            .await
            .map_err(|e| describe(&e))?;
        Ok(HttpReply {
            status,
            body: body.as_string().unwrap_or_default(),
        })
    }

    fn init(method: &str, headers: &[(&str, &str)], body: Option<&str>) -> JsValue {
        let init = Object::new();
        let h = Object::new();
        for (k, v) in headers {
            let _ = Reflect::set(&h, &JsValue::from_str(k), &JsValue::from_str(v));
        }
        let _ = Reflect::set(&init, &"method".into(), &method.into());
        let _ = Reflect::set(&init, &"headers".into(), &h);
        // Tokens and secrets never follow a redirect.
        let _ = Reflect::set(&init, &"redirect".into(), &"manual".into());
        if let Some(body) = body {
            let _ = Reflect::set(&init, &"body".into(), &body.into());
        }
        init.into()
    }
}

impl Host for JsHost {
    type Request = JsValue;
    type Response = JsResponse;
    type SendError = JsValue;

    async fn send(
        &self,
        url: &str,
        _method: &str,
        request: &JsValue,
        bearer: &Secret,
    ) -> Result<JsResponse, JsValue> {
        let init = Object::assign(&Object::new(), request.unchecked_ref());
        let headers =
            Headers::new(&Reflect::get(request, &"headers".into()).unwrap_or(JsValue::UNDEFINED))?;
        headers.set("authorization", &format!("Bearer {}", bearer.expose()));
        let _ = Reflect::set(&init, &"headers".into(), &headers);
        let _ = Reflect::set(&init, &"redirect".into(), &"manual".into());
        Ok(self.call_fetch(url, &init).await?.unchecked_into())
    }

    fn status(&self, response: &JsResponse) -> u16 {
        response.status()
    }

    async fn peek_body(&self, response: &JsResponse) -> String {
        let Ok(copy) = response.duplicate() else {
            return String::new();
        };
        let Ok(promise) = copy.text() else {
            return String::new();
        };
        JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default()
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<HttpReply, String> {
        let body = form_encode(form);
        let init = Self::init(
            "POST",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
            ],
            Some(&body),
        );
        self.whole_reply(url, &init).await
    }

    async fn get_with_bearer(&self, url: &str, bearer: &Secret) -> Result<HttpReply, String> {
        let auth = format!("Bearer {}", bearer.expose());
        let init = Self::init(
            "GET",
            &[
                ("authorization", auth.as_str()),
                ("accept", "application/json"),
            ],
            None,
        );
        self.whole_reply(url, &init).await
    }

    async fn post_json(
        &self,
        url: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpReply, String> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let init = Self::init("POST", &all, Some(body));
        self.whole_reply(url, &init).await
    }

    async fn store_get(&self, key: &str) -> Result<Option<String>, String> {
        let value = settle(self.store_get.call1(&self.store, &JsValue::from_str(key)))
            .await
            .map_err(|e| describe(&e))?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| "store.get returned something other than a string or null".to_string())
    }

    async fn store_put(&self, key: &str, value: &str) -> Result<(), String> {
        settle(self.store_put.call2(
            &self.store,
            &JsValue::from_str(key),
            &JsValue::from_str(value),
        ))
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
    }

    async fn store_delete(&self, key: &str) -> Result<(), String> {
        settle(
            self.store_delete
                .call1(&self.store, &JsValue::from_str(key)),
        )
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
    }

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

    fn wants_events(&self) -> bool {
        self.on_event.is_some()
    }

    fn emit(&self, event_json: &str) {
        let Some(f) = &self.on_event else { return };
        if let Ok(value) = JSON::parse(event_json) {
            // A listener that throws must not break the call it observes.
            let _ = f.call1(&JsValue::UNDEFINED, &value);
        }
    }
}

/// Turns the JSON text of a record, report or info object into a plain JavaScript object.
pub fn to_js(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or(JsValue::NULL)
}
