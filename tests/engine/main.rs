//! The engine over a plain-Rust host: a tiny Salesforce (tokens bound to a source
//! address, rotation, revocation) and a shared in-memory store, driven on a local
//! executor so that concurrency is real (many calls in flight at once). One file per concern.
#![cfg(not(target_arch = "wasm32"))]

mod support;

mod fleet;
mod hot_path;
mod ip_lock;
mod refresh_failures;
mod revocation;
mod rotation;
mod single_flight;
