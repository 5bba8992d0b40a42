//! The signed-in screen's account actions and signing out everywhere.

use latchkey_client::{Code, Step};
use latchkey_proto::ErrorCode;
use latchkey_testkit::{on_both, Backend, TestServer};

use crate::client::common::*;

on_both!(
    account_actions_of_the_signed_in_screen,
    sign_out_everywhere_ends_the_other_devices_too,
);

async fn account_actions_of_the_signed_in_screen(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    signed_in(&mut app, &srv, "he@corp.cn", PASSWORD, false).await;
    let profile = app.client.profile().await.unwrap();
    assert_eq!(profile.user.email.as_deref(), Some("he@corp.cn"));
    let sessions = app.client.sessions().await.unwrap();
    assert_eq!(sessions.sessions.len(), 1);
    assert!(sessions.sessions[0].current);
    // The server names the device, but never shows its id (a secret) back.
    let this = app.client.device();
    assert_eq!(sessions.sessions[0].device.name, this.name);
    assert_ne!(sessions.sessions[0].device.id, this.id);
    assert!(!app.client.activity().await.unwrap().entries.is_empty());
    // The access token expires after 15 minutes: the client refreshes it by itself.
    srv.advance(16 * 60);
    app.clock.advance(16 * 60);
    let e = app
        .client
        .change_password(secret("Wrong-password-000"), secret(NEW_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::CurrentPasswordInvalid);
    app.client
        .change_password(secret(PASSWORD), secret(NEW_PASSWORD))
        .await
        .unwrap();
    // Set up TOTP from the account screen (the password again), then turn it off.
    let e = app.client.setup_totp(None).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    let e = app
        .client
        .setup_totp(Some(secret(PASSWORD)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::CurrentPasswordInvalid);
    let (totp_secret, codes) = enrol_totp(&mut app, &srv, Some(NEW_PASSWORD)).await;
    let fresh = app
        .client
        .regenerate_recovery_codes(secret(NEW_PASSWORD))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.iter().any(|c| codes.contains(&c.expose().to_owned())));
    app.client
        .disable_totp(secret(NEW_PASSWORD), secret(&srv.totp(&totp_secret)))
        .await
        .unwrap();
    assert!(matches!(app.client.step(), Step::SignedIn { user, .. } if !user.mfa_enabled));
    let e = app.client.revoke_session("../../etc").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    let _ = ErrorCode::Conflict;
}

async fn sign_out_everywhere_ends_the_other_devices_too(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    let mut laptop = App::on(&srv);
    signed_in(&mut laptop, &srv, "he@corp.cn", PASSWORD, true).await;
    // A second device (not remembered: both share the test keychain).
    let mut desktop = App::on(&srv);
    signed_in(&mut desktop, &srv, "he@corp.cn", PASSWORD, false).await;
    assert_eq!(laptop.client.sessions().await.unwrap().sessions.len(), 2);

    let step = laptop.client.sign_out_everywhere().await.unwrap();
    assert!(matches!(step, Step::Identify { .. }), "{step:?}");
    // The other device is signed out too: its next call to the server fails.
    let e = desktop.client.sessions().await.unwrap_err();
    assert_eq!(e.code(), Code::SessionExpired, "{e:?}");
    // This device kept no refresh token: the next launch asks for the password.
    laptop.relaunch();
    let step = laptop.client.start().await;
    assert!(!matches!(step, Step::SignedIn { .. }), "{step:?}");
    // Once more, with the database gone (the server answers 500): nothing changes
    // here, and the error says why.
    signed_in(&mut laptop, &srv, "he@corp.cn", PASSWORD, false).await;
    srv.state.db.close().await;
    let e = laptop.client.sign_out_everywhere().await.unwrap_err();
    assert!(
        matches!(e.code(), Code::ServerError | Code::ServerUnavailable),
        "{e:?}"
    );
    assert!(matches!(laptop.client.step(), Step::SignedIn { .. }));
}
