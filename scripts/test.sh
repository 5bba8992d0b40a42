#!/usr/bin/env bash
# The test command of the README: sets up a fresh machine, starts PostgreSQL, and runs
# every test of the workspace (UI unit tests, unit tests, integration tests against a
# real server on SQLite and PostgreSQL), then the end-to-end tests of the desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
LATCHKEY_TEST_POSTGRES_URL=$(scripts/postgres.sh | tail -n 1)
export LATCHKEY_TEST_POSTGRES_URL
# A missing PostgreSQL must fail the run, not silently skip half of it.
export LATCHKEY_TEST_REQUIRE_POSTGRES=1

# The client's keychain tests need a real Secret Service: run everything inside a
# private D-Bus session with gnome-keyring, and fail (not skip) if it is not there.
export LATCHKEY_TEST_REQUIRE_KEYRING=1

npm --prefix ui test --silent
scripts/with-keyring.sh cargo test --workspace --locked

# End to end: the real app in a virtual X display, driven through tauri-driver, with
# the same kind of Secret Service. A missing driver or display fails, not skips.
export LATCHKEY_TEST_REQUIRE_E2E=1
scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test --locked -p latchkey --features e2e --test e2e
