//! A reset by e-mailed code, e-mailed link or SMS, late mail, and the notice of a change.

use std::time::{Duration, Instant};

use latchkey_server::admin::AddUser;
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::sms::SmsGateway;
use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::json;

use super::{
    code_mail, complete, link_token, mail_where, started_id, verify, with_smtp, wrong, EMAIL,
};

on_both!(
    an_emailed_code_resets_the_password_and_ends_every_session,
    the_link_in_the_email_is_a_reset_token,
    sms_is_used_when_asked_for,
    the_message_arrives_after_smtp_comes_back,
    changing_the_password_sends_a_notice,
);

async fn an_emailed_code_resets_the_password_and_ends_every_session(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let old = srv.login(EMAIL, PASSWORD).await;
    let (s, body) = srv
        .post(
            "/v1/recovery/start",
            json!({"identifier": "Zhang.Wei@CORP.cn", "locale": "zh-CN"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["resend_after"], 60);
    assert_eq!(body["expires_in"], 600);
    let id = body["recovery_id"].as_str().unwrap();
    let mail = code_mail(&sink, 1).await;
    assert_eq!(mail.to, vec![EMAIL.to_owned()]);
    assert!(mail.subject().contains("重置"), "{}", mail.subject());
    let code = mail.code().expect("a code in the e-mail");

    let (s, body) = verify(&srv, id, &wrong(&code)).await;
    assert_error(s, &body, 400, "code_invalid");
    // Spaces typed or pasted around the digits are fine.
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let (s, body) = verify(&srv, id, &spaced).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["second_factor_required"], false);
    assert_eq!(body["mfa_methods"], json!([]));
    let token = body["reset_token"].as_str().unwrap().to_owned();
    // The code worked once.
    let (s, body) = verify(&srv, id, &code).await;
    assert_error(s, &body, 401, "token_invalid");

    // The policy applies; a refusal keeps the token.
    let (s, body) = complete(&srv, &token, "5201314").await;
    assert_error(s, &body, 422, "password_rejected");
    let (s, body) = complete(&srv, &token, PASSWORD).await;
    assert_error(s, &body, 422, "password_rejected");
    assert!(
        body["reasons"].to_string().contains("same_as_current"),
        "{body}"
    );
    let (s, body) = complete(&srv, &token, OTHER_PASSWORD).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, body) = complete(&srv, &token, "Another-fresh-pass-2931").await;
    assert_error(s, &body, 401, "token_invalid");

    // Every session ended; only the new password works.
    let (s, body) = srv.get("/v1/me", old.access_token.expose()).await;
    assert_eq!(s, 401, "{body}");
    let (s, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": old.refresh_token.expose()}),
        )
        .await;
    assert_eq!(s, 401, "{body}");
    let (s, body) = srv.login_raw(EMAIL, PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    let session = srv.login(EMAIL, OTHER_PASSWORD).await;

    // "Your password was changed", in the account's language (the request's was for
    // the code only; this user has none set, and the server's region is CN).
    let notice = mail_where(&sink, 1, |m| m.subject().contains("密码已修改")).await;
    assert!(notice.code().is_none());

    let (s, body) = srv
        .get("/v1/me/activity", session.access_token.expose())
        .await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"password_reset"), "{kinds:?}");
    assert!(kinds.contains(&"recovery_start"), "{kinds:?}");
}

async fn the_link_in_the_email_is_a_reset_token(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let id = started_id(&srv, EMAIL).await;
    let mail = code_mail(&sink, 1).await;
    let html = mail.html().expect("an HTML part");
    assert!(html.contains("latchkey://reset?token="), "{html}");
    let token = link_token(&mail);
    assert!(token.len() >= 43, "a 256-bit token: {token}");
    let (s, body) = complete(&srv, &token, OTHER_PASSWORD).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    // The code of the same e-mail is void now.
    let (s, body) = verify(&srv, &id, &mail.code().unwrap()).await;
    assert_error(s, &body, 401, "token_invalid");
    srv.login(EMAIL, OTHER_PASSWORD).await;

    // A link is good for 30 minutes.
    srv.advance(61);
    let _ = started_id(&srv, EMAIL).await;
    let token = link_token(&code_mail(&sink, 2).await);
    srv.advance(30 * 60 + 1);
    let (s, body) = complete(&srv, &token, "Another-fresh-pass-2931").await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn sms_is_used_when_asked_for(b: Backend) {
    let gateway = SmsGateway::start().await;
    let sink = SmtpSink::start().await;
    let (hook, smtp) = (gateway.url.clone(), sink.url());
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.sms_webhook_url = Some(hook);
        c.delivery.smtp_url = Some(smtp);
    })
    .await
    else {
        return;
    };
    srv.add(
        AddUser {
            email: Some(EMAIL.into()),
            phone: Some("13800138000".into()),
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let (s, body) = srv
        .post(
            "/v1/recovery/start",
            json!({"identifier": "+86 138 0013 8000", "channel": "sms"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let sms = gateway.wait_for(1).await.remove(0);
    assert_eq!(sms.body["to"], "+8613800138000");
    let text = sms.body["text"].as_str().unwrap();
    assert!(!text.contains("latchkey://"), "no link by SMS: {text}");
    let code = sms.code().expect("a code in the SMS");
    let (s, body) = verify(&srv, body["recovery_id"].as_str().unwrap(), &code).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = complete(&srv, body["reset_token"].as_str().unwrap(), OTHER_PASSWORD).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    // The notice goes to the e-mail address.
    let notice = sink.wait_for(1).await.remove(0);
    assert_eq!(notice.to, vec![EMAIL.to_owned()]);
    assert!(sink.messages().iter().all(|m| m.code().is_none()));
}

/// The mail server is down when the user asks: the answer comes at once, and the code
/// arrives once the server is back.
async fn the_message_arrives_after_smtp_comes_back(b: Backend) {
    let Some((srv, mut sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    sink.stop();
    let t = Instant::now();
    let id = started_id(&srv, EMAIL).await;
    let answered = t.elapsed();
    eprintln!("recovery/start answered in {answered:?} with SMTP down");
    // Let the dispatcher fail at least once, then bring the server back and skip the
    // backoff wait on the server's clock.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.messages().is_empty());
    sink.restart().await;
    let mut code = None;
    for _ in 0..40 {
        srv.advance(30);
        srv.state.outbound.notify_one();
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(m) = sink.messages().first() {
            code = m.code();
            break;
        }
    }
    let code = code.expect("the code arrived after SMTP came back");
    let (s, body) = verify(&srv, &id, &code).await;
    assert_eq!(s, 200, "{body}");
}

async fn changing_the_password_sends_a_notice(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add(
        AddUser {
            email: Some(EMAIL.into()),
            locale: Some("en".into()),
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let session = srv.login(EMAIL, PASSWORD).await;
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/password",
            Some(session.access_token.expose()),
            Some(json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    // In the account's language.
    let notice = mail_where(&sink, 1, |m| m.subject().contains("password was changed")).await;
    assert!(notice.code().is_none());
}
