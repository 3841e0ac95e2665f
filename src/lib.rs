//! salesforce-session: a sans-IO core of session decisions plus a thin wasm binding.

#[cfg(target_arch = "wasm32")]
mod wasm {
    use wasm_bindgen::prelude::*;

    /// Placeholder export so the build pipeline has something to bind.
    #[wasm_bindgen]
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }
}
