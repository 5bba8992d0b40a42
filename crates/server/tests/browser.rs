//! The browser sign-in pages of the OpenID Connect provider (issue 15) in a real
//! browser: Debian's `chromium`, headless, driven through `chromedriver` over WebDriver
//! (fantoccini), against a real `latchkey-server` on 127.0.0.1 with a real SMTP sink
//! (`latchkey-testkit`). Each journey runs with a browser set to English and with one
//! set to Simplified Chinese, and ends where an application would: at its redirect URI,
//! whose code the test exchanges.
//!
//! Needs `chromium` and `chromium-driver` (`scripts/setup.sh` installs them); without
//! them the tests are skipped with a note, unless `LATCHKEY_TEST_REQUIRE_BROWSER=1`.
//! Every run saves a screenshot of each page to `target/browser-screenshots/`;
//! `LATCHKEY_SCREENSHOTS=1` saves them to `docs/screenshots/oidc/` instead:
//!
//! ```sh
//! LATCHKEY_TEST_REQUIRE_BROWSER=1 cargo test -p latchkey-server --test browser
//! ```

// A failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Debian's chromium and its driver, stopped by process group: a Unix test. On Windows
// this binary builds empty (the Windows build of the workspace covers every target).
#![cfg(unix)]

mod browser {
    mod console;
    mod journeys;
    pub mod site;
}
