//! salesforce-session: keeps Salesforce sessions alive and says which root cause
//! is behind an `INVALID_SESSION_ID`.
//!
//! A sans-IO core of pure decisions (`origin`, `token`, `sf_error`, `classify`,
//! `policy`) and the JSON they read and write (`json`), an engine that sequences
//! them over a [`host::Host`], and a thin wasm binding (`wasm`) that implements the
//! host over JavaScript objects.
#![deny(missing_docs)]
// Errors are the cold path and carry their evidence by value; boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod config;
pub mod decide;
pub mod engine;
pub mod error;
pub mod host;
pub mod json;
pub mod secret;
pub mod store;
pub mod webhook;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

/// Talc instead of the default dlmalloc: a fraction of its code in the module,
/// and faster. The module is single-threaded (no `atomics`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
