//! `Transport` over the caller's `fetch`: the caller's own requests with the bearer
//! token set, and the library's form and JSON posts. Redirects are never followed.

use super::convert::error_record;
use super::js_host::{settle, thrown, JsHost};
use crate::error::SessionError;
use crate::host::{HostError, HttpReply, Transport};
use crate::secret::Secret;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Response};

#[wasm_bindgen]
extern "C" {
    /// `Object.assign`, with a throwing getter of the caller's init caught.
    #[wasm_bindgen(js_namespace = Object, js_name = assign, catch)]
    fn assign_caught(target: &Object, source: &JsValue) -> Result<Object, JsValue>;
}

/// A response from the caller's `fetch`, its status read once (a getter that throws,
/// or a fetch that resolved to something else, is refused instead of escaping).
pub struct JsReply {
    /// The response, handed back to the caller untouched.
    pub value: JsValue,
    status: u16,
}

impl JsReply {
    /// Takes what a fetch resolved to, if it is a response.
    pub fn from_value(value: JsValue) -> Result<JsReply, JsValue> {
        let status = Reflect::get(&value, &"status".into())
            .ok()
            .and_then(|s| s.as_f64())
            .filter(|s| (100.0..=599.0).contains(s) && s.fract() == 0.0);
        let clonable = Reflect::get(&value, &"clone".into()).is_ok_and(|f| f.is_function());
        match status {
            Some(status) if clonable => Ok(JsReply {
                value,
                status: status as u16,
            }),
            _ => Err(error_record(
                &SessionError::config(
                    "option 'fetch' resolved to something that is not a Response",
                )
                .evidence("a Response has a numeric status from 100 to 599 and a clone() method"),
            )),
        }
    }
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

/// `AbortSignal.timeout(ms)`, where the runtime has it (Node 18+, workerd, browsers).
fn timeout_signal(ms: u64) -> Option<JsValue> {
    let class = Reflect::get(&js_sys::global(), &"AbortSignal".into()).ok()?;
    let timeout: js_sys::Function = Reflect::get(&class, &"timeout".into())
        .ok()?
        .dyn_into()
        .ok()?;
    timeout.call1(&class, &JsValue::from_f64(ms as f64)).ok()
}

/// A request init of the library's own: method, headers, body, no redirects, a deadline.
fn init(method: &str, headers: &[(&str, &str)], body: Option<&str>, timeout_ms: u64) -> JsValue {
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
    // Every request of the library's own is bounded: a token endpoint that never
    // answers is a transient failure, not a call left pending.
    if let Some(signal) = timeout_signal(timeout_ms) {
        let _ = Reflect::set(&init, &"signal".into(), &signal);
    }
    init.into()
}

impl JsHost {
    async fn call_fetch(&self, url: &str, init: &JsValue) -> Result<JsValue, JsValue> {
        settle(
            self.fetch
                .call2(&JsValue::UNDEFINED, &JsValue::from_str(url), init),
        )
        .await
    }

    async fn whole_reply(&self, url: &str, init: &JsValue) -> Result<HttpReply, HostError> {
        let reply = JsReply::from_value(self.call_fetch(url, init).await.map_err(thrown)?)
            .map_err(thrown)?;
        let status = reply.status;
        let response: &Response = reply.value.unchecked_ref();
        let body = JsFuture::from(response.text().map_err(thrown)?)
            .await
            .map_err(thrown)?;
        Ok(HttpReply {
            status,
            body: body.as_string().unwrap_or_default(),
        })
    }
}

impl Transport for JsHost {
    type Request = JsValue;
    type Response = JsReply;
    type SendError = JsValue;

    async fn send(
        &self,
        url: &str,
        _method: &str,
        request: &JsValue,
        bearer: &Secret,
    ) -> Result<JsReply, JsValue> {
        let init = assign_caught(&Object::new(), request)?;
        let given = Reflect::get(request, &"headers".into()).unwrap_or(JsValue::UNDEFINED);
        let headers = Headers::new_with_str_sequence_sequence(&given)?;
        headers.set("authorization", &format!("Bearer {}", bearer.expose()))?;
        let _ = Reflect::set(&init, &"headers".into(), &headers);
        let _ = Reflect::set(&init, &"redirect".into(), &"manual".into());
        JsReply::from_value(self.call_fetch(url, &init).await?)
    }

    fn abort_reason(&self, request: &JsValue) -> Option<JsValue> {
        let signal = Reflect::get(request, &"signal".into()).ok()?;
        if !signal.is_object() {
            return None;
        }
        let aborted = Reflect::get(&signal, &"aborted".into()).ok()?;
        if aborted.as_bool() != Some(true) {
            return None;
        }
        Some(Reflect::get(&signal, &"reason".into()).unwrap_or(JsValue::UNDEFINED))
    }

    fn status(&self, response: &JsReply) -> u16 {
        response.status
    }

    async fn peek_body(&self, response: &JsReply) -> String {
        if let Some(peek) = &self.peek {
            return settle(peek.call1(&JsValue::UNDEFINED, &response.value))
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default();
        }
        let response: &Response = response.value.unchecked_ref();
        let Ok(copy) = response.clone() else {
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

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<HttpReply, HostError> {
        let body = form_encode(form);
        let init = init(
            "POST",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
            ],
            Some(&body),
            self.request_timeout_ms,
        );
        self.whole_reply(url, &init).await
    }

    async fn get_with_bearer(&self, url: &str, bearer: &Secret) -> Result<HttpReply, HostError> {
        let auth = format!("Bearer {}", bearer.expose());
        let init = init(
            "GET",
            &[
                ("authorization", auth.as_str()),
                ("accept", "application/json"),
            ],
            None,
            self.request_timeout_ms,
        );
        self.whole_reply(url, &init).await
    }

    async fn post_json(
        &self,
        url: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpReply, HostError> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let init = init("POST", &all, Some(body), self.request_timeout_ms);
        self.whole_reply(url, &init).await
    }
}
