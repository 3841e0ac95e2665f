#!/usr/bin/env bash
# Packs pkg/ into the tarball users would install, and installs that tarball into a scratch consumer
# (.scratch/consumer/) holding copies of tests/, demo.mjs, bench.mjs and bench/, so they exercise the packed package.
# Usage: scripts/pack.sh [--skip-build]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
ensure_setup

skip_build=false
for arg in "$@"; do
  case "$arg" in
    --skip-build) skip_build=true ;;
    *) echo "usage: scripts/pack.sh [--skip-build]" >&2; exit 2 ;;
  esac
done
if ! $skip_build; then
  bash scripts/build.sh
fi
if [[ ! -f "$PACKED_WASM" ]]; then
  echo "pkg/ is not built; run scripts/build.sh" >&2
  exit 1
fi

header "pack: npm pack pkg/"
rm -f "$BUILD_DIR"/*.tgz
tarball_name="$(npm pack "$PKG_DIR" --pack-destination "$BUILD_DIR" --json \
  | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s)[0].filename))')"
tarball="$BUILD_DIR/$tarball_name"
tar -tzf "$tarball" | sed 's/^/  /'

header "pack: install the tarball into .scratch/consumer/"
rm -rf "$CONSUMER_DIR"
mkdir -p "$CONSUMER_DIR"
# A name of its own: the consumer must import salesforce-session from node_modules, not by self-reference.
cat >"$CONSUMER_DIR/package.json" <<'JSON'
{
  "name": "salesforce-session-consumer",
  "private": true,
  "type": "module"
}
JSON
(cd "$CONSUMER_DIR" && npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts "$tarball")
# Test files import the package by name and the emulator relatively (../emulator/index.mjs); other
# dev packages resolve by Node walking up to the repository's node_modules.
mkdir -p "$CONSUMER_DIR/tests"
if [[ -d tests ]]; then
  cp -R tests/. "$CONSUMER_DIR/tests/"
fi
for script in demo.mjs bench.mjs; do
  if [[ -f "scripts/$script" ]]; then
    cp "scripts/$script" "$CONSUMER_DIR/$script"
  fi
done
# bench.mjs's sections (bench/*.mjs beside it).
if [[ -d scripts/bench ]]; then
  cp -R scripts/bench "$CONSUMER_DIR/bench"
fi
echo "installed $(node -p 'require(process.argv[1]).version' "$CONSUMER_DIR/node_modules/salesforce-session/package.json") from ${tarball#"$REPO_ROOT"/} into ${CONSUMER_DIR#"$REPO_ROOT"/}"
