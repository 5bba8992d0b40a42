//! TOTP enrolment, TOTP and recovery-code sign-in, full-width codes.

use latchkey_client::{Code, Step};
use latchkey_proto::MfaMethod;
use latchkey_testkit::{on_both, Backend, TestServer};

use crate::client::common::*;

on_both!(
    totp_enrolment_then_totp_and_recovery_code_sign_in,
    full_width_codes_from_a_chinese_ime,
    the_offer_can_be_taken_after_the_server_was_away,
);

/// The offer right after sign-in enrols with the password just typed (it has no field
/// of its own): a failure such as the server being away must not lose it.
async fn the_offer_can_be_taken_after_the_server_was_away(b: Backend) {
    let Some(mut srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("away@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    let step = sign_in(&mut app, &srv, "away@corp.cn", PASSWORD, false).await;
    assert_eq!(step, Step::TotpOffer);
    srv.stop().await;
    let e = app.client.setup_totp(None).await.unwrap_err();
    assert_ne!(e.code(), Code::InvalidInput, "{e:?}");
    srv.restart().await;
    let step = app.client.setup_totp(None).await.unwrap();
    assert!(matches!(step, Step::TotpSetup { .. }), "{step:?}");
}

async fn totp_enrolment_then_totp_and_recovery_code_sign_in(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("zhao@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    let step = sign_in(&mut app, &srv, "zhao@corp.cn", PASSWORD, false).await;
    assert_eq!(step, Step::TotpOffer);
    let (totp_secret, codes) = enrol_totp(&mut app, &srv, None).await;
    assert_eq!(codes.len(), 10);

    // TOTP sign-in (no device code: accounts with TOTP never get one).
    app.client.sign_out().await.unwrap();
    app.client.identify("zhao@corp.cn").await.unwrap();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    let Step::SecondFactor { methods } = step else {
        panic!("{step:?}")
    };
    assert!(methods.contains(&MfaMethod::Totp) && methods.contains(&MfaMethod::RecoveryCode));
    let e = app
        .client
        .second_factor(MfaMethod::Totp, secret("000000"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::CodeInvalid);
    let step = app
        .client
        .second_factor(MfaMethod::Totp, secret(&srv.totp(&totp_secret)))
        .await
        .unwrap();
    assert!(
        matches!(&step, Step::SignedIn { user, .. } if user.mfa_enabled),
        "no TOTP offer once it is on: {step:?}"
    );

    // Recovery code sign-in; a recovery code works once.
    app.client.sign_out().await.unwrap();
    app.client.identify("zhao@corp.cn").await.unwrap();
    app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    let step = app
        .client
        .second_factor(MfaMethod::RecoveryCode, secret(&codes[0]))
        .await
        .unwrap();
    assert!(matches!(step, Step::SignedIn { .. }));
    app.client.sign_out().await.unwrap();
    app.client.identify("zhao@corp.cn").await.unwrap();
    app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    let e = app
        .client
        .second_factor(MfaMethod::RecoveryCode, secret(&codes[0]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::CodeInvalid);
}

/// Issue 13: the device code, the first TOTP code, a TOTP code at sign-in and a recovery
/// code, each typed in full-width digits, are the codes they look like.
async fn full_width_codes_from_a_chinese_ime(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("qian@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("qian@corp.cn").await.unwrap();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    let code = mailed_code(&srv, 0).await;
    assert_ne!(full_width(&code), code);
    let step = app
        .client
        .verify_device(secret(&full_width(&code)))
        .await
        .unwrap();
    assert_eq!(step, Step::TotpOffer);

    let Step::TotpSetup { setup } = app.client.setup_totp(None).await.unwrap() else {
        panic!("no TOTP setup")
    };
    let key = setup.secret_groups.expose().replace(' ', "");
    let first = full_width(&srv.totp(&key));
    let step = app.client.confirm_totp(secret(&first)).await.unwrap();
    let Step::RecoveryCodes { codes } = step else {
        panic!("{step:?}")
    };
    app.client.recovery_codes_saved().unwrap();
    srv.advance(30);

    app.client.sign_out().await.unwrap();
    app.client.identify("qian@corp.cn").await.unwrap();
    app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    let typed = full_width(&srv.totp(&key));
    let step = app
        .client
        .second_factor(MfaMethod::Totp, secret(&typed))
        .await
        .unwrap();
    assert!(matches!(step, Step::SignedIn { .. }), "{step:?}");

    app.client.sign_out().await.unwrap();
    app.client.identify("qian@corp.cn").await.unwrap();
    app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    let step = app
        .client
        .second_factor(
            MfaMethod::RecoveryCode,
            secret(&full_width(codes[0].expose())),
        )
        .await
        .unwrap();
    assert!(matches!(step, Step::SignedIn { .. }), "{step:?}");
}
