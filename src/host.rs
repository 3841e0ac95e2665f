//! The host's capabilities as small traits: the one seam between the session logic
//! and the outside world. `Transport` sends, `Store` keeps records, `Clock` tells and
//! waits, `Events` listens, `Crypto` signs. Implemented over JavaScript objects in `wasm/`, and over
//! plain Rust in the tests.

use crate::engine::events::Event;
use crate::secret::Secret;
use std::fmt;

/// A whole HTTP answer from an endpoint the library itself calls (token, introspection, identity, webhook).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// A host capability failed: what it was doing and what it said, without secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    detail: String,
}

impl HostError {
    /// A failure described in words (never holding a token or a value being stored).
    pub fn new(detail: impl Into<String>) -> Self {
        HostError {
            detail: detail.into(),
        }
    }

    /// What happened.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Sending requests: the caller's own, and the library's to Salesforce's endpoints.
/// Redirects are never followed: tokens and secrets must not travel on.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The caller's request as the host holds it (headers, body, signal…).
    type Request;
    /// The host's response, handed back to the caller untouched.
    type Response;
    /// A transport failure of the caller's request, handed back untouched.
    type SendError;

    /// Sends the caller's request to `url` with `Authorization: Bearer`.
    async fn send(
        &self,
        url: &str,
        method: &str,
        request: &Self::Request,
        bearer: &Secret,
    ) -> Result<Self::Response, Self::SendError>;
    /// The reason the caller's request was aborted (its `AbortSignal` fired), if it was.
    fn abort_reason(&self, request: &Self::Request) -> Option<Self::SendError>;
    /// The status of a response.
    fn status(&self, response: &Self::Response) -> u16;
    /// Reads the body of a copy of the response, leaving the original unread.
    async fn peek_body(&self, response: &Self::Response) -> String;
    /// POSTs a form (token, introspection, revocation).
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<HttpReply, HostError>;
    /// GETs a URL with a bearer token (identity and REST probes).
    async fn get_with_bearer(&self, url: &str, bearer: &Secret) -> Result<HttpReply, HostError>;
    /// POSTs JSON with extra headers (webhooks).
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpReply, HostError>;
}

/// The caller's key-value store (`get`/`put`/`delete` of strings), with the lock,
/// fenced write and listing the fleet protocol needs (the JavaScript side supplies the
/// one-isolate versions for stores without them).
#[allow(async_fn_in_trait)]
pub trait Store {
    /// A held lock, handed back to release it.
    type Lock;
    /// Reads a key.
    async fn store_get(&self, key: &str) -> Result<Option<String>, HostError>;
    /// Writes a key.
    async fn store_put(&self, key: &str, value: &str) -> Result<(), HostError>;
    /// Deletes a key.
    async fn store_delete(&self, key: &str) -> Result<(), HostError>;
    /// Writes `value` only if the key still holds `expected` byte for byte (`None`:
    /// only if absent); `false` when it held something else.
    async fn store_compare_and_put(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, HostError>;
    /// Takes the lock of `key` for at most `ttl_ms`; `None` while another holder has it.
    async fn store_lock(&self, key: &str, ttl_ms: u64) -> Result<Option<Self::Lock>, HostError>;
    /// Whether `store_lock` is the store's own, shared with other instances (a store
    /// without one gets a lock that never waits).
    fn store_has_lock(&self) -> bool;
    /// Releases a lock this instance took (a lock that expired and was taken since stays).
    async fn store_unlock(&self, lock: Self::Lock);
    /// The keys under `prefix`.
    async fn store_list(&self, prefix: &str) -> Result<Vec<String>, HostError>;
}

/// Time: the configured clock and waiting.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Epoch ms.
    fn now_ms(&self) -> u64;
    /// Waits (backoff between token requests).
    async fn sleep_ms(&self, ms: u64);
}

/// The caller's `onEvent`.
pub trait Events {
    /// Whether anyone listens (so no event is built for nobody).
    fn wants_events(&self) -> bool;
    /// Hands over one event; its texts must reach the listener without any of `secrets`
    /// (the host serialises it through the redactor).
    fn emit(&self, event: &Event<'_>, secrets: &[&str]);
}

/// Cryptography from the platform (WebCrypto in every runtime), so the module
/// carries none of its own.
#[allow(async_fn_in_trait)]
pub trait Crypto {
    /// HMAC-SHA256 of `data` under `key`, as lowercase hex.
    async fn hmac_sha256_hex(&self, key: &Secret, data: &str) -> Result<String, HostError>;
    /// A compact RS256 JWT over `claims` (JSON text), signed with the private key the
    /// caller gave for connection `id` (which never reaches the module).
    async fn sign_jwt(&self, id: &str, claims: &str) -> Result<Secret, HostError>;
}

/// Everything the engine needs from its host.
pub trait Host: Transport + Store + Clock + Events + Crypto {}

impl<T: Transport + Store + Clock + Events + Crypto> Host for T {}
