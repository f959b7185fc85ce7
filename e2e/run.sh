#!/usr/bin/env bash
# make e2e: the /docs page in Debian's headless Chromium. Installs what it
# needs (Debian's chromium if missing, playwright-core from e2e's lock
# file into e2e/node_modules), builds the binary, runs e2e/docs.mjs, and
# saves the screenshot to target/e2e/docs.png (the path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "== installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "== playwright-core (e2e/node_modules)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

echo "== cargo build (userhub)"
cargo build -p userhub-api --bin userhub

echo "== /docs in headless chromium"
node e2e/docs.mjs target/debug/userhub target/e2e/docs.png
