//! The store format: the records every instance shares and the keys they live under.

pub mod keys;
pub mod record;
