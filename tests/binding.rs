//! The wasm binding, exercised from inside wasm (run in Node by wasm-bindgen-test-runner):
//! option checks, the store and fetch seams, error records and events. Behaviour
//! against Salesforce is tested with the emulator in tests/node.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Reflect, JSON};
use salesforce_session::wasm::WasmSessions;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

const TOKEN: &str = r#"{"access_token":"00Dx0000000BV7z!AQ0binding","refresh_token":"5Aep861TSES-binding","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU","token_type":"Bearer","issued_at":"1779461039475"}"#;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A fetch that records (url, authorization) and answers 200 `[]`.
fn recording_fetch(calls: &Array) -> Function {
    let f = Function::new_with_args(
        "calls, url, init",
        "calls.push([url, new Headers(init.headers).get('authorization'), init.redirect]); return Promise.resolve(new Response('[]', { status: 200 }));",
    );
    let bound: JsValue = f.bind1(&JsValue::NULL, calls).into();
    bound.unchecked_into()
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn memory_store() -> JsValue {
    let make = Function::new_no_args("const m = new Map(); return { get: async k => m.has(k) ? m.get(k) : null, put: async (k, v) => { m.set(k, v) }, delete: async k => { m.delete(k) } };");
    make.call0(&JsValue::NULL).unwrap()
}

fn manager(fetch: Function, store: JsValue, on_event: Option<Function>) -> WasmSessions {
    WasmSessions::new(
        options(r#"{"clientId":"abc","instanceId":"w1"}"#),
        fetch,
        store,
        // A clock one second after the token's issued_at: no proactive refresh.
        Some(Function::new_no_args("return 1779461040475;")),
        on_event,
        None,
        None,
    )
    .unwrap_or_else(|_| panic!("options are valid"))
}

#[wasm_bindgen_test]
fn bad_options_throw_an_invalid_config_record() {
    let calls = Array::new();
    let err = WasmSessions::new(
        options(r#"{"instanceId":"w1"}"#),
        recording_fetch(&calls),
        memory_store(),
        None,
        None,
        None,
        None,
    )
    .err()
    .expect("must fail");
    assert_eq!(
        get(&err, "kind").as_string().as_deref(),
        Some("SalesforceSessionError")
    );
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("INVALID_CONFIG")
    );
    let no_store = WasmSessions::new(
        options(r#"{"clientId":"a","instanceId":"w1"}"#),
        recording_fetch(&calls),
        Object::new().into(),
        None,
        None,
        None,
        None,
    )
    .err()
    .expect("must fail");
    assert!(get(&no_store, "message")
        .as_string()
        .unwrap_or_default()
        .contains("store"));
}

#[wasm_bindgen_test]
async fn fetch_sends_the_bearer_only_to_the_instance_and_never_follows_redirects() {
    let calls = Array::new();
    let sessions = manager(recording_fetch(&calls), memory_store(), None);
    JsFuture::from(sessions.connect("acme".into(), TOKEN.into(), None))
        .await
        .unwrap();
    let response = JsFuture::from(sessions.fetch(
        "acme".into(),
        "/services/data/v62.0/limits".into(),
        "GET".into(),
        Object::new().into(),
    ))
    .await
    .unwrap();
    assert_eq!(get(&response, "status").as_f64(), Some(200.0));
    let call = Array::from(&calls.get(0));
    assert_eq!(
        call.get(0).as_string().as_deref(),
        Some("https://acme.my.salesforce.com/services/data/v62.0/limits")
    );
    assert_eq!(
        call.get(1).as_string().as_deref(),
        Some("Bearer 00Dx0000000BV7z!AQ0binding")
    );
    assert_eq!(call.get(2).as_string().as_deref(), Some("manual"));

    let refused = JsFuture::from(sessions.fetch(
        "acme".into(),
        "https://login.salesforce.com/services/data/v62.0/".into(),
        "GET".into(),
        Object::new().into(),
    ))
    .await
    .unwrap_err();
    assert_eq!(
        get(&refused, "code").as_string().as_deref(),
        Some("WRONG_INSTANCE_URL")
    );
    assert_eq!(calls.length(), 1, "the refused request was never sent");
}

#[wasm_bindgen_test]
async fn a_throwing_store_is_store_failed_and_unknown_ids_are_unknown() {
    let calls = Array::new();
    let broken = Function::new_no_args("return { get: async () => { throw new Error('backend down') }, put: () => { throw new Error('read-only') }, delete: async () => {} };").call0(&JsValue::NULL).unwrap();
    let sessions = manager(recording_fetch(&calls), broken, None);
    let err = JsFuture::from(sessions.connect("acme".into(), TOKEN.into(), None))
        .await
        .unwrap_err();
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("STORE_FAILED")
    );
    let err = JsFuture::from(sessions.info("acme".into()))
        .await
        .unwrap_err();
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("STORE_FAILED")
    );

    let fine = manager(recording_fetch(&calls), memory_store(), None);
    let err = JsFuture::from(fine.info("nobody".into()))
        .await
        .unwrap_err();
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("UNKNOWN_CONNECTION")
    );
}

#[wasm_bindgen_test]
async fn events_are_plain_objects_without_secrets() {
    let calls = Array::new();
    let events = Array::new();
    let bound: JsValue = Function::new_with_args("events, e", "events.push(e)")
        .bind1(&JsValue::NULL, &events)
        .into();
    let on_event: Function = bound.unchecked_into();
    let sessions = manager(recording_fetch(&calls), memory_store(), Some(on_event));
    JsFuture::from(sessions.connect("acme".into(), TOKEN.into(), None))
        .await
        .unwrap();
    JsFuture::from(sessions.fetch(
        "acme".into(),
        "/services/data/v62.0/query?q=SELECT+Id+FROM+Account".into(),
        "GET".into(),
        Object::new().into(),
    ))
    .await
    .unwrap();
    assert!(events.length() >= 2);
    let request = events
        .iter()
        .find(|e| get(e, "type").as_string().as_deref() == Some("request"))
        .expect("a request event");
    assert_eq!(
        get(&request, "path").as_string().as_deref(),
        Some("/services/data/v62.0/query")
    );
    assert_eq!(
        get(&request, "orgId").as_string().as_deref(),
        Some("00Dx0000000BV7zEAG")
    );
    let all = JSON::stringify(&events).unwrap().as_string().unwrap();
    assert!(
        !all.contains("AQ0binding") && !all.contains("5Aep-binding"),
        "{all}"
    );
}
