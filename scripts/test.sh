#!/usr/bin/env bash
# The one test command (npm test, CI): lint, Rust tests on host and wasm, build and pack, size budget,
# and the Node, workerd, Chromium and TypeScript suites run against the packed package. Stops at the first failing step.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

passed=0

# Runs one step in a subshell with errexit in force (it would be ignored inside `if` or `||`).
step() {
  local name="$1"
  shift
  header "$name"
  local started=$SECONDS status=0
  set +e
  ("$@")
  status=$?
  set -e
  if ((status != 0)); then
    printf -- '-- %s: FAILED (exit %s)\n\n%s passed, 1 failed\n' "$name" "$status" "$passed"
    exit "$status"
  fi
  passed=$((passed + 1))
  printf -- '-- %s: passed in %ss\n' "$name" "$((SECONDS - started))"
}

skipped() {
  header "$1"
  printf -- '-- %s: skipped (%s)\n' "$1" "$2"
}

setup() {
  set -e
  bash scripts/setup.sh
}

rustfmt_check() {
  set -e
  cargo fmt --all -- --check
}

clippy_host() {
  set -e
  cargo clippy --all-targets -- -D warnings
}

clippy_wasm() {
  set -e
  cargo clippy --target "$WASM_TARGET" --all-targets -- -D warnings
}

rust_tests_host() {
  set -e
  cargo test
}

# wasm_bindgen_test tests, run in Node by wasm-bindgen-test-runner (which `-q` would break).
rust_tests_wasm() {
  set -e
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --target "$WASM_TARGET"
}

build_and_pack() {
  set -e
  bash scripts/build.sh
  bash scripts/pack.sh --skip-build
}

wasm_size_budget() {
  set -e
  local raw gzipped
  raw="$(wasm_raw_bytes "$PACKED_WASM")"
  gzipped="$(wasm_gzip_bytes "$PACKED_WASM")"
  printf 'pkg/%s: %s bytes raw, %s bytes gzipped; budget %s bytes gzipped\n' \
    "$(basename "$PACKED_WASM")" "$raw" "$gzipped" "$WASM_GZIP_BUDGET_BYTES"
  # Where the bytes are: the largest functions, named from the unoptimised module's name section.
  node scripts/wasm-top.mjs "$BUILD_DIR/bindgen/${CRATE_LIB}_bg.wasm" 12
  if ((gzipped > WASM_GZIP_BUDGET_BYTES)); then
    echo "the gzipped .wasm is over budget by $((gzipped - WASM_GZIP_BUDGET_BYTES)) bytes" >&2
    return 1
  fi
}

# Runs node --test over the given test files, from inside the scratch consumer. A hung suite is
# stopped (with every process it started) rather than left to hold CI.
node_suite_timeout_seconds="${NODE_SUITE_TIMEOUT_SECONDS:-300}"
node_suite() {
  set -e
  cd "$CONSUMER_DIR"
  local status=0
  timeout --kill-after=10 "$node_suite_timeout_seconds" node --test "$@" || status=$?
  if ((status == 124 || status == 137)); then
    echo "node --test did not finish within ${node_suite_timeout_seconds}s (NODE_SUITE_TIMEOUT_SECONDS)" >&2
  fi
  return "$status"
}

# Every *.test.mjs in a tests/ folder, as paths relative to the consumer (empty when there are none).
suite_files() {
  local file
  for file in "$CONSUMER_DIR/tests/$1"/*.test.mjs; do
    if [[ -f "$file" ]]; then
      printf '%s\n' "${file#"$CONSUMER_DIR"/}"
    fi
  done
}

step "setup" setup
export SALESFORCE_SESSION_SETUP_DONE="$REPO_ROOT"
step "rustfmt" rustfmt_check
step "clippy (host)" clippy_host
step "clippy ($WASM_TARGET)" clippy_wasm
step "cargo test (host)" rust_tests_host
step "wasm-bindgen-test ($WASM_TARGET in Node)" rust_tests_wasm
step "build and pack" build_and_pack
step "wasm size budget" wasm_size_budget

# emulator and node: Node suites; browser: Chromium (a page and an MV3 extension service worker);
# types: tsc --strict over a TypeScript consumer, nodenext and bundler resolution.
# workerd: the test worker is bundled by wrangler from the consumer's installed package (once per
# run) and runs in Miniflare's workerd.
# redis: RedisStore against a redis-server the suite starts itself (setup.sh installs it), with
# node-redis and ioredis, and a two-process fleet sharing it.
for suite in emulator node redis workerd browser types; do
  mapfile -t files < <(suite_files "$suite")
  if ((${#files[@]})); then
    step "node --test tests/$suite (packed package)" node_suite "${files[@]}"
  else
    skipped "node --test tests/$suite (packed package)" "no tests/$suite/*.test.mjs yet"
  fi
done

# The demo checks what it shows and exits non-zero when a root cause is not handled as it says.
demo_smoke() {
  set -e
  cd "$CONSUMER_DIR"
  node demo.mjs >/dev/null
}
step "demo (packed package)" demo_smoke

printf '\n%s passed, 0 failed\n' "$passed"
