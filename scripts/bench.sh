#!/usr/bin/env bash
# Measures per-call overhead and throughput of the packed package against a bare fetch (bench.mjs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
ensure_setup
bash scripts/pack.sh

header "bench"
if [[ ! -f "$CONSUMER_DIR/bench.mjs" ]]; then
  echo "scripts/bench.mjs does not exist yet" >&2
  exit 1
fi
node --expose-gc "$CONSUMER_DIR/bench.mjs" "$@"
