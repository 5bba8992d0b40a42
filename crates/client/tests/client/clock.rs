//! Clocks (issue 21, item 6): the device's clock 10 minutes off, in either direction,
//! changes nothing a person can see. Most tests move the injected [`ManualClock`] (the
//! server runs in this process, on the real clock, and the server's clock moves with
//! `advance` to age tokens without waiting): [`ManualClock::advance`] is time passing,
//! [`ManualClock::set`] a person or the network time service setting the wall clock.
//! One runs the app as a real process under libfaketime, with its real clock set back.
//!
//! - An access token's lifetime is the server's `expires_in`, counted from the answer
//!   on a clock setting the wall clock does not move: a clock set back during a
//!   session no longer makes the app send an expired token (it did: the person saw
//!   "session expired").
//! - A clock 10 minutes off from the start: TOTP codes are checked on the server's
//!   clock (the app never computes or checks one), access tokens are refreshed when
//!   the server's lifetime runs out, and the offline limits (7 days, 5 tries) are
//!   counted as before: the window from the app's own reading at the last online
//!   sign-in, so a constant error cancels out.
//!
//! [`ManualClock`]: latchkey_client::clock::ManualClock
//! [`ManualClock::advance`]: latchkey_client::clock::ManualClock::advance
//! [`ManualClock::set`]: latchkey_client::clock::ManualClock::set

use latchkey_client::clock::Clock;
#[cfg(unix)]
use latchkey_client::clock::SystemClock;
use latchkey_client::{ClientError, Step};
use latchkey_proto::MfaMethod;
use latchkey_testkit::{on_both, Backend, TestServer, SECRET_KEY};

use super::common::*;

on_both!(
    a_clock_set_back_during_a_session_sends_no_expired_token,
    a_clock_ten_minutes_off_changes_nothing,
);

async fn a_clock_set_back_during_a_session_sends_no_expired_token(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("set-back@corp.cn", PASSWORD).await;
    let mut app = App::new(&srv.base(), store());
    app.client.start().await;
    signed_in(&mut app, &srv, "set-back@corp.cn", PASSWORD, false).await;
    app.client.profile().await.unwrap();
    // The clock is corrected 10 minutes back, then 15 minutes pass: the access token
    // (15 minutes) has expired on the server, while the wall clock says 5 minutes.
    app.clock.set(app.clock.now() - 600);
    app.clock.advance(15 * 60);
    srv.advance(15 * 60);
    let profile = app.client.profile().await;
    assert!(profile.is_ok(), "{profile:?}");
    // And corrected 10 minutes forward: at most an early refresh.
    app.clock.set(app.clock.now() + 600);
    app.clock.advance(60);
    srv.advance(60);
    app.client.profile().await.unwrap();
    assert!(matches!(
        app.client.step(),
        Step::SignedIn { offline: false, .. }
    ));
}

async fn a_clock_ten_minutes_off_changes_nothing(b: Backend) {
    for offset in [-600_i64, 600] {
        let Some(mut srv) = TestServer::bare_with(b, |c| {
            c.delivery.secret_key = Some(SECRET_KEY.into());
            c.offline.days = 7;
            c.offline.max_attempts = 5;
        })
        .await
        else {
            return;
        };
        let email = format!("skew{offset}@corp.cn");
        srv.add_user(&email, PASSWORD).await;
        let mut app = App::new(&srv.base(), store());
        let real = app.clock.now();
        app.clock.set(real.saturating_add_signed(offset));

        // TOTP set up and used: the codes come from the phone, whose clock is right;
        // the server checks them on its own.
        let step = sign_in(&mut app, &srv, &email, PASSWORD, true).await;
        assert_eq!(step, Step::TotpOffer, "{offset}");
        let (totp_secret, _) = enrol_totp(&mut app, &srv, None).await;
        app.client.sign_out().await.unwrap();
        app.client.identify(&email).await.unwrap();
        let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
        assert!(
            matches!(step, Step::SecondFactor { .. }),
            "{offset}: {step:?}"
        );
        let step = app
            .client
            .second_factor(MfaMethod::Totp, secret(&srv.totp(&totp_secret)))
            .await
            .unwrap();
        assert!(
            matches!(step, Step::SignedIn { offline: false, .. }),
            "{offset}: {step:?}"
        );

        // The access token lasts the server's 15 minutes, as the app counts them.
        app.clock.advance(14 * 60);
        srv.advance(14 * 60);
        app.client.profile().await.unwrap();
        app.clock.advance(2 * 60);
        srv.advance(2 * 60);
        app.client.profile().await.unwrap();

        // Offline: 7 days from the last online sign-in, and 5 tries.
        srv.stop().await;
        app.relaunch();
        app.clock.advance(7 * 86_400 - 3_600);
        app.client.start().await;
        let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
        assert!(
            matches!(step, Step::SignedIn { offline: true, .. }),
            "{offset}: {step:?}"
        );
        app.relaunch();
        app.client.start().await;
        for left in (0..5).rev() {
            let e = app
                .client
                .sign_in(secret("Wrong-password-000"), true)
                .await
                .unwrap_err();
            assert!(
                matches!(e, ClientError::OfflinePasswordInvalid { attempts_left } if attempts_left == left),
                "{offset}: {e:?}"
            );
        }
        let e = app
            .client
            .sign_in(secret(PASSWORD), true)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ClientError::OfflineAttemptsExhausted),
            "{offset}: {e:?}"
        );
        app.relaunch();
        app.clock.advance(2 * 3_600);
        app.client.start().await;
        let e = app
            .client
            .sign_in(secret(PASSWORD), true)
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::OfflineExpired), "{offset}: {e:?}");
    }
}

/// The same, with a real clock on a real process: the app (this test binary again, as
/// a child) runs under libfaketime, whose wall clock the child sets back 10 minutes
/// during the session by writing to libfaketime's control file; the monotonic clock is
/// left alone (`FAKETIME_DONT_FAKE_MONOTONIC`), as setting the clock leaves it. The
/// server (in this process, on the real clock) gives access tokens of 31 s; the child
/// waits them out, and its next call must refresh rather than send an expired token.
/// Skipped, with a note, where libfaketime is not installed (Debian's `faketime`
/// package, which `scripts/setup.sh` installs; or `LATCHKEY_TEST_FAKETIME_LIB`).
/// Linux only (`LD_PRELOAD`): not in the Windows build that runs under Wine.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_clock_set_back_during_a_session_sends_no_expired_token() {
    let Some(lib) = libfaketime() else {
        eprintln!("skipping the real-clock test: no libfaketime (Debian package faketime)");
        return;
    };
    let Some(srv) = TestServer::bare_with(Backend::Sqlite, |c| {
        c.sessions.access_ttl_seconds = REAL_ACCESS_TTL;
    })
    .await
    else {
        return;
    };
    srv.add_user(REAL_EMAIL, PASSWORD).await;
    let dir = tempfile::tempdir().unwrap();
    let clock_file = dir.path().join("faketime");
    std::fs::write(&clock_file, "+0\n").unwrap();
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "client::clock::real_clock_child", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME_TIMESTAMP_FILE", &clock_file)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env(CHILD_SERVER, srv.base())
        .env(CHILD_CLOCK_FILE, &clock_file)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child did not run: {text}");
}

#[cfg(unix)]
const CHILD_SERVER: &str = "LATCHKEY_TEST_CLOCK_CHILD_SERVER";
#[cfg(unix)]
const CHILD_CLOCK_FILE: &str = "LATCHKEY_TEST_CLOCK_CHILD_FILE";
#[cfg(unix)]
const REAL_EMAIL: &str = "real-clock@corp.cn";
#[cfg(unix)]
const REAL_ACCESS_TTL: u64 = 31;

#[cfg(unix)]
fn libfaketime() -> Option<std::path::PathBuf> {
    if let Some(lib) = std::env::var_os("LATCHKEY_TEST_FAKETIME_LIB") {
        return Some(lib.into());
    }
    let arch = std::env::consts::ARCH;
    let lib = std::path::PathBuf::from(format!(
        "/usr/lib/{arch}-linux-gnu/faketime/libfaketimeMT.so.1"
    ));
    lib.exists().then_some(lib)
}

/// The app under libfaketime: see the test above. Does nothing when not started by it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run under libfaketime by a_real_clock_set_back_during_a_session_sends_no_expired_token"]
async fn real_clock_child() {
    let (Ok(server), Ok(clock_file)) =
        (std::env::var(CHILD_SERVER), std::env::var(CHILD_CLOCK_FILE))
    else {
        return;
    };
    log_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut client = latchkey_client::Client::new(latchkey_client::Options {
        dirs: latchkey_client::dirs::AppDirs::under(dir.path()),
        store: std::sync::Arc::new(latchkey_client::vault::MemoryStore::default()),
        clock: std::sync::Arc::new(SystemClock),
        timeouts: latchkey_client::api::Timeouts::default(),
        client_version: "1.0.0".into(),
        server_env: Some(server),
        exe_dir: None,
        managed: Default::default(),
    })
    .unwrap();
    client.start().await;
    client.identify(REAL_EMAIL).await.unwrap();
    let step = client.sign_in(secret(PASSWORD), false).await.unwrap();
    let step = if step == Step::TotpOffer {
        client.skip_totp().unwrap()
    } else {
        step
    };
    assert!(
        matches!(step, Step::SignedIn { offline: false, .. }),
        "{step:?}"
    );
    client.profile().await.unwrap();
    // The clock is set back 10 minutes.
    let before = SystemClock.now();
    std::fs::write(&clock_file, "-600\n").unwrap();
    let after = SystemClock.now();
    assert!(
        before - after >= 590,
        "libfaketime did not move the clock: {before} then {after}"
    );
    // The access token runs out on the server.
    tokio::time::sleep(std::time::Duration::from_secs(REAL_ACCESS_TTL + 2)).await;
    let profile = client.profile().await;
    assert!(profile.is_ok(), "{profile:?}");
}
