//! Pure decisions over plain data: which origins may see a token, which root cause
//! a failure is, when to refresh, what a read-only org allows.

pub mod classify;
pub mod origin;
pub mod policy;
pub mod redact;
pub mod token_failure;
