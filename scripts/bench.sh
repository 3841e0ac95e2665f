#!/usr/bin/env bash
# Measures the packed package side by side with a bare fetch and jsforce on the emulator (bench.mjs):
# one table, then one JSON line. Figures only; about 1.5 minutes on 2 cores (BENCH_QUICK=1: shorter).
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
cd "$CONSUMER_DIR"
BENCH_TARBALL_DIR="$BUILD_DIR" node --expose-gc bench.mjs "$@"
