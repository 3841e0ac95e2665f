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

    /// Stores a token response (from `login_url` when it is not the manager's).
    pub fn connect(&self, id: String, token_json: String, login_url: Option<String>) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .connect(&id, &token_json, login_url.as_deref())
                .await
                .map(|i| to_js(&i))
                .map_err(|e| {
                    error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
                })
        })
    }

    /// Redeems a credential and stores the result: `kind` is `refresh_token` (`a` the
    /// token), `authorization_code` (`a` code, `b` redirect URI, `c` verifier), `jwt`
    /// (`a` username, `b` audience or empty) or `client_credentials`.
    pub fn grant(&self, id: String, kind: String, a: String, b: String, c: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let grant = match kind.as_str() {
                "refresh_token" => Grant::RefreshToken(&a),
                "authorization_code" => Grant::Code {
                    code: &a,
                    redirect_uri: &b,
                    verifier: &c,
                },
                "jwt" => Grant::Jwt {
                    username: &a,
                    audience: Some(b.as_str()).filter(|b| !b.is_empty()),
                },
                _ => Grant::ClientCredentials,
            };
            engine
                .connect_grant(&id, grant)
                .await
                .map(|i| to_js(&i))
                .map_err(|e| {
                    error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
                })
        })
    }

    /// The instance origin of a connection in memory, or `undefined`: callers resolve
    /// their input against it with the platform's URL parser (the one fetch uses).
    pub fn origin(&self, id: &str) -> Option<String> {
        self.engine.instance_origin(id)
    }

    /// Loads a connection from the store; resolves with its instance origin.
    pub fn load(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .load_origin(&id)
                .await
                .map(JsValue::from)
                .map_err(|e| {
                    error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
                })
        })
    }

    /// Sends a request; resolves with the host's Response.
    pub fn fetch(&self, id: String, input: String, method: String, init: JsValue) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            match engine.fetch(&id, &input, &method, &init).await {
                Ok(response) => Ok(response.value),
                Err(FetchError::Session(e)) => Err(error_record_redacted(
                    &e,
                    &engine.secrets_of(e.connection_id.as_deref()),
                )),
                Err(FetchError::Transport(e)) => Err(e),
            }
        })
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

    /// Examines a prepared call's response that may carry a session failure, and
    /// refreshes and retries once where that recovers it.
    #[allow(clippy::too_many_arguments)] // flat arguments keep the boundary to plain values
    pub fn resume(
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
            let call = Outgoing {
                url: &url,
                path: &path,
                method: &method,
                request: &init,
            };
            let response = transport::JsReply::from_value(response)?;
            match engine.resume(&id, call, response, used).await {
                Ok(response) => Ok(response.value),
                Err(FetchError::Session(e)) => Err(error_record_redacted(
                    &e,
                    &engine.secrets_of(e.connection_id.as_deref()),
                )),
                Err(FetchError::Transport(e)) => Err(e),
            }
        })
    }

    /// Connection info, read fresh from the store.
    pub fn info(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine.info(&id).await.map(|i| to_js(&i)).map_err(|e| {
                error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
            })
        })
    }

    /// Forced refresh.
    pub fn refresh(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine.refresh(&id).await.map(|i| to_js(&i)).map_err(|e| {
                error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
            })
        })
    }

    /// Forget a connection (revoking first when asked).
    pub fn disconnect(&self, id: String, revoke: bool) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .disconnect(&id, revoke)
                .await
                .map(|_| JsValue::UNDEFINED)
                .map_err(|e| {
                    error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
                })
        })
    }

    /// Refreshes every stored connection idle for longer than `older_than_ms`; resolves
    /// with `[connectionId, outcome, …]` pairs, the outcome `refreshed`, `skipped` or an
    /// error code (the wrapper builds the report).
    #[wasm_bindgen(js_name = keepAlive)]
    pub fn keep_alive(&self, older_than_ms: f64) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let report = engine
                .keep_alive(older_than_ms as u64)
                .await
                .map_err(|e| error_record_redacted(&e, &engine.secrets_of(None)))?;
            let pairs = js_sys::Array::new();
            let push = |id: &str, outcome: &str| {
                pairs.push(&JsValue::from_str(id));
                pairs.push(&JsValue::from_str(outcome));
            };
            report.refreshed.iter().for_each(|id| push(id, "refreshed"));
            report.skipped.iter().for_each(|id| push(id, "skipped"));
            for f in &report.failed {
                push(&f.connection_id, f.code.as_str());
            }
            Ok(pairs.into())
        })
    }

    /// The doctor.
    pub fn diagnose(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .diagnose(&id)
                .await
                .map(|r| to_js_redacted(&r, &exposed(&engine.secrets_of(Some(&r.connection_id)))))
                .map_err(|e| {
                    error_record_redacted(&e, &engine.secrets_of(e.connection_id.as_deref()))
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
