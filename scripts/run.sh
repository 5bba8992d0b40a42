#!/usr/bin/env bash
# The run command of the README: builds everything, starts the reference server on
# 127.0.0.1:8433 with a demo account (SQLite in .demo/, codes and mails in
# .demo/outbox/), and opens the desktop app when a display is available.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --release --locked -p latchkey-server
# custom-protocol embeds ui/dist; without it the app would load the Vite dev server.
cargo build --release --locked -p latchkey --features tauri/custom-protocol

mkdir -p .demo/outbox
export LATCHKEY_DATABASE_URL="sqlite://$PWD/.demo/latchkey.db"
export LATCHKEY_OUTBOX_DIR="$PWD/.demo/outbox"
export LATCHKEY_BIND="${LATCHKEY_BIND:-127.0.0.1:8433}"
export LATCHKEY_SERVER="http://$LATCHKEY_BIND"
# The demo's own key for TOTP secrets at rest (kept in .demo/, mode 0600), so that the
# authenticator setup works in the demo; a real deployment sets its own.
if [ ! -s .demo/secret_key ]; then
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .demo/secret_key)
fi
LATCHKEY_SECRET_KEY=$(cat .demo/secret_key)
export LATCHKEY_SECRET_KEY

target/release/latchkey-server demo
target/release/latchkey-server serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  target/release/latchkey
else
  echo "No display: only the server runs (Ctrl-C to stop)."
  wait $server
fi
