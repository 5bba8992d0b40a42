//! Password, new-device code, forced change, going back and wrong steps.

use latchkey_client::{ClientError, Code, NextStep, Step};
use latchkey_proto::{Channel, MfaMethod, PasswordChangeReason};
use latchkey_server::admin::AddUser;
use latchkey_testkit::{on_both, Backend, TestServer};

use crate::client::common::*;

on_both!(
    password_then_new_device_code_from_the_mail,
    wrong_password_and_wrong_device_code,
    forced_change_of_a_temporary_password,
    back_and_wrong_steps,
);

async fn password_then_new_device_code_from_the_mail(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("zhang@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    let step = app.client.start().await;
    assert_eq!(step, Step::Identify { identifier: None });
    assert_eq!(app.client.meta().unwrap().offline.days, 7);
    let step = app.client.identify(" zhang@corp.cn ").await.unwrap();
    assert_eq!(
        step,
        Step::Password {
            identifier: "zhang@corp.cn".into(),
            offline_possible: false
        }
    );
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    let Step::DeviceCode {
        destination,
        channel,
        expires_in,
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(channel, Channel::Email);
    assert!(destination.contains('*') && expires_in > 0, "{destination}");
    let code = mailed_code(&srv, 0).await;
    // Typed with a space in the middle, as people do.
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let step = app.client.verify_device(secret(&spaced)).await.unwrap();
    assert_eq!(step, Step::TotpOffer);
    let step = app.client.skip_totp().unwrap();
    let Step::SignedIn {
        user,
        offline,
        remembered,
        cannot_remember,
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(user.email.as_deref(), Some("zhang@corp.cn"));
    assert!(!offline && !remembered && !cannot_remember);

    // The device is known now: the next sign-in needs no code.
    app.client.sign_out().await.unwrap();
    app.client.identify("zhang@corp.cn").await.unwrap();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert_eq!(step, Step::TotpOffer);
}

async fn wrong_password_and_wrong_device_code(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("li@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("li@corp.cn").await.unwrap();
    let e = app
        .client
        .sign_in(secret("Wrong-password-000"), false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidCredentials);
    assert_eq!(e.next_step(), NextStep::ResetPassword);
    assert!(matches!(app.client.step(), Step::Password { .. }));
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }));
    let code = mailed_code(&srv, 0).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = app.client.verify_device(secret(wrong)).await.unwrap_err();
    assert_eq!(e.code(), Code::CodeInvalid);
    assert_eq!(e.next_step(), NextStep::CorrectInput);
    let step = app.client.verify_device(secret(&code)).await.unwrap();
    assert_eq!(step, Step::TotpOffer);
}

async fn forced_change_of_a_temporary_password(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add(
        AddUser {
            email: Some("wang@corp.cn".into()),
            name: Some("Wang Fang".into()),
            temporary: true,
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("wang@corp.cn").await.unwrap();
    // A temporary password from a new device: the device code comes first.
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    let code = mailed_code(&srv, 0).await;
    let step = app.client.verify_device(secret(&code)).await.unwrap();
    assert_eq!(
        step,
        Step::ForcedChange {
            reason: PasswordChangeReason::Temporary,
            mfa_methods: vec![]
        }
    );
    // The meter uses the server's policy and the account's identifier.
    let weak = app.client.password_strength("wang@corp.cn2026");
    assert!(!weak.verdict.accepted);
    let e = app
        .client
        .forced_change(secret("password1234"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PasswordRejected);
    let ui = e.to_ui();
    assert!(!ui.reasons.is_empty() && ui.next_step == NextStep::ChooseAnotherPassword);
    // Over the maximum: refused here, not truncated and sent.
    let long = "Quartz-meadow-lantern-19!".repeat(6);
    let e = app
        .client
        .forced_change(secret(&long), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::PasswordRejected { reasons, .. } if reasons == &[latchkey_proto::PasswordReason::TooLong])
    );
    assert!(app.client.password_strength(NEW_PASSWORD).verdict.accepted);
    let step = app
        .client
        .forced_change(secret(NEW_PASSWORD), None)
        .await
        .unwrap();
    assert_eq!(step, Step::TotpOffer);
    app.client.skip_totp().unwrap();
    // The session the change opened names this device.
    let list = app.client.sessions().await.unwrap();
    let current = list.sessions.iter().find(|s| s.current).unwrap();
    let this = app.client.device();
    assert_eq!(
        (&current.device.name, &current.device.platform),
        (&this.name, &this.platform)
    );
    app.client.sign_out().await.unwrap();
    app.client.identify("wang@corp.cn").await.unwrap();
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidCredentials);
    // The device was verified before the change: the new password alone is enough.
    let step = app
        .client
        .sign_in(secret(NEW_PASSWORD), false)
        .await
        .unwrap();
    assert_eq!(step, Step::TotpOffer);
}

async fn back_and_wrong_steps(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("wu@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::WrongStep);
    let e = app
        .client
        .second_factor(MfaMethod::Totp, secret("123456"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::WrongStep);
    assert!(app.client.identify("   ").await.is_err());
    app.client.identify("wu@corp.cn").await.unwrap();
    let e = app.client.sign_in(secret(""), false).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }));
    // Back from the code screen: the challenge is dropped, the identifier kept.
    assert_eq!(
        app.client.back().unwrap(),
        Step::Identify {
            identifier: Some("wu@corp.cn".into())
        }
    );
    let e = app
        .client
        .verify_device(secret("123456"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::WrongStep);
    assert!(app.client.skip_totp().is_err());
    assert!(app.client.recovery_codes_saved().is_err());
    assert!(app.client.sign_out().await.is_err());
    // Setup is not possible: the address came from LATCHKEY_SERVER.
    assert_eq!(
        app.client
            .setup_server("https://other.corp")
            .await
            .unwrap_err()
            .code(),
        Code::WrongStep
    );
}
