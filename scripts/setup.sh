#!/usr/bin/env bash
# Installs what building and testing need (wasm target, wasm-bindgen CLI, npm dev packages); quick when all is present.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
  rustup target add "$WASM_TARGET"
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

# The CLI must be the exact version the crate links against. No --locked: one locked
# dependency version of the CLI is not available to this toolchain's registry.
bindgen_version="$(pinned_wasm_bindgen_version)"
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  echo "installing wasm-bindgen-cli $bindgen_version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# System packages a suite needs, installed only when missing: chromium for the browser suites
# (tests/browser, driven by playwright-core; never a browser download of playwright's own) and
# redis-server for tests/redis (the suite starts its own server on a free loopback port).
apt_packages=(chromium redis-server)
missing_apt_packages=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
    || missing_apt_packages+=("$package")
done
if ((${#missing_apt_packages[@]})); then
  sudo_cmd=()
  [[ "$(id -u)" == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing_apt_packages[@]}"
fi

# npm dev packages: reinstalled only when the lockfile changed since the last install.
install_stamp="node_modules/.installed-from-lockfile"
if [[ ! -f package-lock.json ]]; then
  npm install --no-audit --no-fund
  touch "$install_stamp"
elif [[ ! -f "$install_stamp" || package-lock.json -nt "$install_stamp" ]]; then
  npm ci --no-audit --no-fund
  touch "$install_stamp"
fi

# The consumer must resolve salesforce-session from the packed tarball, never from here.
if [[ -e node_modules/salesforce-session ]]; then
  echo "node_modules/salesforce-session must not exist at the repository root; remove it" >&2
  exit 1
fi

echo "toolchain ready: $(rustc --version), wasm-bindgen $bindgen_version, node $(node --version), wasm-opt $(node_modules/.bin/wasm-opt --version | awk '{print $3}')"
