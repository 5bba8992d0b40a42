//! Opening an offline session while the server cannot be reached: after a remembered
//! sign-in, within the server's days and tries (shared by two windows), found by a
//! phone number however it is typed.

use super::*;

on_both!(
    offline_sign_in_then_online_again,
    offline_expires_after_the_servers_days,
    offline_disabled_by_the_server,
    the_attempt_limit_needs_the_server,
    two_windows_on_one_keychain_share_the_attempts,
    a_phone_typed_nationally_finds_the_account_offline,
    a_national_number_is_read_in_the_servers_region,
);

async fn offline_sign_in_then_online_again(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "an@corp.cn").await;
    // Launch: the refresh fails, so the password is asked for, offline possible.
    let step = app.client.start().await;
    assert_eq!(
        step,
        Step::Password {
            identifier: "an@corp.cn".into(),
            offline_possible: true
        }
    );
    let e = app
        .client
        .sign_in(secret("Wrong-password-000"), true)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::OfflinePasswordInvalid { attempts_left: 4 }),
        "{e:?}"
    );
    assert_eq!(e.to_ui().attempts_left, Some(4));
    let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    let Step::SignedIn {
        offline,
        offline_reason,
        user,
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    assert!(offline);
    assert_eq!(offline_reason, Some(Code::ConnectionRefused));
    assert_eq!(user.email.as_deref(), Some("an@corp.cn"));
    // Online-only actions say so.
    assert_eq!(
        app.client.profile().await.unwrap_err().code(),
        Code::WrongStep
    );

    assert_eq!(
        app.client.revalidate().await.unwrap(),
        Revalidation::StillOffline
    );
    srv.restart().await;
    assert_eq!(app.client.revalidate().await.unwrap(), Revalidation::Online);
    assert!(matches!(
        app.client.step(),
        Step::SignedIn { offline: false, .. }
    ));
    assert_eq!(
        app.client.profile().await.unwrap().user.email.as_deref(),
        Some("an@corp.cn")
    );
    assert_eq!(
        app.client.revalidate().await.unwrap(),
        Revalidation::NotNeeded
    );
}

async fn offline_expires_after_the_servers_days(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| c.offline.days = 3).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "bai@corp.cn").await;
    app.clock.advance(3 * 86_400 - 60);
    app.client.start().await;
    app.client.identify("bai@corp.cn").await.unwrap();
    assert!(matches!(
        app.client.sign_in(secret(PASSWORD), true).await.unwrap(),
        Step::SignedIn { offline: true, .. }
    ));
    app.relaunch();
    app.clock.advance(120);
    let step = app.client.start().await;
    assert_eq!(
        step,
        Step::Password {
            identifier: "bai@corp.cn".into(),
            offline_possible: false
        }
    );
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineExpired), "{e:?}");
    assert_eq!(e.next_step(), NextStep::SignInOnline);
}

async fn offline_disabled_by_the_server(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| c.offline.days = 0).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "cao@corp.cn").await;
    app.client.start().await;
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineDisabled), "{e:?}");
}

async fn the_attempt_limit_needs_the_server(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| c.offline.max_attempts = 3).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "deng@corp.cn").await;
    app.client.start().await;
    for left in [2, 1, 0] {
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
    // The count is in the keychain: a relaunch does not reset it, nor does the right
    // password help now.
    app.relaunch();
    app.client.start().await;
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::OfflineAttemptsExhausted), "{e:?}");
    // An online sign-in resets it.
    srv.restart().await;
    let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    assert!(
        matches!(step, Step::SignedIn { offline: false, .. }),
        "{step:?}"
    );
    srv.stop().await;
    app.relaunch();
    app.client.start().await;
    assert!(matches!(
        app.client.sign_in(secret(PASSWORD), true).await.unwrap(),
        Step::SignedIn { offline: true, .. }
    ));
}

/// Two clients on one keychain (a second process of the app, or the library used by
/// another program): the offline tries are counted in the keychain before the password
/// is checked, so together they get the limit, not each of them.
async fn two_windows_on_one_keychain_share_the_attempts(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| c.offline.max_attempts = 3).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "two@corp.cn").await;
    let mut other = build(
        &app.server,
        &app.dir,
        &app.clock,
        &app.store,
        latchkey_client::api::Timeouts::default(),
    );
    app.client.start().await;
    other.start().await;
    let wrong = || secret("Wrong-password-000");
    let e = app.client.sign_in(wrong(), true).await.unwrap_err();
    assert!(
        matches!(e, ClientError::OfflinePasswordInvalid { attempts_left: 2 }),
        "{e:?}"
    );
    let e = other.sign_in(wrong(), true).await.unwrap_err();
    assert!(
        matches!(e, ClientError::OfflinePasswordInvalid { attempts_left: 1 }),
        "{e:?}"
    );
    let e = app.client.sign_in(wrong(), true).await.unwrap_err();
    assert!(
        matches!(e, ClientError::OfflinePasswordInvalid { attempts_left: 0 }),
        "{e:?}"
    );
    let e = other.sign_in(secret(PASSWORD), true).await.unwrap_err();
    assert!(matches!(e, ClientError::OfflineAttemptsExhausted), "{e:?}");
}

/// Issue 13: remembered as `+8613800138000`, found offline by `138 0013 8000` (the
/// client applies the server's identifier rules, not only lowercasing).
async fn a_phone_typed_nationally_finds_the_account_offline(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add(
        AddUser {
            email: Some("jin@corp.cn".into()),
            phone: Some("13800138000".into()),
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let mut app = App::on(&srv);
    signed_in(&mut app, &srv, "+8613800138000", PASSWORD, true).await;
    app.client.sign_out().await.unwrap();
    srv.stop().await;
    app.relaunch();
    app.client.start().await;
    let step = app.client.identify("138 0013 8000").await.unwrap();
    assert_eq!(
        step,
        Step::Password {
            identifier: "138 0013 8000".into(),
            offline_possible: true
        }
    );
    let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    assert!(
        matches!(&step, Step::SignedIn { offline: true, user, .. } if user.phone.as_deref() == Some("+8613800138000")),
        "{step:?}"
    );
}

/// Issue 13: a server whose `default_region` is not CN (here US) announces it in
/// `/v1/meta`; offline, `(201) 555-0123` is read as that server would read it and finds
/// the account remembered as `+12015550123`.
async fn a_national_number_is_read_in_the_servers_region(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |c| c.default_region = "US".into()).await else {
        return;
    };
    srv.add(
        AddUser {
            email: Some("lee@corp.example".into()),
            phone: Some("+12015550123".into()),
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let mut app = App::on(&srv);
    signed_in(&mut app, &srv, "+12015550123", PASSWORD, true).await;
    app.client.sign_out().await.unwrap();
    srv.stop().await;
    app.relaunch();
    app.client.start().await;
    assert_eq!(
        app.client.meta().and_then(|m| m.default_region.as_deref()),
        Some("US"),
        "cached"
    );
    let step = app.client.identify("(201) 555-0123").await.unwrap();
    assert_eq!(
        step,
        Step::Password {
            identifier: "(201) 555-0123".into(),
            offline_possible: true
        }
    );
    let step = app.client.sign_in(secret(PASSWORD), true).await.unwrap();
    assert!(
        matches!(&step, Step::SignedIn { offline: true, user, .. } if user.phone.as_deref() == Some("+12015550123")),
        "{step:?}"
    );
}
