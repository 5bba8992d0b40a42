//! Forgot password (`/v1/recovery/*`) over real HTTP, with the codes read from the
//! e-mails a real SMTP server on loopback received (or the SMS a real webhook
//! received), never from the database.

use std::time::{Duration, Instant};

use latchkey_server::admin::AddUser;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::totp::{code as totp_code, enabled_user, KEY};
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::sms::SmsGateway;
use latchkey_testkit::smtp::{Received, SmtpSink};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    an_emailed_code_resets_the_password_and_ends_every_session,
    the_link_in_the_email_is_a_reset_token,
    sms_is_used_when_asked_for,
    codes_are_single_use_expire_and_take_five_tries,
    resends_wait_a_minute_and_five_an_hour,
    unknown_identifiers_get_the_same_answers,
    start_takes_the_same_time_for_unknown_and_known,
    a_reset_does_not_bypass_totp,
    a_reset_clears_the_lockout,
    the_message_arrives_after_smtp_comes_back,
    disabled_accounts_get_no_code,
    bad_input_is_refused_clearly,
    changing_the_password_sends_a_notice,
);

const EMAIL: &str = "zhang.wei@corp.cn";

pub(crate) async fn with_smtp(b: Backend) -> Option<(TestServer, SmtpSink)> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let srv = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.secret_key = Some(KEY.into());
    })
    .await?;
    Some((srv, sink))
}

pub(crate) async fn start(srv: &TestServer, identifier: &str) -> (StatusCode, Value) {
    srv.post("/v1/recovery/start", json!({"identifier": identifier}))
        .await
}

pub(crate) async fn started_id(srv: &TestServer, identifier: &str) -> String {
    let (s, body) = start(srv, identifier).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    body["recovery_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn verify(srv: &TestServer, id: &str, code: &str) -> (StatusCode, Value) {
    srv.post(
        "/v1/recovery/verify",
        json!({"recovery_id": id, "code": code}),
    )
    .await
}

pub(crate) async fn complete(srv: &TestServer, token: &str, password: &str) -> (StatusCode, Value) {
    srv.post(
        "/v1/recovery/complete",
        json!({"reset_token": token, "new_password": password}),
    )
    .await
}

/// The `n`-th e-mail (from 1) that carries a code, waiting up to 10 s for it; notices
/// (such as "new sign-in") are skipped.
pub(crate) async fn code_mail(sink: &SmtpSink, n: usize) -> Received {
    mail_where(sink, n, |m| m.code().is_some()).await
}

/// The `n`-th e-mail (from 1) that `pred` accepts, waiting up to 10 s for it.
pub(crate) async fn mail_where(
    sink: &SmtpSink,
    n: usize,
    pred: impl Fn(&Received) -> bool,
) -> Received {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<Received> = sink.messages().into_iter().filter(|m| pred(m)).collect();
        if found.len() >= n {
            return found[n - 1].clone();
        }
        assert!(
            Instant::now() < deadline,
            "only {} such e-mails",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn link_token(mail: &Received) -> String {
    let text = mail.text();
    let at = text
        .find("latchkey://reset?token=")
        .unwrap_or_else(|| panic!("a reset link in the e-mail: {text}"));
    text[at + "latchkey://reset?token=".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A wrong code that is surely not `code`.
pub(crate) fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

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

async fn codes_are_single_use_expire_and_take_five_tries(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    // Five wrong tries use the code up, even for the right code afterwards.
    let id = started_id(&srv, EMAIL).await;
    let code = code_mail(&sink, 1).await.code().unwrap();
    for i in 1..=5 {
        let (s, body) = verify(&srv, &id, &wrong(&code)).await;
        if i < 5 {
            assert_error(s, &body, 400, "code_invalid");
        } else {
            assert_error(s, &body, 429, "too_many_attempts");
        }
    }
    let (s, body) = verify(&srv, &id, &code).await;
    assert_error(s, &body, 429, "too_many_attempts");

    // Ten minutes.
    srv.advance(61);
    let id = started_id(&srv, EMAIL).await;
    let code = code_mail(&sink, 2).await.code().unwrap();
    srv.advance(600);
    let (s, body) = verify(&srv, &id, &code).await;
    assert_error(s, &body, 400, "code_expired");

    // Only the newest code works.
    let first = started_id(&srv, EMAIL).await;
    let first_code = code_mail(&sink, 3).await.code().unwrap();
    srv.advance(61);
    let second = started_id(&srv, EMAIL).await;
    let second_code = code_mail(&sink, 4).await.code().unwrap();
    let (s, body) = verify(&srv, &first, &first_code).await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, body) = verify(&srv, &second, &second_code).await;
    assert_eq!(s, 200, "{body}");

    // Non-digits are just wrong codes.
    let (s, body) = verify(&srv, &second, "abcdef").await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn resends_wait_a_minute_and_five_an_hour(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let _ = started_id(&srv, EMAIL).await;
    let (s, body) = start(&srv, EMAIL).await;
    assert_error(s, &body, 429, "rate_limited");
    let wait = body["retry_after"].as_u64().unwrap();
    assert!((1..=60).contains(&wait), "{body}");
    srv.advance(61);
    for _ in 0..4 {
        let _ = started_id(&srv, EMAIL).await;
        srv.advance(61);
    }
    // Five sent within the hour: the sixth waits until the first is an hour old.
    let (s, body) = start(&srv, EMAIL).await;
    assert_error(s, &body, 429, "rate_limited");
    let wait = body["retry_after"].as_u64().unwrap();
    assert!(wait > 60 && wait <= 3600 - 5 * 61 + 1, "{body}");
    srv.advance(wait);
    let _ = started_id(&srv, EMAIL).await;
    assert_eq!(sink.wait_for(6).await.len(), 6);
}

/// The shape of an answer with its ids blanked.
fn shape(mut v: Value) -> Value {
    if let Some(id) = v.get_mut("recovery_id") {
        assert_eq!(id.as_str().unwrap().len(), 32, "{id}");
        *id = json!("<id>");
    }
    v
}

async fn unknown_identifiers_get_the_same_answers(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    for (known, unknown) in [
        (EMAIL, "nobody@corp.cn"),
        (EMAIL, "not an identifier!"),
        (EMAIL, "13900000000"),
    ] {
        srv.advance(3600);
        let (s1, b1) = start(&srv, known).await;
        let (s2, b2) = start(&srv, unknown).await;
        assert_eq!(s1, s2);
        assert_eq!(shape(b1.clone()), shape(b2.clone()));
        // The resend wait looks the same too.
        let (s3, b3) = start(&srv, known).await;
        let (s4, b4) = start(&srv, unknown).await;
        assert_eq!(
            (s3, s4),
            (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(b3, b4);
        // A code for the unknown one is simply wrong, then used up, like any other.
        let id = b2["recovery_id"].as_str().unwrap();
        let (s, body) = verify(&srv, id, "123456").await;
        assert_error(s, &body, 400, "code_invalid");
    }
    // Only the known account got mail.
    assert_eq!(sink.wait_for(3).await.len(), 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3);
    assert!(sink
        .messages()
        .iter()
        .all(|m| m.to == vec![EMAIL.to_owned()]));
}

/// The time of one `start`, measured by the client.
async fn timed_start(srv: &TestServer, identifier: &str) -> (Duration, StatusCode, Value) {
    let t = Instant::now();
    let (s, body) = start(srv, identifier).await;
    (t.elapsed(), s, body)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// 50 tries each, interleaved so that machine noise hits both alike; the answers are
/// byte-identical apart from the id and the medians differ by less than 5 ms.
///
/// This server only queues (no dispatcher): sending the queued e-mail would load the
/// database during whichever request came next, which is noise of this test's
/// sequence, not a difference of the two answers.
async fn start_takes_the_same_time_for_unknown_and_known(b: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.delivery.dispatcher = false;
    })
    .await
    else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    // Warm up connections and caches.
    for id in [EMAIL, "nobody@corp.cn"] {
        let _ = start(&srv, id).await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..50 {
        // An hour later each round, so that the resend limits never answer.
        srv.advance(3601);
        let order = if i % 2 == 0 {
            [(EMAIL, true), ("nobody@corp.cn", false)]
        } else {
            [("nobody@corp.cn", false), (EMAIL, true)]
        };
        let mut bodies = Vec::new();
        for (id, is_known) in order {
            let (t, s, body) = timed_start(&srv, id).await;
            assert_eq!(s, StatusCode::ACCEPTED, "{body}");
            let bytes = serde_json::to_vec(&shape(body)).unwrap();
            bodies.push(bytes);
            if is_known {
                known.push(t);
            } else {
                unknown.push(t);
            }
        }
        assert_eq!(bodies[0], bodies[1]);
    }
    let (k, u) = (median(known), median(unknown));
    let diff = k.abs_diff(u);
    eprintln!("recovery/start median: known {k:?}, unknown {u:?}, difference {diff:?}");
    assert!(
        diff < Duration::from_millis(5),
        "known {k:?} vs unknown {u:?}"
    );
}

async fn a_reset_does_not_bypass_totp(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    let enabled = enabled_user(&srv, EMAIL).await;
    // Turning two-factor authentication on sent a notice.
    let on = mail_where(&sink, 1, |m| m.subject().contains("已开启两步验证")).await;
    assert_eq!(on.to, vec![EMAIL.to_owned()]);
    let id = started_id(&srv, EMAIL).await;
    let code = code_mail(&sink, 1).await.code().unwrap();
    let (s, body) = verify(&srv, &id, &code).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["second_factor_required"], true);
    assert_eq!(body["mfa_methods"], json!(["totp", "recovery_code"]));
    let token = body["reset_token"].as_str().unwrap().to_owned();
    let (s, body) = complete(&srv, &token, OTHER_PASSWORD).await;
    assert_error(s, &body, 401, "mfa_required");
    let bad = wrong(&totp_code(&srv, &enabled.secret, 0));
    let (s, body) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": token, "new_password": OTHER_PASSWORD, "totp_code": bad}),
        )
        .await;
    assert_error(s, &body, 400, "code_invalid");
    let good = totp_code(&srv, &enabled.secret, 0);
    let (s, body) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": token, "new_password": OTHER_PASSWORD, "totp_code": good}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    // Still two-factor afterwards.
    let (s, body) = srv.login_raw(EMAIL, OTHER_PASSWORD).await;
    assert_eq!(s, 200);
    assert_eq!(body["status"], "mfa_required", "{body}");

    // A recovery code works too, once.
    srv.advance(61);
    let id = started_id(&srv, EMAIL).await;
    let code = code_mail(&sink, 2).await.code().unwrap();
    let (_, body) = verify(&srv, &id, &code).await;
    let token = body["reset_token"].as_str().unwrap().to_owned();
    let (s, body) = srv
        .post(
            "/v1/recovery/complete",
            json!({"reset_token": token, "new_password": "Another-fresh-pass-2931",
                   "recovery_code": enabled.codes[0]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
}

async fn a_reset_clears_the_lockout(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    for _ in 0..5 {
        let _ = srv.login_raw(EMAIL, "Wrong-password-entirely-1").await;
    }
    let (s, body) = srv.login_raw(EMAIL, PASSWORD).await;
    assert_error(s, &body, 423, "account_locked");
    let id = started_id(&srv, EMAIL).await;
    let code = code_mail(&sink, 1).await.code().unwrap();
    let (_, body) = verify(&srv, &id, &code).await;
    let (s, body) = complete(&srv, body["reset_token"].as_str().unwrap(), OTHER_PASSWORD).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    srv.login(EMAIL, OTHER_PASSWORD).await;
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

async fn disabled_accounts_get_no_code(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    latchkey_server::admin::set_disabled(&srv.state, EMAIL, true)
        .await
        .unwrap();
    let (s, _) = start(&srv, EMAIL).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.messages().is_empty());
}

async fn bad_input_is_refused_clearly(b: Backend) {
    let Some((srv, _sink)) = with_smtp(b).await else {
        return;
    };
    let (s, body) = start(&srv, "").await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = start(&srv, &"a".repeat(10_000)).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = srv
        .post(
            "/v1/recovery/start",
            json!({"identifier": EMAIL, "channel": "pigeon"}),
        )
        .await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = srv
        .post("/v1/recovery/start", json!({"identifier": 42}))
        .await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = verify(&srv, "", "123456").await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = verify(&srv, &"f".repeat(500), "123456").await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = verify(&srv, "00000000000000000000000000000000", "123456").await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, body) = verify(&srv, "00000000000000000000000000000000", "").await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = complete(&srv, "lkc_nope", OTHER_PASSWORD).await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, body) = complete(&srv, "lkc_nope", &"x".repeat(5000)).await;
    assert_error(s, &body, 400, "invalid_request");
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
