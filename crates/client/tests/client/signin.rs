use latchkey_client::{ClientError, Code, NextStep, Step};
use latchkey_proto::{Channel, ErrorCode, Maintenance, MfaMethod, PasswordChangeReason};
use latchkey_server::admin::{self, AddUser};
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

on_both!(
    password_then_new_device_code_from_the_mail,
    wrong_password_and_wrong_device_code,
    forced_change_of_a_temporary_password,
    totp_enrolment_then_totp_and_recovery_code_sign_in,
    lockout_says_how_long_to_wait,
    maintenance_says_until_when,
    outdated_client_says_where_to_update,
    back_and_wrong_steps,
    account_actions_of_the_signed_in_screen,
    sign_out_everywhere_ends_the_other_devices_too,
    full_width_codes_from_a_chinese_ime,
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
        Step::ChangePassword {
            reason: PasswordChangeReason::Temporary,
            mfa_methods: vec![]
        }
    );
    // The meter uses the server's policy and the account's identifier.
    let weak = app.client.password_strength("wang@corp.cn2026");
    assert!(!weak.verdict.accepted);
    let e = app
        .client
        .change_expired_password(secret("password1234"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PasswordRejected);
    let ui = e.to_ui();
    assert!(!ui.reasons.is_empty() && ui.next_step == NextStep::ChooseAnotherPassword);
    // Over the maximum: refused here, not truncated and sent.
    let long = "Quartz-meadow-lantern-19!".repeat(6);
    let e = app
        .client
        .change_expired_password(secret(&long), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::PasswordRejected { reasons, .. } if reasons == &[latchkey_proto::PasswordReason::TooLong])
    );
    assert!(app.client.password_strength(NEW_PASSWORD).verdict.accepted);
    let step = app
        .client
        .change_expired_password(secret(NEW_PASSWORD), None)
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

async fn lockout_says_how_long_to_wait(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("chen@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("chen@corp.cn").await.unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            app.client
                .sign_in(secret("Wrong-password-000"), false)
                .await
                .unwrap_err(),
        );
    }
    let e = last.unwrap();
    assert_eq!(e.code(), Code::AccountLocked, "{e:?}");
    let ui = e.to_ui();
    assert_eq!(ui.next_step, NextStep::Wait);
    let wait = ui.retry_after.unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    // Locked even with the right password, still with the time to wait.
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::AccountLocked { retry_after: Some(s) } if s > 0));
}

async fn maintenance_says_until_when(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("sun@corp.cn", PASSWORD).await;
    admin::maintenance(
        &srv.state,
        Some(Maintenance {
            message: "系统维护 / upgrade".into(),
            until: Some("2030-01-01T08:00:00+08:00".into()),
        }),
    )
    .await
    .unwrap();
    let mut app = App::on(&srv);
    app.client.start().await;
    assert!(app.client.meta().unwrap().maintenance.is_some());
    app.client.identify("sun@corp.cn").await.unwrap();
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    let ui = e.to_ui();
    assert_eq!(ui.code, Code::Maintenance);
    assert_eq!(ui.next_step, NextStep::Wait);
    assert_eq!(
        ui.maintenance_message.as_deref(),
        Some("系统维护 / upgrade")
    );
    assert_eq!(ui.until.as_deref(), Some("2030-01-01T08:00:00+08:00"));
    admin::maintenance(&srv.state, None).await.unwrap();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }));
}

async fn outdated_client_says_where_to_update(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("zhou@corp.cn", PASSWORD).await;
    admin::min_client_version(
        &srv.state,
        Some("2.0.0"),
        Some("https://it.corp.cn/latchkey"),
    )
    .await
    .unwrap();
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("zhou@corp.cn").await.unwrap();
    let e = app
        .client
        .sign_in(secret(PASSWORD), false)
        .await
        .unwrap_err();
    let ui = e.to_ui();
    assert_eq!(ui.code, Code::ClientOutdated);
    assert_eq!(ui.next_step, NextStep::UpdateApp);
    assert_eq!(ui.min_version.as_deref(), Some("2.0.0"));
    assert_eq!(
        ui.download_url.as_deref(),
        Some("https://it.corp.cn/latchkey")
    );
    // The forgot-password route is guarded the same way.
    app.client.forgot_password().unwrap();
    let e = app
        .client
        .send_reset_code("zhou@corp.cn", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ClientOutdated);
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
