//! Forced password change: a temporary password set by IT, or an expired one, leads to
//! `password_change_required` and `POST /v1/auth/password`.

use latchkey_proto::{Secret, Session};
use latchkey_server::admin;
use serde_json::json;

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    temporary_password_must_be_changed_at_sign_in,
    expired_password_must_be_changed,
    history_refuses_recent_passwords,
);

async fn change(
    srv: &TestServer,
    token: &str,
    new: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    srv.post(
        "/v1/auth/password",
        json!({"change_token": token, "new_password": new}),
    )
    .await
}

async fn temporary_password_must_be_changed_at_sign_in(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("temp@corp.cn", PASSWORD).await;
    let old = srv.login("temp@corp.cn", PASSWORD).await;
    let temporary = "Saffron-glacier-willow-61";
    admin::reset_password(&srv.state, "temp@corp.cn", &Secret::from(temporary))
        .await
        .unwrap();
    // The reset ended existing sessions.
    let (s, _) = srv.get("/v1/me", old.access_token.expose()).await;
    assert_eq!(s, 401);
    let (s, body) = srv.login_raw("temp@corp.cn", temporary).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required");
    assert_eq!(body["reason"], "temporary");
    let token = body["change_token"].as_str().unwrap().to_owned();
    // Policy applies, and the temporary password cannot be kept.
    let (s, body) = change(&srv, &token, "short").await;
    assert_error(s, &body, 422, "password_rejected");
    assert!(body["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("too_short")));
    let (s, body) = change(&srv, &token, temporary).await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["same_as_current"]));
    let (s, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": token, "new_password": OTHER_PASSWORD,
                   "device": {"id": "dev-forced", "name": "FRONT-DESK", "platform": "Windows 11"}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let session: Session = serde_json::from_value(body).unwrap();
    let (s, _) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_eq!(s, 200);
    // The session carries the device it was opened on.
    let (s, sessions) = srv
        .get("/v1/me/sessions", session.access_token.expose())
        .await;
    assert_eq!(s, 200, "{sessions}");
    assert!(
        sessions.to_string().contains("FRONT-DESK"),
        "the session names its device: {sessions}"
    );
    // Single use.
    let (s, body) = change(&srv, &token, "Another-fine-passphrase-77").await;
    assert_error(s, &body, 401, "token_invalid");
    // The temporary password is gone, the new one signs in normally.
    let (s, _) = srv.login_raw("temp@corp.cn", temporary).await;
    assert_eq!(s, 401);
    srv.login("temp@corp.cn", OTHER_PASSWORD).await;
    // Forged and expired tokens.
    let (s, body) = change(&srv, "lkc_forged", OTHER_PASSWORD).await;
    assert_error(s, &body, 401, "token_invalid");
    admin::reset_password(&srv.state, "temp@corp.cn", &Secret::from(temporary))
        .await
        .unwrap();
    let (_, body) = srv.login_raw("temp@corp.cn", temporary).await;
    let token = body["change_token"].as_str().unwrap().to_owned();
    srv.advance(10 * 60 + 1);
    let (s, body) = change(&srv, &token, "Another-fine-passphrase-77").await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn expired_password_must_be_changed(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.password.expiry_days = 90).await else {
        return;
    };
    srv.add_user("aged@corp.cn", PASSWORD).await;
    let s = srv.login("aged@corp.cn", PASSWORD).await;
    let (_, me) = srv.get("/v1/me", s.access_token.expose()).await;
    assert!(me["password_expires_at"].as_str().is_some());
    srv.advance(91 * 86_400);
    let (status, body) = srv.login_raw("aged@corp.cn", PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "password_change_required");
    assert_eq!(body["reason"], "expired");
    let (s, _) = change(&srv, body["change_token"].as_str().unwrap(), OTHER_PASSWORD).await;
    assert_eq!(s, 200);
    srv.login("aged@corp.cn", OTHER_PASSWORD).await;
}

async fn history_refuses_recent_passwords(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.password.history = 3).await else {
        return;
    };
    srv.add_user("hist@corp.cn", PASSWORD).await;
    let s = srv.login("hist@corp.cn", PASSWORD).await;
    let token = s.access_token.expose().to_owned();
    let me_change = |current: &'static str, new: &'static str| {
        let body = json!({"current_password": current, "new_password": new});
        let token = token.clone();
        let srv = &srv;
        async move {
            srv.call(
                reqwest::Method::POST,
                "/v1/me/password",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    assert_eq!(me_change(PASSWORD, OTHER_PASSWORD).await.0, 204);
    let (s, body) = me_change(OTHER_PASSWORD, PASSWORD).await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["reused_password"]));
    assert!(body["suggestions"]
        .as_array()
        .unwrap()
        .contains(&json!("choose_new_password")));
}
