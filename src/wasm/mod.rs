//! The exported class. JavaScript's wrapper (js/core.js) normalises inputs, turns
//! rejections carrying an error record into `SalesforceSessionError`, and owns the
//! public names; this layer only moves data between it and the engine.

mod js_host;

use crate::config::Config;
use crate::engine::{Engine, FetchError};
use crate::error::SessionError;
use js_host::{describe, to_js, JsHost};
use js_sys::{Function, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

fn error_record(e: &SessionError) -> JsValue {
    to_js(&e.to_record_json())
}

/// The session engine, exported for the JavaScript wrapper.
#[wasm_bindgen]
pub struct WasmSessions {
    engine: Rc<Engine<JsHost>>,
}

#[wasm_bindgen]
impl WasmSessions {
    /// Validates the options and builds the engine. Throws an error record on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options_json: &str,
        fetch: Function,
        store: JsValue,
        now: Option<Function>,
        on_event: Option<Function>,
    ) -> Result<WasmSessions, JsValue> {
        let config = Config::from_json(options_json).map_err(|e| error_record(&e))?;
        let host = JsHost::new(fetch, store, now, on_event).map_err(|why| {
            error_record(&SessionError::config(format!(
                "option 'store' is refused: {why}"
            )))
        })?;
        Ok(WasmSessions {
            engine: Rc::new(Engine::new(host, config)),
        })
    }

    /// Stores a token response.
    pub fn connect(&self, id: String, token_json: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .connect(&id, &token_json)
                .await
                .map(|i| to_js(&i.to_json()))
                .map_err(|e| error_record(&e))
        })
    }

    /// Sends a request; resolves with the host's Response.
    pub fn fetch(&self, id: String, input: String, method: String, init: JsValue) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            match engine.fetch(&id, &input, &method, &init).await {
                Ok(response) => Ok(response.into()),
                Err(FetchError::Session(e)) => Err(error_record(&e)),
                Err(FetchError::Transport(e)) => Err(e),
            }
        })
    }

    /// Connection info, read fresh from the store.
    pub fn info(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .info(&id)
                .await
                .map(|i| to_js(&i.to_json()))
                .map_err(|e| error_record(&e))
        })
    }

    /// Forced refresh.
    pub fn refresh(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .refresh(&id)
                .await
                .map(|i| to_js(&i.to_json()))
                .map_err(|e| error_record(&e))
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
                .map_err(|e| error_record(&e))
        })
    }

    /// The doctor.
    pub fn diagnose(&self, id: String) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            engine
                .diagnose(&id)
                .await
                .map(|r| to_js(&r.to_json()))
                .map_err(|e| error_record(&e))
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
