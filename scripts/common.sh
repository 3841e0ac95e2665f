# Shared by the scripts in this folder (sourced, not run): repository paths, headers, size figures.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE_LIB="salesforce_session"
WASM_TARGET="wasm32-unknown-unknown"
BUILD_DIR="$REPO_ROOT/build"
PKG_DIR="$REPO_ROOT/pkg"
CONSUMER_DIR="$REPO_ROOT/.scratch/consumer"
PACKED_WASM="$PKG_DIR/${CRATE_LIB}_bg.wasm"
# MISSION.md: at or under 96 KiB gzipped with every feature in. The size step fails above it and
# prints the largest functions (scripts/wasm-top.mjs); the engine's async state machines lead.
WASM_GZIP_BUDGET_BYTES=$((96 * 1024))

# The wasm-bindgen version pinned in Cargo.toml (`wasm-bindgen = "=X"`): the CLI must match it exactly.
pinned_wasm_bindgen_version() {
  local version
  version="$(sed -n 's/^wasm-bindgen *= *"=\([0-9][0-9.]*\)".*/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1)"
  if [[ -z "$version" ]]; then
    echo "Cargo.toml must pin wasm-bindgen exactly (wasm-bindgen = \"=X.Y.Z\")" >&2
    return 1
  fi
  printf '%s\n' "$version"
}

header() {
  printf '\n== %s ==\n' "$*"
}

wasm_raw_bytes() {
  wc -c <"$1" | tr -d ' '
}

wasm_gzip_bytes() {
  gzip -9 -c "$1" | wc -c | tr -d ' '
}

print_wasm_size() {
  local file="$1"
  printf '%s: %s bytes raw, %s bytes gzipped\n' \
    "${file#"$REPO_ROOT"/}" "$(wasm_raw_bytes "$file")" "$(wasm_gzip_bytes "$file")"
}

# Runs scripts/setup.sh once per top-level command, however many scripts that command chains.
ensure_setup() {
  if [[ "${SALESFORCE_SESSION_SETUP_DONE:-}" != "$REPO_ROOT" ]]; then
    header "setup"
    bash "$REPO_ROOT/scripts/setup.sh"
    export SALESFORCE_SESSION_SETUP_DONE="$REPO_ROOT"
  fi
}
