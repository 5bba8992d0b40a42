//! The rules of a reset: single-use codes, resend limits, TOTP, lockout, disabled accounts, bad input.

use std::time::Duration;

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend};
use reqwest::StatusCode;
use serde_json::json;

use super::{code_mail, complete, mail_where, start, started_id, verify, with_smtp, wrong, EMAIL};
use crate::api::totp::{code as totp_code, enabled_user};

on_both!(
    codes_are_single_use_expire_and_take_five_tries,
    resends_wait_a_minute_and_five_an_hour,
    a_reset_does_not_bypass_totp,
    a_reset_clears_the_lockout,
    disabled_accounts_get_no_code,
    bad_input_is_refused_clearly,
);

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
