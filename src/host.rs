//! The host's capabilities as small traits' worth of methods: the one seam between
//! the session logic and the outside world (fetch, the store, the clock, events).

use crate::secret::Secret;

/// A whole HTTP answer from an endpoint the library itself calls (token, introspection, identity, webhook).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// Everything the engine needs from its host. Implemented over JavaScript objects
/// in the wasm binding, and over plain Rust in the tests.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The caller's request as the host holds it (headers, body, signal…).
    type Request;
    /// The host's response, handed back to the caller untouched.
    type Response;
    /// A transport failure of the caller's request, handed back untouched.
    type SendError;

    /// Sends the caller's request to `url` with `Authorization: Bearer`, never following redirects.
    async fn send(
        &self,
        url: &str,
        method: &str,
        request: &Self::Request,
        bearer: &Secret,
    ) -> Result<Self::Response, Self::SendError>;
    /// The status of a response.
    fn status(&self, response: &Self::Response) -> u16;
    /// Reads the body of a copy of the response, leaving the original unread.
    async fn peek_body(&self, response: &Self::Response) -> String;
    /// POSTs a form (token, introspection, revocation), never following redirects.
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<HttpReply, String>;
    /// GETs a URL with a bearer token (identity and REST probes).
    async fn get_with_bearer(&self, url: &str, bearer: &Secret) -> Result<HttpReply, String>;
    /// POSTs JSON with extra headers (webhooks).
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpReply, String>;
    /// Reads a key from the store.
    async fn store_get(&self, key: &str) -> Result<Option<String>, String>;
    /// Writes a key to the store.
    async fn store_put(&self, key: &str, value: &str) -> Result<(), String>;
    /// Deletes a key from the store.
    async fn store_delete(&self, key: &str) -> Result<(), String>;
    /// The clock, epoch ms.
    fn now_ms(&self) -> u64;
    /// Waits (backoff between token requests).
    async fn sleep_ms(&self, ms: u64);
    /// Whether anyone listens to events (so none are built for nobody).
    fn wants_events(&self) -> bool;
    /// Hands a structured event (a JSON object's text) to the host's `onEvent`.
    fn emit(&self, event_json: &str);
}
