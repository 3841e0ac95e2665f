#!/usr/bin/env bash
# Builds the npm package in pkg/: release wasm, JS bindings, wasm-opt, the JS wrapper and the package manifest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
ensure_setup

header "build: cargo (release, $WASM_TARGET)"
# Keep the target_features section (a full strip drops it): wasm-bindgen and wasm-opt read it to
# know which wasm features (bulk memory, ...) the module uses. wasm-opt strips the rest.
CARGO_PROFILE_RELEASE_STRIP=debuginfo cargo build --release --target "$WASM_TARGET"

header "build: wasm-bindgen --target web"
rm -rf "$BUILD_DIR/bindgen"
wasm-bindgen --target web --out-dir "$BUILD_DIR/bindgen" \
  "target/$WASM_TARGET/release/$CRATE_LIB.wasm"

header "build: wasm-opt -Oz"
rm -rf "$PKG_DIR"
mkdir -p "$PKG_DIR"
# The npm binaryen, by path: an older system wasm-opt emits modules that fail to instantiate.
# --converge repeats -Oz while it still shrinks the module; the custom sections that only
# tools read (producers, target features) are dropped from what ships.
# --flatten --rereloop then -Oz again restructures the engine's async state machines smaller;
# --gufa (whole-program type flow) then removes what it proves unreachable or constant.
node_modules/.bin/wasm-opt -Oz --converge --flatten --rereloop -Oz --converge --gufa -Oz \
  --strip-debug --strip-producers --strip-target-features \
  "$BUILD_DIR/bindgen/${CRATE_LIB}_bg.wasm" -o "$PACKED_WASM"

header "build: assemble pkg/"
# Only the web-target glue; the hand-written js/index.d.ts is the package's type surface.
cp "$BUILD_DIR/bindgen/$CRATE_LIB.js" "$PKG_DIR/"
if [[ -d "$BUILD_DIR/bindgen/snippets" ]]; then
  cp -R "$BUILD_DIR/bindgen/snippets" "$PKG_DIR/"
fi
cp -R js/. "$PKG_DIR/"
# Short import names in the .wasm and the glue: the generated ones carry a hash each.
node scripts/short-imports.mjs "$PACKED_WASM" "$PKG_DIR/$CRATE_LIB.js"
cp pkg-template/package.json pkg-template/README.md "$PKG_DIR/"

header "build: bundle the Node entry"
# Node loads one module for the entry instead of seven (each costs it a millisecond or two at
# start-up). errors.js and stores/memory.js stay modules of their own: the stores import them
# too, and one SalesforceSessionError and one MemoryStore class must serve both.
node_modules/.bin/esbuild "$PKG_DIR/node.js" --bundle --format=esm --platform=node --target=node20 \
  --external:./errors.js --external:./stores/memory.js --legal-comments=none --log-level=warning \
  --outfile="$PKG_DIR/node.js" --allow-overwrite

header "build: size"
print_wasm_size "$BUILD_DIR/bindgen/${CRATE_LIB}_bg.wasm"
print_wasm_size "$PACKED_WASM"
