//! The `mfa_required` sign-in step: single use, drift, the second factor's lockout, forced change.

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};
use serde_json::json;

use super::{activity_kinds, code, enabled_user, mfa_token, second, sign_in_totp, start, KEY};

on_both!(
    a_code_is_accepted_once,
    one_step_of_drift_is_accepted_two_are_not,
    code_failures_lock_the_second_factor_not_the_password,
    an_mfa_token_takes_five_wrong_codes_and_expires,
    a_forced_change_still_needs_the_second_factor,
);

async fn a_code_is_accepted_once(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "replay@corp.cn").await;
    let c = code(&srv, &e.secret, 0);
    let t1 = mfa_token(&srv, "replay@corp.cn").await;
    let (s, body) = second(&srv, &t1, "totp", &c).await;
    assert_eq!(s, 200, "{body}");
    // The same code again, on a fresh sign-in, within its step: refused.
    let t2 = mfa_token(&srv, "replay@corp.cn").await;
    let (s, body) = second(&srv, &t2, "totp", &c).await;
    assert_error(s, &body, 400, "code_invalid");
    // Nor does the previous step's code work any more (older than the one used).
    let (s, body) = second(&srv, &t2, "totp", &code(&srv, &e.secret, -1)).await;
    assert_error(s, &body, 400, "code_invalid");
    // The used mfa_token itself is gone.
    let (s, body) = second(&srv, &t1, "totp", &code(&srv, &e.secret, 1)).await;
    assert_error(s, &body, 401, "token_invalid");
    // The next step's code works.
    srv.advance(30);
    let (s, body) = second(&srv, &t2, "totp", &code(&srv, &e.secret, 0)).await;
    assert_eq!(s, 200, "{body}");
}

async fn one_step_of_drift_is_accepted_two_are_not(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "drift@corp.cn").await;
    srv.advance(300);
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, -1).await;
    assert_eq!(s, 200, "one step behind: {body}");
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, 1).await;
    assert_eq!(s, 200, "one step ahead: {body}");
    srv.advance(300);
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, -2).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, 2).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = sign_in_totp(&srv, "drift@corp.cn", &e.secret, 0).await;
    assert_eq!(s, 200, "{body}");
}

async fn code_failures_lock_the_second_factor_not_the_password(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "mfalock@corp.cn").await;
    // Codes next to the current one: wrong for every step in the window (but for a
    // one-in-a-million coincidence).
    let wrong = |i: u32| {
        let current: u32 = code(&srv, &e.secret, 0).parse().unwrap();
        format!("{:06}", (current + 1 + i) % 1_000_000)
    };
    let t = mfa_token(&srv, "mfalock@corp.cn").await;
    for i in 0..4 {
        let (s, body) = second(&srv, &t, "totp", &wrong(i)).await;
        assert_error(s, &body, 400, "code_invalid");
    }
    let (s, body) = second(&srv, &t, "totp", &wrong(4)).await;
    assert_error(s, &body, 423, "account_locked");
    assert_eq!(body["retry_after"], 900);
    // The password step is not locked: it still answers mfa_required ...
    let t = mfa_token(&srv, "mfalock@corp.cn").await;
    // ... but the second factor is, even with the right code or a recovery code.
    let (s, body) = second(&srv, &t, "totp", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 423, "account_locked");
    let (s, body) = second(&srv, &t, "recovery_code", &e.codes[0]).await;
    assert_error(s, &body, 423, "account_locked");
    // The password's own lock counter was not touched: four wrong passwords still
    // leave the account open.
    for _ in 0..4 {
        let (s, body) = srv.login_raw("mfalock@corp.cn", "Wrong-password-123").await;
        assert_error(s, &body, 401, "invalid_credentials");
    }
    mfa_token(&srv, "mfalock@corp.cn").await;
    srv.advance(901);
    let (s, body) = sign_in_totp(&srv, "mfalock@corp.cn", &e.secret, 0).await;
    assert_eq!(s, 200, "{body}");
    // The failures were recorded for the user to see.
    let access = body["access_token"].as_str().unwrap();
    let kinds = activity_kinds(&srv, access).await;
    assert!(
        kinds.contains(&("mfa".into(), "code_invalid".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("mfa".into(), "account_locked".into())),
        "{kinds:?}"
    );
}

async fn an_mfa_token_takes_five_wrong_codes_and_expires(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(KEY.into());
        c.lockout.threshold = 20;
    })
    .await
    else {
        return;
    };
    let e = enabled_user(&srv, "tok@corp.cn").await;
    let t = mfa_token(&srv, "tok@corp.cn").await;
    for _ in 0..4 {
        let (s, body) = second(&srv, &t, "recovery_code", "zzzz-zzzz-zzzz").await;
        assert_error(s, &body, 400, "code_invalid");
    }
    let (s, body) = second(&srv, &t, "recovery_code", "zzzz-zzzz-zzzz").await;
    assert_error(s, &body, 429, "too_many_attempts");
    let (s, body) = second(&srv, &t, "totp", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 401, "token_invalid");
    // A token lives five minutes.
    let t = mfa_token(&srv, "tok@corp.cn").await;
    srv.advance(5 * 60 + 1);
    let (s, body) = second(&srv, &t, "totp", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 401, "token_invalid");
    // Malformed bodies are invalid requests, not 500s.
    for bad in [
        json!({"mfa_token": t, "method": "sms", "code": "123456"}),
        json!({"mfa_token": t, "method": "totp"}),
        json!({"mfa_token": "", "method": "totp", "code": "123456"}),
        json!({"mfa_token": t, "method": "totp", "code": ""}),
    ] {
        let (s, body) = srv.post("/v1/auth/mfa", bad).await;
        assert_error(s, &body, 400, "invalid_request");
    }
}

async fn a_forced_change_still_needs_the_second_factor(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "forced@corp.cn").await;
    latchkey_server::admin::reset_password(
        &srv.state,
        "forced@corp.cn",
        &latchkey_proto::Secret::from(OTHER_PASSWORD),
    )
    .await
    .unwrap();
    let (s, body) = srv.login_raw("forced@corp.cn", OTHER_PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required");
    assert_eq!(body["mfa_methods"], json!(["totp", "recovery_code"]));
    let change = body["change_token"].as_str().unwrap();
    let new_password = "Saffron-harbour-kettle-42";
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change, "new_password": new_password}),
        )
        .await;
    assert_error(s, &body, 401, "mfa_required");
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change, "new_password": new_password, "totp_code": "000000"}),
        )
        .await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change, "new_password": new_password,
                   "totp_code": code(&srv, &e.secret, 0)}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["user"]["mfa_enabled"], true);
    // And the next sign-in asks for the second factor again.
    let (s, body) = srv.login_raw("forced@corp.cn", new_password).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "mfa_required", "{body}");
}
