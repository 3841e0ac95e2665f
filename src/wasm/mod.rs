//! The exported class, and nothing else: `#[wasm_bindgen]` entry points. JavaScript's
//! wrapper (js/core.js) normalises inputs, turns rejections carrying an error record
//! into `SalesforceSessionError`, and owns the public names; this layer only moves
//! data between it and the engine, through `convert`.

mod clock;
pub mod convert;
mod crypto;
mod events;
mod js_host;
mod store;
mod transport;

use crate::config::Config;
use crate::decide::redact::exposed;
use crate::engine::{Engine, FetchError, Grant, Outgoing};
use crate::error::SessionError;
use crate::secret::Secret;
use crate::store::record::ConnectionInfo;
use convert::{
    describe, error_record, error_record_redacted, loose_from_js, to_js, to_js_redacted,
};
use js_host::JsHost;
use js_sys::{Function, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// The session engine, exported for the JavaScript wrapper.
#[wasm_bindgen]
pub struct WasmSessions {
    engine: Rc<Engine<JsHost>>,
}

#[wasm_bindgen]
impl WasmSessions {
    /// Validates the options (a plain object of the plain-data options) and builds the
    /// engine. Throws an error record on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        fetch: Function,
        store: JsValue,
        now: Option<Function>,
        on_event: Option<Function>,
        peek: Option<Function>,
        sign_jwt: Option<Function>,
    ) -> Result<WasmSessions, JsValue> {
        let options = loose_from_js(&options)
            .ok_or_else(|| error_record(&SessionError::config("options must be plain data")))?;
        let config = Config::from_options(&options).map_err(|e| error_record(&e))?;
        let host = JsHost::new(
            fetch,
            store,
            now,
            on_event,
            peek,
            sign_jwt,
            config.token_timeout_ms,
        )
        .map_err(|why| {
            error_record(&SessionError::config(format!(
                "option 'store' is refused: {why}"
            )))
        })?;
        Ok(WasmSessions {
            engine: Rc::new(Engine::new(host, config)),
        })
    }

    /// The instance origin of a connection in memory, or `undefined`: callers resolve
    /// their input against it with the platform's URL parser (the one fetch uses).
    pub fn origin(&self, id: &str) -> Option<String> {
        self.engine.instance_origin(id)
    }

    /// The hot path's first half, without I/O: `[url, authorization, started, freshUntil]`
    /// for the caller to send, or `undefined` to take `fetch` instead; reads may reuse the
    /// authorization until `freshUntil`. The path `settle` and `resume` take is the url's,
    /// up to `?` or `#`. Throws an error record when the call must not be sent at all.
    pub fn prepare(&self, id: &str, input: &str, method: &str) -> Result<JsValue, JsValue> {
        match self.engine.prepare(id, input, method) {
            Ok(Some(p)) => {
                let authorization = format!("Bearer {}", p.bearer.expose());
                let parts = js_sys::Array::of4(
                    &p.url.into(),
                    &authorization.into(),
                    &JsValue::from_f64(p.started as f64),
                    &JsValue::from_f64(p.fresh_until as f64),
                );
                Ok(parts.into())
            }
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => Err(error_record_redacted(
                &e,
                &self.engine.secrets_of(e.connection_id.as_deref()),
            )),
        }
    }

    /// The hot path's second half: `true` when the response can go to the caller as it is.
    pub fn settle(&self, id: &str, method: &str, path: &str, status: u16, started: f64) -> bool {
        self.engine.settle(id, method, path, status, started as u64)
    }

    /// Sends a call and resolves with the host's Response: the full path when
    /// `response` is undefined (`url` is then the caller's input), or takes over a
    /// prepared call whose response may carry a session failure, refreshing and
    /// retrying once where that recovers it.
    #[allow(clippy::too_many_arguments)] // flat arguments keep the boundary to plain values
    pub fn send(
        &self,
        id: String,
        url: String,
        path: String,
        method: String,
        init: JsValue,
        response: JsValue,
        authorization: String,
    ) -> Promise {
        let engine = self.engine.clone();
        let used = Secret::new(
            authorization
                .strip_prefix("Bearer ")
                .unwrap_or(&authorization),
        );
        future_to_promise(async move {
            let result = if response.is_undefined() {
                engine.fetch(&id, &url, &method, &init).await
            } else {
                let call = Outgoing {
                    url: &url,
                    path: &path,
                    method: &method,
                    request: &init,
                };
                let response = transport::JsReply::from_value(response)?;
                engine.resume(&id, call, response, used).await
            };
            match result {
                Ok(response) => Ok(response.value),
                Err(FetchError::Session(e)) => Err(error_record_redacted(
                    &e,
                    &engine.secrets_of(e.connection_id.as_deref()),
                )),
                Err(FetchError::Transport(e)) => Err(e),
            }
        })
    }

    /// Every operation but the calls themselves, by name (one entry point keeps the
    /// module small): `connect` (`a` the token JSON, `b` its login URL), `grant` (`a` the
    /// kind: `refresh_token` with `b` the token; `authorization_code` with `b` the code,
    /// `c` the redirect URI, `d` the verifier; `jwt` with `b` the username, `c` the
    /// audience; `client_credentials`), `load` (resolves with the instance origin),
    /// `info`, `refresh`, `disconnect` (`a` non-empty: revoke first), `keepAlive` (`a`
    /// the idle bound in ms; resolves with `[connectionId, outcome, …]`, the outcome
    /// `refreshed`, `skipped` or an error code) and `diagnose`.
    pub fn run(
        &self,
        op: String,
        id: String,
        a: Option<String>,
        b: Option<String>,
        c: Option<String>,
        d: Option<String>,
    ) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let e = &engine;
            let (a, b, c, d) = (
                a.unwrap_or_default(),
                b.unwrap_or_default(),
                c.unwrap_or_default(),
                d.unwrap_or_default(),
            );
            let info = |i: ConnectionInfo| to_js(&i);
            let result = match op.as_str() {
                "connect" => e
                    .connect(&id, &a, Some(b.as_str()).filter(|b| !b.is_empty()))
                    .await
                    .map(info),
                "grant" => {
                    let grant = match a.as_str() {
                        "refresh_token" => Grant::RefreshToken(&b),
                        "authorization_code" => Grant::Code {
                            code: &b,
                            redirect_uri: &c,
                            verifier: &d,
                        },
                        "jwt" => Grant::Jwt {
                            username: &b,
                            audience: Some(c.as_str()).filter(|c| !c.is_empty()),
                        },
                        _ => Grant::ClientCredentials,
                    };
                    e.connect_grant(&id, grant).await.map(info)
                }
                "load" => e.load_origin(&id).await.map(JsValue::from),
                "info" => e.info(&id).await.map(info),
                "refresh" => e.refresh(&id).await.map(info),
                "disconnect" => e
                    .disconnect(&id, !a.is_empty())
                    .await
                    .map(|_| JsValue::UNDEFINED),
                "keepAlive" => e.keep_alive(a.parse().unwrap_or(u64::MAX)).await.map(|r| {
                    let pairs = js_sys::Array::new();
                    let push = |id: &str, outcome: &str| {
                        pairs.push(&JsValue::from_str(id));
                        pairs.push(&JsValue::from_str(outcome));
                    };
                    r.refreshed.iter().for_each(|id| push(id, "refreshed"));
                    r.skipped.iter().for_each(|id| push(id, "skipped"));
                    for f in &r.failed {
                        push(&f.connection_id, f.code.as_str());
                    }
                    pairs.into()
                }),
                "diagnose" => e
                    .diagnose(&id)
                    .await
                    .map(|r| to_js_redacted(&r, &exposed(&e.secrets_of(Some(&r.connection_id))))),
                _ => Err(SessionError::config("unknown operation")),
            };
            result.map_err(|err| {
                error_record_redacted(&err, &e.secrets_of(err.connection_id.as_deref()))
            })
        })
    }

    /// This manager's instance id.
    #[wasm_bindgen(getter, js_name = instanceId)]
    pub fn instance_id(&self) -> String {
        self.engine.config().instance_id.clone()
    }
}

/// Describes a thrown value without secrets (used by tests of the binding).
#[wasm_bindgen(js_name = describeError)]
pub fn describe_error(error: JsValue) -> String {
    describe(&error)
}
