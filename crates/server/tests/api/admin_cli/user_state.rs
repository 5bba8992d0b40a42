//! An account's state from the CLI: disable/enable, lock/unlock, a temporary password.

use latchkey_proto::LoginResponse;
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::json;

use super::{add_user, cli, listed, TEMP_PASSWORD};

on_both!(
    disable_and_enable,
    lock_and_unlock,
    reset_password_is_temporary,
);

async fn disable_and_enable(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "disable.me@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let session = srv.login(email, PASSWORD).await;
    let token = session.access_token.expose().to_owned();
    let (status, _) = srv.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK);

    cli(&srv, &["user", "disable", "--identifier", email], None)
        .await
        .ok()
        .stdout_has(email);
    // Its sessions are over, the refresh token too, and signing in says why.
    let (status, body) = srv.get("/v1/me", &token).await;
    assert_error(status, &body, 401, "unauthenticated");
    let (status, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert!(status == StatusCode::UNAUTHORIZED, "{status} {body}");
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 403, "account_disabled");
    // A wrong password on a disabled account reveals nothing more.
    let (status, body) = srv.login_raw(email, OTHER_PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    assert!(listed(&srv, email).await.contains("disabled"));

    cli(&srv, &["user", "enable", "--identifier", email], None)
        .await
        .ok()
        .stdout_has(email);
    let fresh = srv.login(email, PASSWORD).await;
    let (status, _) = srv.get("/v1/me", fresh.access_token.expose()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed(&srv, email).await.contains("active"));

    // Unknown accounts are a clear error.
    for cmd in ["disable", "enable"] {
        cli(
            &srv,
            &["user", cmd, "--identifier", "nobody@corp.example"],
            None,
        )
        .await
        .failed()
        .stderr_has("no account");
    }
}

async fn lock_and_unlock(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "locked.out@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    for i in 1..=5 {
        let (status, body) = srv.login_raw(email, OTHER_PASSWORD).await;
        if i < 5 {
            assert_error(status, &body, 401, "invalid_credentials");
        } else {
            assert_error(status, &body, 423, "account_locked");
            assert!(
                body["retry_after"].as_u64().is_some_and(|s| s > 0),
                "{body}"
            );
        }
    }
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 423, "account_locked");
    let line = listed(&srv, email).await;
    assert!(line.contains("locked"), "{line}");

    cli(&srv, &["user", "unlock", "--identifier", email], None)
        .await
        .ok()
        .stdout_has("unlocked");
    srv.login(email, PASSWORD).await;
    assert!(listed(&srv, email).await.contains("active"));

    // An identifier no account has locks and unlocks the same way.
    let ghost = "ghost@corp.example";
    for _ in 0..5 {
        srv.login_raw(ghost, OTHER_PASSWORD).await;
    }
    let (status, body) = srv.login_raw(ghost, OTHER_PASSWORD).await;
    assert_error(status, &body, 423, "account_locked");
    cli(&srv, &["user", "unlock", "--identifier", ghost], None)
        .await
        .ok();
    let (status, body) = srv.login_raw(ghost, OTHER_PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    // Something that is no identifier at all.
    cli(&srv, &["user", "unlock", "--identifier", "!!"], None)
        .await
        .failed();
}

async fn reset_password_is_temporary(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "forgetful@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let session = srv.login(email, PASSWORD).await;
    // Lock it too: a reset lifts the lock.
    for _ in 0..5 {
        srv.login_raw(email, OTHER_PASSWORD).await;
    }

    let run = cli(
        &srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            email,
            "--password-stdin",
        ],
        Some(&format!("{TEMP_PASSWORD}\n")),
    )
    .await;
    run.ok()
        .hides(TEMP_PASSWORD)
        .hides(PASSWORD)
        .stdout_has(email);

    // Old sessions and the old password are gone.
    let (status, body) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_error(status, &body, 401, "unauthenticated");
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    // The temporary password only leads to the forced change.
    let (status, body) = srv.login_raw(email, TEMP_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");
    assert_eq!(body["reason"], "temporary", "{body}");
    assert!(listed(&srv, email).await.contains("temp-pass"));
    let change_token = match serde_json::from_value::<LoginResponse>(body).expect("login response")
    {
        LoginResponse::PasswordChangeRequired { change_token, .. } => change_token,
        other => panic!("{other:?}"),
    };
    let (status, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change_token, "new_password": OTHER_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    srv.login(email, OTHER_PASSWORD).await;

    // Refusals: unknown account, weak password; neither prints the password.
    cli(
        &srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            "nobody@corp.example",
            "--password-stdin",
        ],
        Some(TEMP_PASSWORD),
    )
    .await
    .failed()
    .stderr_has("no account")
    .hides(TEMP_PASSWORD);
    cli(
        &srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            email,
            "--password-stdin",
        ],
        Some("short1"),
    )
    .await
    .failed()
    .stderr_has("too_short")
    .hides("short1");
    srv.login(email, OTHER_PASSWORD).await;
}
