//! The offline limits hold against an edited cache and a clock set back (issue 13).

use super::*;

on_both!(
    editing_the_cached_meta_does_not_lift_the_limits,
    a_clock_set_back_does_not_reopen_the_window,
);

/// Issue 13: the keychain's rules hold against a cached meta that was edited or deleted.
async fn editing_the_cached_meta_does_not_lift_the_limits(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| {
        c.offline.days = 3;
        c.offline.max_attempts = 2;
    })
    .await
    else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "kong@corp.cn").await;
    edit_cached_offline_rules(&app, 365, 100);
    app.relaunch();
    app.client.start().await;
    for left in [1, 0] {
        let e = app
            .client
            .sign_in(secret("Wrong-password-000"), true)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ClientError::OfflinePasswordInvalid { attempts_left } if attempts_left == left),
            "{e:?}"
        );
    }
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineAttemptsExhausted), "{e:?}");

    // The days: the file edited, then deleted.
    let mut app = remembered_then_down_again(&mut srv, "kong@corp.cn").await;
    app.clock.advance(4 * 86_400);
    edit_cached_offline_rules(&app, 365, 100);
    app.relaunch();
    app.client.start().await;
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineExpired), "{e:?}");
    std::fs::remove_file(app.dir.path().join("cache").join("meta.json")).unwrap();
    app.relaunch();
    app.client.start().await;
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineExpired), "{e:?}");
}

/// Issue 13: once the app has seen a later time, setting the clock back does not make
/// the offline window longer.
async fn a_clock_set_back_does_not_reopen_the_window(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| c.offline.days = 7).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "lu@corp.cn").await;
    let t0 = latchkey_client::clock::Clock::now(&app.clock);
    app.clock.set(t0 + 6 * 86_400);
    app.client.start().await;
    assert!(matches!(
        app.client.sign_in(secret(PASSWORD), true).await.unwrap(),
        Step::SignedIn { offline: true, .. }
    ));
    app.relaunch();
    app.clock.set(t0 + 8 * 86_400);
    app.client.start().await;
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineExpired), "{e:?}");
    // The clock set back to day 2.
    app.relaunch();
    app.clock.set(t0 + 2 * 86_400);
    let step = app.client.start().await;
    assert_eq!(
        step,
        Step::Password {
            identifier: "lu@corp.cn".into(),
            offline_possible: false
        }
    );
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineExpired), "{e:?}");
}
