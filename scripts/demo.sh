#!/usr/bin/env bash
# Shows the library working end to end: builds and packs, then runs demo.mjs against the installed package.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
ensure_setup
bash scripts/pack.sh

header "demo"
node "$CONSUMER_DIR/demo.mjs" "$@"
