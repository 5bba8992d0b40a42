#!/usr/bin/env bash
# The run command of the README: builds everything, starts the reference server on
# 127.0.0.1:8433 with a demo account (SQLite in .demo/, codes and mails in
# .demo/outbox/) and the example office application on 127.0.0.1:8090 that signs in
# with it over OpenID Connect, and opens the desktop app when a display is available.
# `--directory` also starts a demo company directory (scripts/directory-demo.sh: slapd
# on 127.0.0.1:3389) and signs its people in against it (issue 19).
set -euo pipefail
cd "$(dirname "$0")/.."

with_directory=false
for arg in "$@"; do
  case "$arg" in
    --directory) with_directory=true ;;
    *) echo "usage: scripts/run.sh [--directory]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
cargo build --release --locked -p latchkey-server -p office-app
# custom-protocol embeds ui/dist; without it the app would load the Vite dev server.
cargo build --release --locked -p latchkey --features tauri/custom-protocol

mkdir -p .demo/outbox
export LATCHKEY_DATABASE_URL="sqlite://$PWD/.demo/latchkey.db"
export LATCHKEY_OUTBOX_DIR="$PWD/.demo/outbox"
export LATCHKEY_BIND="${LATCHKEY_BIND:-127.0.0.1:8433}"
export LATCHKEY_SERVER="http://$LATCHKEY_BIND"
# The server is also the OpenID Connect provider of the office applications.
export LATCHKEY_OIDC__ISSUER="http://$LATCHKEY_BIND"
# The demo's own key for TOTP secrets and signing keys at rest (kept in .demo/, mode
# 0600), so that the authenticator setup and the provider work in the demo; a real
# deployment sets its own.
if [ ! -s .demo/secret_key ]; then
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .demo/secret_key)
fi
LATCHKEY_SECRET_KEY=$(cat .demo/secret_key)
export LATCHKEY_SECRET_KEY

target/release/latchkey-server demo
slapd_pid=
if $with_directory; then
  directory_settings=$(scripts/directory-demo.sh)
  eval "$(echo "$directory_settings" | grep '^export ')"
  slapd_pid=$(echo "$directory_settings" | tail -n 1)
  target/release/latchkey-server directory check
  echo "Directory account: li.wei@corp.example (or username liwei, or phone +8613700137000)"
  echo "Its password:      Harbor-lantern-violet-2026   (checked by the directory, changed there too)"
fi
# The demo account is also the demo admin of IT's console (issue 18).
target/release/latchkey-server admin grant --identifier demo --role admin >/dev/null 2>&1 || true
echo "IT console:        $LATCHKEY_OIDC__ISSUER/admin   (demo is its admin; turn on two-step verification in the app first)"

# The example office application, registered afresh at every run: its secret is
# printed once at registration and stored hashed, and its address may have changed.
office_bind="${OFFICE_APP_BIND:-127.0.0.1:8090}"
if target/release/latchkey-server client show --id office-app >/dev/null 2>&1; then
  target/release/latchkey-server client remove --id office-app >/dev/null
fi
office_secret=$(target/release/latchkey-server client add --id office-app --name "Office app" \
  --redirect-uri "http://$office_bind/callback" --redirect-uri "http://$office_bind/" \
  --first-party --launch-url "http://$office_bind/login" | sed -n 's/^client_secret: //p')

target/release/latchkey-server serve &
server=$!
office=
trap 'kill $server $office $slapd_pid 2>/dev/null || true' EXIT

# The office application reads the provider's discovery document when it starts.
for _ in $(seq 50); do
  kill -0 $server 2>/dev/null || { echo "The server did not start." >&2; exit 1; }
  curl -fs "$LATCHKEY_OIDC__ISSUER/.well-known/openid-configuration" >/dev/null && break
  sleep 0.2
done
OFFICE_APP_BIND="$office_bind" \
OFFICE_APP_ISSUER="$LATCHKEY_OIDC__ISSUER" \
OFFICE_APP_CLIENT_ID=office-app \
OFFICE_APP_CLIENT_SECRET="$office_secret" \
OFFICE_APP_REDIRECT_URI="http://$office_bind/callback" \
  target/release/office-app &
office=$!
echo "Open http://$office_bind and sign in as demo@latchkey.example (the device code is in .demo/outbox/)"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  target/release/latchkey
else
  echo "No display: only the server and the office application run (Ctrl-C to stop)."
  wait $server
fi
