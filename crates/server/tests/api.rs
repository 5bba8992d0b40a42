//! Integration tests of `latchkey-server` over real HTTP on 127.0.0.1, each run
//! against SQLite and against PostgreSQL (`LATCHKEY_TEST_POSTGRES_URL`; CI sets
//! `LATCHKEY_TEST_REQUIRE_POSTGRES=1` so that a missing database fails the run instead
//! of skipping it). The harness (the server, its API as the tests call it, the SMTP
//! sink and the SMS gateway) is `latchkey-testkit`'s, shared with the client's tests.

// Test helpers may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api {
    mod admin;
    mod admin_cli;
    mod bad_input;
    mod config;
    mod connections;
    mod delivery;
    mod devices;
    mod directory;
    mod faults;
    mod forced_change;
    mod idempotency;
    mod limits;
    mod lockout;
    mod login;
    mod maintenance;
    mod me;
    mod meta;
    mod multi_process;
    mod oidc;
    mod ops;
    mod password;
    mod reset;
    mod review;
    mod session_tokens;
    mod sessions;
    mod totp;
}
