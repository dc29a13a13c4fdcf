#!/usr/bin/env bash
# Runs every test of the lab, from a fresh machine: installs what is missing
# (idempotently, via .ci/setup), then native unit + property + conformance
# tests of every crate, the engine's WebAssembly test in headless Chromium
# (fingerprints equal to the native golden values), the release build of the
# site and the browser end-to-end tests (Playwright + Debian Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/setup
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# A test run is not an edit loop: incremental caches would only cost disk.
export CARGO_INCREMENTAL=0

echo "== disk free before building: $(df -h . | awk 'NR==2 {print $4}')"

echo "== native tests (all crates)"
cargo test --workspace --locked

echo "== engine in WebAssembly, headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked --target wasm32-unknown-unknown --test wasm_core

echo "== browser end-to-end (release build of the site)"
./tests/e2e/run.sh

echo "== disk free after all tests: $(df -h . | awk 'NR==2 {print $4}'); target/ holds $(du -sh target | cut -f1)"

