//! `/v1/me`: profile, password change, activity.

use reqwest::Method;
use serde_json::json;

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    profile_needs_a_valid_token,
    change_password_checks_current_and_policy,
    wrong_current_passwords_lock_the_account,
    activity_lists_attempts_newest_first,
);

async fn profile_needs_a_valid_token(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("me@corp.cn", PASSWORD).await;
    let s = srv.login("me@corp.cn", PASSWORD).await;
    let (status, body) = srv.get("/v1/me", s.access_token.expose()).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["email"], "me@corp.cn");
    assert_eq!(body["user"]["mfa_enabled"], false);
    assert!(body["password_changed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["password_expires_at"], serde_json::Value::Null);
    // Without two-factor authentication there are no recovery codes to count.
    assert!(body.get("recovery_codes_left").is_none(), "{body}");
    let (status, body) = srv.call(Method::GET, "/v1/me", None, None).await;
    assert_error(status, &body, 401, "unauthenticated");
    let (status, body) = srv.get("/v1/me", "lka_forged").await;
    assert_error(status, &body, 401, "unauthenticated");
}

async fn change_password_checks_current_and_policy(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("chg@corp.cn", PASSWORD).await;
    let mine = srv.login("chg@corp.cn", PASSWORD).await;
    let other = srv.login("chg@corp.cn", PASSWORD).await;
    let token = mine.access_token.expose();
    let change = |current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        srv.call(Method::POST, "/v1/me/password", Some(token), Some(body))
    };
    let (s, body) = change("Wrong-password-123", OTHER_PASSWORD).await;
    assert_error(s, &body, 403, "current_password_invalid");
    let (s, body) = change(PASSWORD, "5201314woaini").await;
    assert_error(s, &body, 422, "password_rejected");
    assert!(
        body["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("too_weak"))
            || body["reasons"]
                .as_array()
                .unwrap()
                .contains(&json!("common_password")),
        "{body}"
    );
    assert_eq!(body["field"], "new_password");
    let (s, body) = change(PASSWORD, &"x".repeat(129)).await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["too_long"]));
    let (s, body) = change(PASSWORD, PASSWORD).await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["same_as_current"]));
    let (s, _) = change(PASSWORD, OTHER_PASSWORD).await;
    assert_eq!(s, 204);
    // This session stays; the others are signed out; the new password works.
    let (s, _) = srv.get("/v1/me", token).await;
    assert_eq!(s, 200);
    let (s, _) = srv.get("/v1/me", other.access_token.expose()).await;
    assert_eq!(s, 401);
    let (s, body) = srv.login_raw("chg@corp.cn", PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    srv.login("chg@corp.cn", OTHER_PASSWORD).await;
}

async fn wrong_current_passwords_lock_the_account(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("oracle@corp.cn", PASSWORD).await;
    let s = srv.login("oracle@corp.cn", PASSWORD).await;
    let mut last = None;
    for _ in 0..5 {
        let body =
            json!({"current_password": "Wrong-password-123", "new_password": OTHER_PASSWORD});
        last = Some(
            srv.call(
                Method::POST,
                "/v1/me/password",
                Some(s.access_token.expose()),
                Some(body),
            )
            .await,
        );
    }
    let (status, body) = last.unwrap();
    assert_error(status, &body, 423, "account_locked");
    // The account's own limit is used up: a sign-in from a device it never used is
    // refused (answered as a wrong password, issue 13); the remembered device that
    // holds the token keeps its own budget.
    let (status, body) = srv
        .login_device("oracle@corp.cn", PASSWORD, "other-pc")
        .await;
    assert_error(status, &body, 401, "invalid_credentials");
    srv.login("oracle@corp.cn", PASSWORD).await;
}

async fn activity_lists_attempts_newest_first(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("act@corp.cn", PASSWORD).await;
    let (s, _) = srv
        .login_device("act@corp.cn", "Wrong-password-123", "pc-1")
        .await;
    assert_eq!(s, 401);
    srv.advance(1);
    let session = srv.login("act@corp.cn", PASSWORD).await;
    let (s, body) = srv
        .get("/v1/me/activity", session.access_token.expose())
        .await;
    assert_eq!(s, 200);
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    assert_eq!(entries[0]["kind"], "login");
    assert_eq!(entries[0]["result"], "ok");
    assert_eq!(entries[1]["result"], "invalid_credentials");
    assert_eq!(
        entries[1]["device"]["id"],
        latchkey_server::devices::stored_id("pc-1")
    );
    assert!(!body.to_string().contains("\"pc-1\""), "{body}");
    assert_eq!(entries[1]["ip"], "127.0.0.1");
    let (s, body) = srv
        .get("/v1/me/activity?limit=1", session.access_token.expose())
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    // Unknown identifiers are not attached to anyone, and nothing stores what was typed.
    srv.login_raw("Plum-orchard-violin-73", "whatever-it-was")
        .await;
    let typed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activity WHERE user_id IS NULL")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(typed, 1);
}
