//! The OpenID Connect provider of `latchkey-server` checked by an independent relying
//! party (issue 15): the `openidconnect` crate reads its discovery document, verifies
//! its ID tokens against its JWKS and calls its endpoints, and the example application
//! signs in and out through its browser pages. Each test runs on SQLite and on
//! PostgreSQL (`LATCHKEY_TEST_POSTGRES_URL`; `LATCHKEY_TEST_REQUIRE_POSTGRES=1` makes a
//! missing database fail the run instead of skipping it).

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod provider {
    mod app;
    mod browser;
    mod discovery;
    mod flow;
    mod form;
    mod logout;
    mod server;
    mod sign_in;
    mod tokens;
}
