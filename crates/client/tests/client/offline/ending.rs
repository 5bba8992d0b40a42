//! What ends an offline session once the server is back: the password changed
//! elsewhere, the account disabled, a sign-out everywhere.

use super::*;

on_both!(
    password_changed_elsewhere_ends_the_offline_session,
    a_disabled_account_ends_the_offline_session,
    signed_out_everywhere_ends_the_offline_session,
);

async fn password_changed_elsewhere_ends_the_offline_session(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "fu@corp.cn").await;
    offline_then_back(&mut srv, &mut app).await;
    // On another computer, the password is changed.
    let mut other = App::on(&srv);
    signed_in(&mut other, &srv, "fu@corp.cn", PASSWORD, false).await;
    other
        .client
        .change_password(secret(PASSWORD), secret(NEW_PASSWORD))
        .await
        .unwrap();
    assert_eq!(
        app.client.revalidate().await.unwrap(),
        Revalidation::Ended(EndReason::PasswordChanged)
    );
    assert_eq!(
        app.client.step(),
        &Step::Identify {
            identifier: Some("fu@corp.cn".into())
        }
    );
    assert_eq!(
        latchkey_client::ClientError::SessionEnded(EndReason::PasswordChanged).code(),
        Code::PasswordChanged
    );
    // The old password's verifier is gone: no offline sign-in with it any more.
    srv.stop().await;
    app.relaunch();
    app.client.start().await;
    let step = app.client.identify("fu@corp.cn").await.unwrap();
    assert!(matches!(
        step,
        Step::Password {
            offline_possible: false,
            ..
        }
    ));
    let e = app
        .client
        .sign_in(secret(PASSWORD), true)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ConnectionRefused);
}

async fn a_disabled_account_ends_the_offline_session(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "gu@corp.cn").await;
    offline_then_back(&mut srv, &mut app).await;
    admin::set_disabled(&srv.state, "gu@corp.cn", true)
        .await
        .unwrap();
    assert_eq!(
        app.client.revalidate().await.unwrap(),
        Revalidation::Ended(EndReason::AccountDisabled)
    );
}

async fn signed_out_everywhere_ends_the_offline_session(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    let mut app = remembered_then_down(&mut srv, "hu@corp.cn").await;
    // Signed out of every session while this device was offline (another computer,
    // or IT): the refresh token was revoked, the password still works.
    srv.restart().await;
    let mut other = App::on(&srv);
    signed_in(&mut other, &srv, "hu@corp.cn", PASSWORD, false).await;
    srv.stop().await;
    offline_then_back(&mut srv, &mut app).await;
    let user = admin::find(&srv.state, "hu@corp.cn").await.unwrap();
    let mut conn = srv.state.db.acquire().await.unwrap();
    latchkey_server::session::revoke_all(&mut conn, &user.id, None, srv.state.now())
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        app.client.revalidate().await.unwrap(),
        Revalidation::Ended(EndReason::RefreshRevoked)
    );
    let _: Option<Secret> = None;
}
