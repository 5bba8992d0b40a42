#!/usr/bin/env bash
# The test command of the README: sets up a fresh machine, starts PostgreSQL, and runs
# every test of the workspace (UI unit tests, unit tests, integration tests against a
# real server on SQLite and PostgreSQL, the sign-in pages in headless chromium, the
# server's metrics in a real Prometheus and its container image under podman), the
# macOS and Windows (MSVC) type-checks, the Windows build with its tests under Wine, the end-to-end tests
# of the desktop app, then the release's updater signatures.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
LATCHKEY_TEST_POSTGRES_URL=$(scripts/postgres.sh | tail -n 1)
export LATCHKEY_TEST_POSTGRES_URL
# A missing PostgreSQL must fail the run, not silently skip half of it.
export LATCHKEY_TEST_REQUIRE_POSTGRES=1
# The directory tests start their own slapd (crates/testkit/src/slapd.rs); a missing
# slapd fails them instead of skipping them.
export LATCHKEY_TEST_REQUIRE_LDAP=1

# The client's keychain tests need a real Secret Service: run everything inside a
# private D-Bus session with gnome-keyring, and fail (not skip) if it is not there.
export LATCHKEY_TEST_REQUIRE_KEYRING=1

npm --prefix ui test --silent
# The release workflow, which only GitHub's runners can run, checked by actionlint.
scripts/workflow-lint.sh

# The OIDC sign-in pages in headless chromium (crates/server/tests/browser.rs) run
# beside the other tests: they share nothing with them (their own servers, ports,
# browser profiles and folders). Everything is built first, so neither waits on the
# other's build. A missing chromium or chromedriver fails, not skips.
cargo test --workspace --locked --no-run --quiet

# The server's .deb and container image (issue 22), from a dev build of the static
# binary (a release build would cost minutes more for the same checks), in a target
# folder of its own so that it never holds the tests' build lock; it runs beside the
# tests below, and the image's test runs once they are done.
packages_log=target/server-packages.log
image=localhost/latchkey-server:test
CARGO_TARGET_DIR=target/server-packages scripts/server-packages.sh --profile dev --tag "$image" \
  >"$packages_log" 2>&1 &
packages=$!

browser_log=target/browser-tests.log
LATCHKEY_TEST_REQUIRE_BROWSER=1 cargo test --locked -p latchkey-server --test browser \
  >"$browser_log" 2>&1 &
browser_tests=$!
workspace_status=0
# The metrics test scrapes with a real Prometheus: missing, it fails.
LATCHKEY_TEST_REQUIRE_PROMETHEUS=1 scripts/with-keyring.sh cargo test --workspace --locked -- \
  --skip browser::journeys:: --skip browser::console:: --skip ops::container:: || workspace_status=$?
browser_status=0
wait "$browser_tests" || browser_status=$?
if ((browser_status)); then
  cat "$browser_log"
  echo "the browser tests failed (log: $browser_log)"
else
  grep "test result" "$browser_log"
fi
((workspace_status == 0 && browser_status == 0)) || exit 1

# The container image, built above, started with podman on SQLite and PostgreSQL.
if ! wait "$packages"; then
  cat "$packages_log"
  echo "building the server's packages failed (log: $packages_log)"
  exit 1
fi
cat "$packages_log"
LATCHKEY_TEST_REQUIRE_CONTAINER=1 LATCHKEY_TEST_IMAGE="$image" \
  cargo test --locked -p latchkey-server --test api -- ops::container::

# The targets only the release workflow builds, type-checked: macOS (every crate with
# its tests, Apple silicon and Intel) and Windows with MSVC; no Apple SDK, no Visual
# Studio (docs/deploying.md, "macOS").
scripts/cross-check.sh

# The Windows build: every crate for x86_64-pc-windows-gnu, and the tests of the client
# core, the policy and the wire types under Wine (against Wine's Credential Manager, on
# SQLite and on this PostgreSQL). README "Windows" says what does not run there.
scripts/windows-tests.sh

# End to end: the real app in a virtual X display, driven through tauri-driver, with
# the same kind of Secret Service, and a headless chromium on the example office app
# for the journeys where the window approves a browser's sign-in. A missing driver,
# display or browser fails, not skips.
export LATCHKEY_TEST_REQUIRE_E2E=1 LATCHKEY_TEST_REQUIRE_BROWSER=1
scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test --locked -p latchkey --features e2e --test e2e

# The release's updater signatures: Tauri's bundler with tauri.release.conf.json makes
# the .deb and .rpm with signatures that Debian's minisign verifies (after the end-to-end
# tests, whose build of the app this one would otherwise replace midway).
scripts/release-check.sh
