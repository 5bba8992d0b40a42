#!/usr/bin/env bash
# Checks, here, the part of the release workflow that Linux can run: Tauri's bundler with
# tauri.release.conf.json laid over tauri.conf.json makes the .deb and .rpm with their
# updater signatures, and each signature verifies with the public key — by Debian's
# minisign, not by Tauri — while a signature checked against another file does not.
# From the dev build (`tauri build --debug`), with a key pair made for the run; the
# release uses the `desktop` profile and the company's key (docs/deploying.md).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v minisign >/dev/null || { echo "minisign is missing: run scripts/setup.sh"; exit 1; }
export CARGO_PROFILE_DEV_DEBUG=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
password=release-check
ui/node_modules/.bin/tauri signer generate --ci -f -p "$password" -w "$tmp/updater.key" >/dev/null
# The public key the app would carry (plugins.updater.pubkey), for this run only.
printf '{"plugins":{"updater":{"pubkey":"%s"}}}\n' "$(cat "$tmp/updater.key.pub")" >"$tmp/updater.json"
out=target/debug/bundle
rm -rf "$out/deb" "$out/rpm"
TAURI_SIGNING_PRIVATE_KEY=$(cat "$tmp/updater.key") TAURI_SIGNING_PRIVATE_KEY_PASSWORD=$password \
  ui/node_modules/.bin/tauri build --ci --debug --bundles deb,rpm \
  --config tauri.release.conf.json --config "$tmp/updater.json" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; echo "tauri build failed"; exit 1; }

# Tauri writes minisign's files in base64.
base64 -d <"$tmp/updater.key.pub" >"$tmp/pub"
passed=0 failed=0
check() { # name, command…
  if "${@:2}" >"$tmp/check.log" 2>&1; then
    passed=$((passed + 1)) && echo "ok: $1"
  else
    failed=$((failed + 1)) && echo "FAILED: $1" && cat "$tmp/check.log"
  fi
}
verifies() { base64 -d <"$2" >"$tmp/sig" && minisign -V -q -p "$tmp/pub" -x "$tmp/sig" -m "$1"; }
refused() { ! verifies "$@"; }
deb=$(find "$out/deb" -maxdepth 1 -name '*.deb')
rpm=$(find "$out/rpm" -maxdepth 1 -name '*.rpm')
check "a .deb was made" test -f "$deb"
check "an .rpm was made" test -f "$rpm"
check ".deb signature verifies" verifies "$deb" "$deb.sig"
check ".rpm signature verifies" verifies "$rpm" "$rpm.sig"
check "the .rpm's signature does not verify the .deb" refused "$deb" "$rpm.sig"
echo "release-check: $passed passed, $failed failed"
((failed == 0))
