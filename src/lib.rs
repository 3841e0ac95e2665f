//! salesforce-session: a sans-IO core of session decisions plus a thin wasm binding.
