#!/usr/bin/env bash
# Builds and serves the lab on http://127.0.0.1:${PORT:-8080}/ from a fresh
# machine: installs what is missing (idempotently, via .ci/setup), then runs
# Trunk's dev server (release build, COOP/COEP headers for fine timers).
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/setup
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
exec trunk serve index.html --release --address 127.0.0.1 --port "${PORT:-8080}"
