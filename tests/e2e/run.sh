#!/usr/bin/env bash
# Browser end-to-end tests: builds the site and lab-cli, serves dist/ on
# 127.0.0.1 (a free port), runs tests/e2e/*.test.mjs with node's test runner
# against Debian Chromium, and stops the server on exit.
# SKIP_BUILD=1 reuses an existing dist/ and target/release/lab-cli.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"

if [ ! -d node_modules/playwright-core ] || [ ! -x node_modules/.bin/wasm-opt ]; then
  npm ci --no-audit --no-fund
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  trunk build index.html --release
  cargo build --release --locked -p lab-cli
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory dist >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 50); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/')" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

export LAB_URL="http://127.0.0.1:$PORT/"
export LAB_CLI="$PWD/target/release/lab-cli"
node --test --test-concurrency=1 tests/e2e/
