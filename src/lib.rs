//! salesforce-session: keeps Salesforce sessions alive and says which root cause
//! is behind an `INVALID_SESSION_ID`.
//!
//! The map:
//! - [`wire`]: what Salesforce sends, read into plain data (token responses, error
//!   bodies, introspection), and the JSON codec.
//! - [`grant`]: every request to an OAuth endpoint, one file per grant, as plain data.
//! - [`decide`]: pure decisions (origins, root causes, refresh timing, read-only orgs).
//! - [`store`]: the stored records and their keys.
//! - [`engine`]: sequences all of it over the [`host`] capabilities, one file per concern.
//! - `wasm` (wasm32 only): the exported class and the host over JavaScript objects,
//!   every conversion in `wasm::convert`.
//! - [`error`], [`secret`], [`config`], [`text`]: the error type, secret types,
//!   options and substring search.
#![deny(missing_docs)]
// Errors are the cold path and carry their evidence by value; boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod config;
pub mod decide;
pub mod engine;
pub mod error;
pub mod grant;
pub mod host;
pub mod secret;
pub mod store;
pub mod text;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

/// Talc instead of the default dlmalloc: a fraction of its code in the module,
/// and faster. The module is single-threaded (no `atomics`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
