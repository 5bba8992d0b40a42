use latchkey_client::{Code, ResetLink, SecondFactor, Step};
use latchkey_proto::MfaMethod;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::common::*;

on_both!(
    reset_with_the_code_from_the_mail,
    reset_of_a_totp_account_needs_a_totp_code,
    a_wrong_code_and_a_resend,
    a_reset_link_asks_before_replacing_a_sign_in,
    a_used_reset_link_is_refused_before_anything_is_asked,
    a_reset_link_of_a_totp_account_asks_for_the_code_up_front,
    a_waiting_link_does_not_open_once_signed_in,
);

/// A link that waited for an answer while the sign-in under way finished: saying
/// "reset" then is refused, and the person stays signed in.
async fn a_waiting_link_does_not_open_once_signed_in(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("wait@corp.cn", PASSWORD).await;
    let mut other = App::on(&srv);
    other.client.start().await;
    other.client.begin_reset().unwrap();
    other
        .client
        .send_reset_code("wait@corp.cn", None)
        .await
        .unwrap();
    let link = reset_link(&srv.smtp.wait_for(1).await.remove(0).text());
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("wait@corp.cn").await.unwrap();
    let before = srv.smtp.messages().len();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    assert!(app.client.offer_reset_link(&link).await.unwrap().waiting);
    let code = mailed_code(&srv, before).await;
    let step = app.client.verify_device(secret(&code)).await.unwrap();
    assert!(!matches!(step, Step::DeviceCode { .. }), "{step:?}");
    let e = app.client.answer_reset_link(true).unwrap_err();
    assert_eq!(e.code(), Code::WrongStep, "{e:?}");
    assert!(
        !matches!(app.client.step(), Step::ResetPassword { .. }),
        "{:?}",
        app.client.step()
    );
}

/// The `latchkey://reset?token=…` link of a received mail.
fn reset_link(text: &str) -> String {
    let start = text.find("latchkey://reset?token=").expect("a reset link");
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect()
}

async fn reset_with_the_code_from_the_mail(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("lin@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("lin@corp.cn").await.unwrap();
    let step = app.client.begin_reset().unwrap();
    assert!(
        matches!(&step, Step::ResetIdentify { identifier: Some(i), channels } if i == "lin@corp.cn" && !channels.is_empty()),
        "{step:?}"
    );
    let step = app
        .client
        .send_reset_code("lin@corp.cn", None)
        .await
        .unwrap();
    let Step::ResetCode {
        resend_after,
        expires_in,
    } = step
    else {
        panic!("{step:?}")
    };
    assert!(resend_after > 0 && expires_in > resend_after);
    let mail = srv.smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["lin@corp.cn".to_owned()]);
    let code = mail.code().unwrap();
    // Typed with a Chinese IME in full-width mode (issue 13).
    let typed = full_width(&code);
    let step = app.client.verify_reset_code(secret(&typed)).await.unwrap();
    assert_eq!(
        step,
        Step::ResetPassword {
            mfa_methods: vec![],
            account_hint: None
        }
    );
    let e = app
        .client
        .reset_password(secret("password1234"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PasswordRejected);
    let step = app
        .client
        .reset_password(secret(NEW_PASSWORD), None)
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::ResetDone {
            identifier: "lin@corp.cn".into()
        }
    );
    // Sign in with the new password (a new device: the code comes by mail too).
    app.client.identify("lin@corp.cn").await.unwrap();
    let before = srv.smtp.messages().len();
    let step = app
        .client
        .sign_in(secret(NEW_PASSWORD), false)
        .await
        .unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    let code = mailed_code(&srv, before).await;
    assert_eq!(
        app.client.verify_device(secret(&code)).await.unwrap(),
        Step::TotpOffer
    );
}

async fn reset_of_a_totp_account_needs_a_totp_code(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("xu@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    assert_eq!(
        sign_in(&mut app, &srv, "xu@corp.cn", PASSWORD, false).await,
        Step::TotpOffer
    );
    let (totp_secret, _) = enrol_totp(&mut app, &srv, None).await;
    app.client.sign_out().await.unwrap();

    app.client.begin_reset().unwrap();
    let before = srv.smtp.messages().len();
    app.client
        .send_reset_code("xu@corp.cn", None)
        .await
        .unwrap();
    // The TOTP-enabled notice may arrive too, before or after: take the mail with a code.
    let code = mailed_code(&srv, before).await;
    let step = app.client.verify_reset_code(secret(&code)).await.unwrap();
    let Step::ResetPassword { mfa_methods, .. } = step else {
        panic!("{step:?}")
    };
    assert!(mfa_methods.contains(&MfaMethod::Totp));
    let e = app
        .client
        .reset_password(secret(NEW_PASSWORD), None)
        .await
        .unwrap_err();
    assert!(e.code() == Code::MfaRequired, "{e:?}");
    let step = app
        .client
        .reset_password(
            secret(NEW_PASSWORD),
            Some(SecondFactor {
                method: MfaMethod::Totp,
                code: secret(&srv.totp(&totp_secret)),
            }),
        )
        .await
        .unwrap();
    assert!(matches!(step, Step::ResetDone { .. }));
    srv.advance(30);
    app.client.identify("xu@corp.cn").await.unwrap();
    assert!(matches!(
        app.client
            .sign_in(secret(NEW_PASSWORD), false)
            .await
            .unwrap(),
        Step::SecondFactor { .. }
    ));
}

async fn a_wrong_code_and_a_resend(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("ma@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.begin_reset().unwrap();
    app.client
        .send_reset_code("ma@corp.cn", None)
        .await
        .unwrap();
    let first = srv.smtp.wait_for(1).await[0].code().unwrap();
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    let e = app
        .client
        .verify_reset_code(secret(wrong))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::CodeInvalid);
    // Too early to resend: the server says how long to wait.
    let e = app.client.resend_reset_code().await;
    if let Err(e) = &e {
        assert!(matches!(e.code(), Code::RateLimited), "{e:?}");
    }
    srv.advance(61);
    let step = app.client.resend_reset_code().await.unwrap();
    assert!(matches!(step, Step::ResetCode { .. }));
    let mails = srv.smtp.wait_for(2).await;
    let second = mails.last().unwrap().code().unwrap();
    let step = app.client.verify_reset_code(secret(&second)).await.unwrap();
    assert!(matches!(step, Step::ResetPassword { .. }));
    assert_eq!(
        app.client.back().unwrap(),
        Step::Identify {
            identifier: Some("ma@corp.cn".into())
        }
    );
}

/// Issue 13: a reset link that arrives in the middle of a sign-in waits for the person
/// to say whether to drop what they were doing.
async fn a_reset_link_asks_before_replacing_a_sign_in(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("tang@corp.cn", PASSWORD).await;
    // The link, asked for from another computer.
    let mut other = App::on(&srv);
    other.client.start().await;
    other.client.begin_reset().unwrap();
    other
        .client
        .send_reset_code("tang@corp.cn", None)
        .await
        .unwrap();
    let link = reset_link(&srv.smtp.wait_for(1).await.remove(0).text());

    // Here, a sign-in is waiting for its device code when the link is opened.
    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("tang@corp.cn").await.unwrap();
    let step = app.client.sign_in(secret(PASSWORD), false).await.unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    let offer = app.client.offer_reset_link(&link).await.unwrap();
    assert_eq!(
        offer,
        ResetLink {
            account_hint: "t***@corp.cn".into(),
            mfa_methods: vec![],
            waiting: true
        },
        "it asks, naming the account"
    );
    assert!(matches!(app.client.step(), Step::DeviceCode { .. }));
    // "Keep signing in": nothing lost.
    let step = app.client.answer_reset_link(false).unwrap();
    assert!(matches!(step, Step::DeviceCode { .. }), "{step:?}");
    assert_eq!(
        app.client.answer_reset_link(true).unwrap_err().code(),
        Code::WrongStep,
        "the link was forgotten"
    );
    // With nothing under way, a link opens at once (the token is not used up by
    // looking); a broken one is refused.
    let mut idle = App::on(&srv);
    idle.client.start().await;
    assert!(!idle.client.offer_reset_link(&link).await.unwrap().waiting);
    assert!(matches!(
        idle.client.step(),
        Step::ResetPassword { account_hint: Some(hint), .. } if hint == "t***@corp.cn"
    ));
    assert_eq!(
        idle.client
            .offer_reset_link("https://evil.example/?token=x")
            .await
            .unwrap_err()
            .code(),
        Code::InvalidInput
    );

    // Opened again here, and this time followed: the new password names the account.
    assert!(app.client.offer_reset_link(&link).await.unwrap().waiting);
    let step = app.client.answer_reset_link(true).unwrap();
    assert_eq!(
        step,
        Step::ResetPassword {
            mfa_methods: vec![],
            account_hint: Some("t***@corp.cn".into())
        }
    );
    let step = app
        .client
        .reset_password(secret(NEW_PASSWORD), None)
        .await
        .unwrap();
    assert!(matches!(step, Step::ResetDone { .. }), "{step:?}");
}

/// Issue 13: a link that was used (or expired) is refused at once, before the person
/// is asked to drop their sign-in; what was under way stays.
async fn a_used_reset_link_is_refused_before_anything_is_asked(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("qian@corp.cn", PASSWORD).await;
    let mut other = App::on(&srv);
    other.client.start().await;
    other.client.begin_reset().unwrap();
    other
        .client
        .send_reset_code("qian@corp.cn", None)
        .await
        .unwrap();
    let link = reset_link(&srv.smtp.wait_for(1).await.remove(0).text());
    other.client.open_reset_link(&link).await.unwrap();
    other
        .client
        .reset_password(secret(NEW_PASSWORD), None)
        .await
        .unwrap();

    let mut app = App::on(&srv);
    app.client.start().await;
    app.client.identify("qian@corp.cn").await.unwrap();
    let e = app.client.offer_reset_link(&link).await.unwrap_err();
    assert_eq!(e.code(), Code::SessionExpired, "{e:?}");
    assert!(matches!(app.client.step(), Step::Password { .. }));
    assert_eq!(
        app.client.answer_reset_link(true).unwrap_err().code(),
        Code::WrongStep,
        "nothing waits"
    );
    let mut idle = App::on(&srv);
    idle.client.start().await;
    let e = idle.client.open_reset_link(&link).await.unwrap_err();
    assert_eq!(e.code(), Code::SessionExpired, "{e:?}");
    assert!(matches!(idle.client.step(), Step::Identify { .. }));
}

/// Issue 13: the link says in advance that the account has two-step verification, so
/// the new password is asked together with a code (no failed try first).
async fn a_reset_link_of_a_totp_account_asks_for_the_code_up_front(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    let mut app = App::on(&srv);
    sign_in(&mut app, &srv, "he@corp.cn", PASSWORD, false).await;
    let (totp_secret, _) = enrol_totp(&mut app, &srv, None).await;
    app.client.sign_out().await.unwrap();

    app.client.begin_reset().unwrap();
    let before = srv.smtp.messages().len();
    app.client
        .send_reset_code("he@corp.cn", None)
        .await
        .unwrap();
    // The TOTP-enabled notice may arrive too: wait for the mail with the code and link.
    mailed_code(&srv, before).await;
    let mail = srv
        .smtp
        .messages()
        .into_iter()
        .skip(before)
        .find(|m| m.text().contains("latchkey://reset?token="))
        .expect("the reset mail");
    let link = reset_link(&mail.text());
    let mut fresh = App::on(&srv);
    fresh.client.start().await;
    let step = fresh.client.open_reset_link(&link).await.unwrap();
    let Step::ResetPassword {
        mfa_methods,
        account_hint,
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(account_hint.as_deref(), Some("h***@corp.cn"));
    assert!(mfa_methods.contains(&MfaMethod::Totp), "{mfa_methods:?}");
    let step = fresh
        .client
        .reset_password(
            secret(NEW_PASSWORD),
            Some(SecondFactor {
                method: MfaMethod::Totp,
                code: secret(&srv.totp(&totp_secret)),
            }),
        )
        .await
        .unwrap();
    assert!(matches!(step, Step::ResetDone { .. }), "{step:?}");
}
