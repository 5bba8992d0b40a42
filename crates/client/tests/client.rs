//! Integration tests of `latchkey-client` against the real server on 127.0.0.1:0, each
//! server test once on SQLite and once on PostgreSQL (`LATCHKEY_TEST_POSTGRES_URL`;
//! `LATCHKEY_TEST_REQUIRE_POSTGRES=1` fails instead of skipping), with the keychain of a
//! real Secret Service when one is on the session bus (`scripts/with-keyring.sh`;
//! `LATCHKEY_TEST_REQUIRE_KEYRING=1` fails instead of falling back). Built for Windows,
//! they run under Wine against its Credential Manager (`scripts/windows-tests.sh`).

// Test code may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client {
    /// Approving a browser sign-in (with a cookie-jar browser on the provider's pages),
    /// the launcher, the applications signed in through Latchkey (issue 16).
    mod approval;
    /// The device's clock 10 minutes off, or set back or forward during a session.
    mod clock;
    /// Helpers: a client app in a temporary folder, the keychain, driving the flows.
    pub mod common;
    /// The server's database restarted while the app refreshes: the app stays signed in.
    /// Linux only (a private PostgreSQL of the test's own): not in the Windows build.
    #[cfg(unix)]
    mod database_restart;
    /// Faults injected by a proxy (reset, lost answer, stall, black hole) in sign-in,
    /// refresh, reset and account actions (issue 21).
    mod faults;
    /// The keychain: a real Secret Service, remember me, forget this device.
    mod keychain;
    /// The keychain going away during a session, and coming back. Linux only (a
    /// Secret Service of the test's own, stopped and started): not in the Windows build.
    #[cfg(unix)]
    mod keychain_loss;
    /// No password, code or token in the log or the app's folders.
    mod leaks;
    /// A refresh whose answer is lost (a fault proxy): the app stays signed in.
    mod lost_answer;
    /// IT's managed settings: the Linux file above the person's and the installer's
    /// choices, the Windows policy key under Wine, offline sign-in turned off.
    mod managed;
    /// Network failures, classified.
    mod network;
    /// Offline sign-in, its limits, and re-validation when the server is back.
    mod offline;
    /// Password reset with the reset code from a real SMTP sink, with and without TOTP.
    mod reset;
    /// Server address, connection test, provisioning.
    mod setup;
    /// Sign-in: password, new-device code, forced change, TOTP, recovery codes,
    /// lockout, maintenance, outdated client, wrong steps.
    mod signin;
}
