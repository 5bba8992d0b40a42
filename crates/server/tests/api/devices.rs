//! New-device verification and the new-sign-in notice, over real HTTP, with the codes
//! read from a real SMTP server's and a real SMS webhook's messages.

use std::time::{Duration, Instant};

use latchkey_proto::Secret;
use latchkey_server::admin::{self, AddUser};
use latchkey_server::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::totp::{base32_decode, code as totp_code, KEY};
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::sms::SmsGateway;
use latchkey_testkit::smtp::{Received, SmtpSink};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    a_new_device_needs_an_emailed_code_once,
    a_phone_only_account_gets_the_code_by_sms,
    wrong_codes_and_replays_are_refused,
    codes_are_limited_to_five_an_hour,
    totp_accounts_skip_the_code_but_get_the_notice,
    switched_off_signs_in_but_still_tells_the_user,
    a_forced_change_from_a_new_device_verifies_the_device_first,
);

const EMAIL: &str = "li.na@corp.cn";

#[test]
fn verification_is_on_by_default() {
    assert!(Config::default().devices.verify_new);
}

async fn with_smtp(b: Backend) -> Option<(TestServer, SmtpSink)> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let srv = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.secret_key = Some(KEY.into());
        c.devices.verify_new = true;
    })
    .await?;
    Some((srv, sink))
}

async fn verify(srv: &TestServer, token: &str, code: &str) -> (StatusCode, Value) {
    srv.post(
        "/v1/auth/device/verify",
        json!({"challenge_token": token, "code": code}),
    )
    .await
}

/// The `n`-th e-mail (from 1) whose subject contains `needle`, waiting up to 10 s.
async fn mail(sink: &SmtpSink, n: usize, needle: &str) -> Received {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Received> = sink
            .messages()
            .into_iter()
            .filter(|m| m.subject().contains(needle))
            .collect();
        if found.len() >= n {
            return found[n - 1].clone();
        }
        assert!(
            Instant::now() < deadline,
            "only {} e-mails about {needle}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn count(sink: &SmtpSink, needle: &str) -> usize {
    sink.messages()
        .iter()
        .filter(|m| m.subject().contains(needle))
        .count()
}

const CODE_MAIL: &str = "新设备登录验证码";
const NOTICE_MAIL: &str = "新设备登录提醒";

/// Signs in from `device` and expects `device_verification_required`; returns the
/// challenge token.
async fn challenged(srv: &TestServer, device: &str) -> String {
    let (s, body) = srv.login_device(EMAIL, PASSWORD, device).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    body["challenge_token"].as_str().unwrap().to_owned()
}

async fn a_new_device_needs_an_emailed_code_once(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let (s, body) = srv.login_device(EMAIL, PASSWORD, "laptop").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    assert_eq!(body["destination"], "l***@corp.cn");
    assert_eq!(body["channel"], "email");
    assert_eq!(body["expires_in"], 600);
    let token = body["challenge_token"].as_str().unwrap();
    let code = mail(&sink, 1, CODE_MAIL).await.code().unwrap();
    let (s, body) = verify(&srv, token, &code).await;
    assert_eq!(s, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["email"], EMAIL);
    // The session names the device the sign-in started on.
    let (_, list) = srv.get("/v1/me/sessions", &access).await;
    assert_eq!(
        list["sessions"][0]["device"]["id"],
        latchkey_server::devices::stored_id("laptop"),
        "{list}"
    );
    // The notice of the new sign-in follows.
    let notice = mail(&sink, 1, NOTICE_MAIL).await;
    assert!(notice.text().contains("laptop name"), "{}", notice.text());

    // The device is known now: the password alone is enough, and no more mail.
    let session = srv.login_device(EMAIL, PASSWORD, "laptop").await;
    assert_eq!(session.1["status"], "ok", "{}", session.1);
    // Another device asks again.
    let _ = challenged(&srv, "desktop").await;
    let _ = mail(&sink, 2, CODE_MAIL).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&sink, NOTICE_MAIL), 1);

    let (_, act) = srv.get("/v1/me/activity", &access).await;
    let results: Vec<String> = act["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["kind"].as_str().unwrap(),
                e["result"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        results.contains(&"login/device_verification_required".to_owned()),
        "{results:?}"
    );
    assert!(
        results.contains(&"device_verify/ok".to_owned()),
        "{results:?}"
    );
}

async fn a_phone_only_account_gets_the_code_by_sms(b: Backend) {
    let gateway = SmsGateway::start().await;
    let hook = gateway.url.clone();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.sms_webhook_url = Some(hook);
        c.devices.verify_new = true;
    })
    .await
    else {
        return;
    };
    srv.add(
        AddUser {
            phone: Some("+86 138 0013 8000".into()),
            username: Some("wangfang".into()),
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let (s, body) = srv.login_device("wangfang", PASSWORD, "pc-1").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    assert_eq!(body["destination"], "138****8000");
    assert_eq!(body["channel"], "sms");
    let sms = gateway.wait_for(1).await.remove(0);
    assert_eq!(sms.body["to"], "+8613800138000");
    let (s, body) = verify(
        &srv,
        body["challenge_token"].as_str().unwrap(),
        &sms.code().unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{body}");
}

async fn wrong_codes_and_replays_are_refused(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let token = challenged(&srv, "laptop").await;
    let code = mail(&sink, 1, CODE_MAIL).await.code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        let (s, body) = verify(&srv, &token, wrong).await;
        assert_error(s, &body, 400, "code_invalid");
    }
    let (s, body) = verify(&srv, &token, "not digits").await;
    assert_error(s, &body, 429, "too_many_attempts");
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 401, "token_invalid");

    // A right code works once.
    let token = challenged(&srv, "laptop").await;
    let code = mail(&sink, 2, CODE_MAIL).await.code().unwrap();
    let (s, body) = verify(&srv, &token, &code).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 401, "token_invalid");

    // Ten minutes.
    let token = challenged(&srv, "desktop").await;
    let code = mail(&sink, 3, CODE_MAIL).await.code().unwrap();
    srv.advance(601);
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 401, "token_invalid");

    // A disabled account cannot finish.
    let token = challenged(&srv, "tablet").await;
    let code = mail(&sink, 4, CODE_MAIL).await.code().unwrap();
    latchkey_server::admin::set_disabled(&srv.state, EMAIL, true)
        .await
        .unwrap();
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 403, "account_disabled");

    // Bad input.
    let (s, body) = verify(&srv, "", "123456").await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = verify(&srv, "lkc_x", "").await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = srv
        .post(
            "/v1/auth/device/verify",
            json!({"challenge_token": 5, "code": "1"}),
        )
        .await;
    assert_error(s, &body, 400, "invalid_request");
}

async fn codes_are_limited_to_five_an_hour(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    for i in 0..5 {
        let _ = challenged(&srv, &format!("device-{i}")).await;
        srv.advance(60);
    }
    let (s, body) = srv.login_device(EMAIL, PASSWORD, "device-6").await;
    assert_error(s, &body, 429, "rate_limited");
    let wait = body["retry_after"].as_u64().unwrap();
    assert!(wait > 0 && wait <= 3600 - 5 * 60 + 1, "{body}");
    // A known device is not held up by the limit... once one is known. Wait it out.
    srv.advance(wait);
    let _ = challenged(&srv, "device-6").await;
    let _ = mail(&sink, 6, CODE_MAIL).await;
}

async fn totp_accounts_skip_the_code_but_get_the_notice(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    // The first sign-in (to set up TOTP) verifies its device.
    srv.add_user(EMAIL, PASSWORD).await;
    let token = challenged(&srv, "dev-1").await;
    let code = mail(&sink, 1, CODE_MAIL).await.code().unwrap();
    let (s, body) = verify(&srv, &token, &code).await;
    assert_eq!(s, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (s, enrol) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/totp/enroll",
            Some(&access),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    let c = totp_code(&srv, &secret, 0);
    let (s, body) = srv
        .call(
            reqwest::Method::POST,
            "/v1/me/totp/confirm",
            Some(&access),
            Some(json!({"code": c})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    srv.advance(30);

    let (s, body) = srv.login_device(EMAIL, PASSWORD, "new-laptop").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "mfa_required", "{body}");
    let c = totp_code(&srv, &secret, 0);
    let (s, body) = srv
        .post(
            "/v1/auth/mfa",
            json!({"mfa_token": body["mfa_token"], "method": "totp", "code": c}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let notice = mail(&sink, 2, NOTICE_MAIL).await;
    assert!(
        notice.text().contains("new-laptop name"),
        "{}",
        notice.text()
    );
    assert_eq!(count(&sink, CODE_MAIL), 1);
}

async fn switched_off_signs_in_but_still_tells_the_user(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.devices.verify_new = false;
    })
    .await
    else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let (s, body) = srv.login_device(EMAIL, PASSWORD, "laptop").await;
    assert_eq!(
        (s.as_u16(), body["status"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    let notice = mail(&sink, 1, NOTICE_MAIL).await;
    assert!(notice.text().contains("127.0.0.1"), "{}", notice.text());
    let (s, _) = srv.login_device(EMAIL, PASSWORD, "laptop").await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count(&sink, NOTICE_MAIL),
        1,
        "a known device sends no notice"
    );
    assert_eq!(count(&sink, CODE_MAIL), 0);
}

/// A password that must change (expired, or a temporary one from IT) does not skip the
/// device code: the code comes first, and its right answer is
/// `password_change_required` with the change token, never a session.
async fn a_forced_change_from_a_new_device_verifies_the_device_first(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.secret_key = Some(KEY.into());
        c.devices.verify_new = true;
        c.password.expiry_days = 90;
    })
    .await
    else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let token = challenged(&srv, "laptop").await;
    let code = mail(&sink, 1, CODE_MAIL).await.code().unwrap();
    assert_eq!(verify(&srv, &token, &code).await.0, 200);
    srv.advance(91 * 86_400);

    // The known device goes straight to the change.
    let (_, body) = srv.login_device(EMAIL, PASSWORD, "laptop").await;
    assert_eq!(body["status"], "password_change_required", "{body}");
    assert_eq!(body["reason"], "expired", "{body}");

    // A device never seen gets the code first, and no change token yet.
    let (s, body) = srv.login_device(EMAIL, PASSWORD, "kiosk").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "device_verification_required", "{body}");
    assert!(body.get("change_token").is_none(), "{body}");
    let token = body["challenge_token"].as_str().unwrap().to_owned();
    let code = mail(&sink, 2, CODE_MAIL).await.code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, body) = verify(&srv, &token, wrong).await;
    assert_error(s, &body, 400, "code_invalid");
    assert!(body.get("change_token").is_none(), "{body}");
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 403, "password_change_required");
    assert_eq!(body["reason"], "expired", "{body}");
    assert_eq!(body["mfa_methods"], json!([]), "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    let change_token = body["change_token"].as_str().unwrap().to_owned();
    // The code is used up.
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 401, "token_invalid");
    // The device is known now: a client that did not follow the answer signs in again
    // and is sent to the change without another code.
    let (_, body) = srv.login_device(EMAIL, PASSWORD, "kiosk").await;
    assert_eq!(body["status"], "password_change_required", "{body}");
    assert_eq!(count(&sink, CODE_MAIL), 2);
    let _ = mail(&sink, 2, NOTICE_MAIL).await;
    let device = json!({"id": "kiosk", "name": "kiosk name", "platform": "linux"});
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change_token, "new_password": OTHER_PASSWORD, "device": device}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["access_token"].as_str().is_some(), "{body}");
    let (_, body) = srv.login_device(EMAIL, OTHER_PASSWORD, "kiosk").await;
    assert_eq!(body["status"], "ok", "{body}");

    // A temporary password from IT, on yet another new device: the same order.
    admin::reset_password(&srv.state, EMAIL, &Secret::from("Temporary-lantern-2931"))
        .await
        .unwrap();
    let (_, body) = srv
        .login_device(EMAIL, "Temporary-lantern-2931", "desk")
        .await;
    assert_eq!(body["status"], "device_verification_required", "{body}");
    let token = body["challenge_token"].as_str().unwrap().to_owned();
    let code = mail(&sink, 3, CODE_MAIL).await.code().unwrap();
    let (s, body) = verify(&srv, &token, &code).await;
    assert_error(s, &body, 403, "password_change_required");
    assert_eq!(body["reason"], "temporary", "{body}");
}
