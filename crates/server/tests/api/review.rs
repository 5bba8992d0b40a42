//! The security review's findings of issue 13, each a test that failed before its fix:
//! no oracle before the second factor, no linking of identifiers by the reset limits,
//! reset links voided, the device-code cap surviving the janitor, TOTP set-up behind
//! the password, device ids stored hashed, the absolute session lifetime, retention,
//! and half-sent connections.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::reset::{code_mail, complete, link_token, started_id, verify, with_smtp, wrong};
use super::totp::{code as totp_code, enabled_user, post_auth, KEY};
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    a_reset_asks_for_the_second_factor_before_judging_the_password,
    refused_resets_use_up_the_token,
    a_forced_change_is_no_oracle_either,
    reset_limits_do_not_link_identifiers,
    a_newer_reset_and_a_password_change_void_older_links,
    the_device_code_cap_survives_the_janitor,
    totp_setup_needs_the_password_and_signs_out_other_devices,
    device_ids_are_stored_hashed,
    sessions_end_ninety_days_after_sign_in,
    retention_prunes_what_strangers_can_grow,
    half_sent_connections_do_not_stop_sign_in,
    a_reset_link_names_its_account_without_being_used_up,
);

/// A reset token of the TOTP account `email`, from the mailed code (`n`-th mail).
async fn reset_token(
    srv: &TestServer,
    sink: &latchkey_testkit::smtp::SmtpSink,
    email: &str,
    n: usize,
) -> String {
    let id = started_id(srv, email).await;
    let code = code_mail(sink, n).await.code().unwrap();
    let (s, body) = verify(srv, &id, &code).await;
    assert_eq!(s, 200, "{body}");
    body["reset_token"].as_str().unwrap().to_owned()
}

async fn complete_with(srv: &TestServer, body: Value) -> (StatusCode, Value) {
    srv.post("/v1/recovery/complete", body).await
}

async fn a_reset_asks_for_the_second_factor_before_judging_the_password(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    let e = enabled_user(&srv, "oracle@corp.cn").await;
    let token = reset_token(&srv, &sink, "oracle@corp.cn", 1).await;
    // The current password (or one from the history) is not confirmed to whoever
    // holds the mailbox: without the second factor the answer is `mfa_required`, and
    // with a wrong one `code_invalid` — never `password_rejected`/`same_as_current`.
    let (s, body) = complete(&srv, &token, PASSWORD).await;
    assert_error(s, &body, 401, "mfa_required");
    let bad = wrong(&totp_code(&srv, &e.secret, 0));
    let (s, body) = complete_with(
        &srv,
        json!({"reset_token": token, "new_password": PASSWORD, "totp_code": bad}),
    )
    .await;
    assert_error(s, &body, 400, "code_invalid");
    // A password the policy refuses whoever asks is still refused first, and costs no
    // try: it tells nothing about the account.
    for _ in 0..6 {
        let (s, body) = complete(&srv, &token, "password").await;
        assert_error(s, &body, 422, "password_rejected");
    }
    // With the second factor, the account's own checks answer.
    let good = totp_code(&srv, &e.secret, 0);
    let (s, body) = complete_with(
        &srv,
        json!({"reset_token": token, "new_password": PASSWORD, "totp_code": good}),
    )
    .await;
    assert_error(s, &body, 422, "password_rejected");
    assert_eq!(body["reasons"], json!(["same_as_current"]), "{body}");
}

async fn refused_resets_use_up_the_token(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("tries@corp.cn", PASSWORD).await;
    let token = reset_token(&srv, &sink, "tries@corp.cn", 1).await;
    // Five refusals that depend on the account (here: same as the current password).
    for _ in 0..5 {
        let (s, body) = complete(&srv, &token, PASSWORD).await;
        assert_error(s, &body, 422, "password_rejected");
    }
    let (s, body) = complete(&srv, &token, OTHER_PASSWORD).await;
    assert_error(s, &body, 401, "token_invalid");
    srv.login("tries@corp.cn", PASSWORD).await;
}

async fn a_forced_change_is_no_oracle_either(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.delivery.secret_key = Some(KEY.into())).await
    else {
        return;
    };
    let e = enabled_user(&srv, "forced@corp.cn").await;
    latchkey_server::admin::reset_password(
        &srv.state,
        "forced@corp.cn",
        &latchkey_proto::Secret::from("Temporary-pass-2026-x"),
    )
    .await
    .unwrap();
    let (s, body) = srv
        .login_raw("forced@corp.cn", "Temporary-pass-2026-x")
        .await;
    assert_eq!(body["status"], "password_change_required", "{s} {body}");
    let token = body["change_token"].as_str().unwrap().to_owned();
    let change = |pw: &str, code: Option<String>| {
        let mut body = json!({"change_token": token, "new_password": pw});
        if let Some(c) = code {
            body["totp_code"] = json!(c);
        }
        srv.post("/v1/auth/password", body)
    };
    let (s, body) = change("Temporary-pass-2026-x", None).await;
    assert_error(s, &body, 401, "mfa_required");
    for _ in 0..4 {
        let bad = wrong(&totp_code(&srv, &e.secret, 0));
        let (s, body) = change("Temporary-pass-2026-x", Some(bad)).await;
        assert_error(s, &body, 400, "code_invalid");
    }
    // The token took its five refused tries (the `mfa_required` one counted too).
    let good = totp_code(&srv, &e.secret, 0);
    let (s, body) = change(OTHER_PASSWORD, Some(good)).await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn reset_limits_do_not_link_identifiers(b: Backend) {
    let Some((srv, _sink)) = with_smtp(b).await else {
        return;
    };
    srv.add(
        latchkey_server::admin::AddUser {
            email: Some("link@corp.cn".into()),
            phone: Some("13800138001".into()),
            ..Default::default()
        },
        PASSWORD,
    )
    .await;
    let start = |id: &'static str| srv.post("/v1/recovery/start", json!({"identifier": id}));
    // The resend wait belongs to what was typed: the phone is not "rate_limited" just
    // because the e-mail of the same account asked a moment ago.
    assert_eq!(start("link@corp.cn").await.0, StatusCode::ACCEPTED);
    let (s, body) = start("link@corp.cn").await;
    assert_error(s, &body, 429, "rate_limited");
    assert_eq!(start("13800138001").await.0, StatusCode::ACCEPTED);
    // The account's own hourly cap (5) is kept silently: a 6th start is accepted like
    // any other, and sends nothing.
    for _ in 0..2 {
        srv.advance(61);
        assert_eq!(start("link@corp.cn").await.0, StatusCode::ACCEPTED);
        assert_eq!(start("13800138001").await.0, StatusCode::ACCEPTED);
    }
    let sent = || async {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE kind = 'recovery_code'")
                .fetch_one(&srv.state.db)
                .await
                .unwrap();
        n
    };
    assert_eq!(sent().await, 5);
    srv.advance(61);
    let (s, body) = start("13800138001").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(sent().await, 5);
}

async fn a_newer_reset_and_a_password_change_void_older_links(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("links@corp.cn", PASSWORD).await;
    started_id(&srv, "links@corp.cn").await;
    let first = link_token(&code_mail(&sink, 1).await);
    srv.advance(61);
    started_id(&srv, "links@corp.cn").await;
    let second = link_token(&code_mail(&sink, 2).await);
    let (s, body) = complete(&srv, &first, OTHER_PASSWORD).await;
    assert_error(s, &body, 401, "token_invalid");
    // A change on the account page voids the newer link too.
    let session = srv.login("links@corp.cn", PASSWORD).await;
    let (s, body) = srv
        .call(
            Method::POST,
            "/v1/me/password",
            Some(session.access_token.expose()),
            Some(json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, body) = complete(&srv, &second, "Yet-another-passphrase-51").await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn the_device_code_cap_survives_the_janitor(b: Backend) {
    let sink = latchkey_testkit::smtp::SmtpSink::start().await;
    let url = sink.url();
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.smtp_url = Some(url);
        c.devices.verify_new = true;
    })
    .await
    else {
        return;
    };
    srv.add_user("janitor@corp.cn", PASSWORD).await;
    for i in 0..5 {
        let (_, body) = srv
            .login_device("janitor@corp.cn", PASSWORD, &format!("pc-{i}"))
            .await;
        assert_eq!(body["status"], "device_verification_required", "{body}");
    }
    // The codes expire after 10 minutes and the janitor deletes their challenges; the
    // hour is not over.
    srv.advance(11 * 60);
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    let (s, body) = srv.login_device("janitor@corp.cn", PASSWORD, "pc-9").await;
    assert_error(s, &body, 429, "rate_limited");
    srv.advance(50 * 60);
    let (_, body) = srv.login_device("janitor@corp.cn", PASSWORD, "pc-9").await;
    assert_eq!(body["status"], "device_verification_required", "{body}");
}

async fn totp_setup_needs_the_password_and_signs_out_other_devices(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.delivery.secret_key = Some(KEY.into())).await
    else {
        return;
    };
    srv.add_user("setup@corp.cn", PASSWORD).await;
    let here = srv.login("setup@corp.cn", PASSWORD).await;
    let (_, body) = srv
        .login_device("setup@corp.cn", PASSWORD, "other-pc")
        .await;
    let other = body["session"]["access_token"].as_str().unwrap().to_owned();
    let token = here.access_token.expose();
    // A stolen access token alone cannot tie the account to an authenticator.
    let (s, body) = srv
        .call(Method::POST, "/v1/me/totp/enroll", Some(token), None)
        .await;
    assert!(s.is_client_error(), "{s} {body}");
    let (s, body) = post_auth(&srv, "/v1/me/totp/enroll", token, json!({})).await;
    assert_error(s, &body, 400, "invalid_request");
    assert_eq!(body["field"], "password");
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": OTHER_PASSWORD}),
    )
    .await;
    assert_error(s, &body, 403, "current_password_invalid");
    let (s, enrol) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = super::totp::base32_decode(enrol["secret"].as_str().unwrap());
    let c = totp_code(&srv, &secret, 0);
    let (s, body) = post_auth(&srv, "/v1/me/totp/confirm", token, json!({"code": c})).await;
    assert_eq!(s, 200, "{body}");
    // The device that turned it on stays; the other one signs in again, with it.
    let (s, _) = srv.get("/v1/me", token).await;
    assert_eq!(s, 200);
    let (s, body) = srv.get("/v1/me", &other).await;
    assert_error(s, &body, 401, "unauthenticated");
}

async fn device_ids_are_stored_hashed(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let user = srv.add_user("hashed@corp.cn", PASSWORD).await;
    srv.login_device("hashed@corp.cn", PASSWORD, "my-secret-device-id")
        .await;
    srv.login_device("hashed@corp.cn", "Wrong-password-42", "my-secret-device-id")
        .await;
    for (table, column) in [
        ("known_devices", "device_id"),
        ("sessions", "device_id"),
        ("activity", "device_id"),
    ] {
        let ids: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {column} FROM {table} WHERE user_id = $1"))
                .bind(&user.id)
                .fetch_all(&srv.state.db)
                .await
                .unwrap();
        assert!(!ids.is_empty(), "{table}");
        assert!(
            ids.iter().all(|id| !id.contains("my-secret")),
            "{table}: {ids:?}"
        );
    }
    // A device remembered before ids were hashed is still known, and re-keyed.
    sqlx::query(
        "INSERT INTO known_devices (user_id, device_id, name, platform, first_seen, last_seen) \
         VALUES ($1, 'old-plain-id', 'old', 'linux', 0, 0)",
    )
    .bind(&user.id)
    .execute(&srv.state.db)
    .await
    .unwrap();
    assert!(
        latchkey_server::devices::is_known(&srv.state.db, Some(&user.id), "old-plain-id")
            .await
            .unwrap()
    );
    let plain: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM known_devices WHERE device_id = 'old-plain-id'")
            .fetch_one(&srv.state.db)
            .await
            .unwrap();
    assert_eq!(plain, 0);
}

async fn sessions_end_ninety_days_after_sign_in(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("long@corp.cn", PASSWORD).await;
    let mut refresh = srv.login("long@corp.cn", PASSWORD).await.refresh_token;
    // Refreshed every 29 days, the sliding expiry never comes; the absolute one does.
    for _ in 0..3 {
        srv.advance(29 * 86_400);
        let (s, body) = srv
            .post(
                "/v1/auth/refresh",
                json!({"refresh_token": refresh.expose()}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        refresh = body["refresh_token"].as_str().unwrap().into();
    }
    srv.advance(4 * 86_400);
    let (s, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": refresh.expose()}),
        )
        .await;
    assert_error(s, &body, 401, "token_invalid");
}

async fn retention_prunes_what_strangers_can_grow(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    // A stranger's traffic: failures for made-up names, reset starts for them, and
    // one for a real account, whose code is mailed (a sent message).
    for i in 0..5 {
        srv.login_raw(&format!("nobody{i}@corp.cn"), "Wrong-password-42")
            .await;
        started_id(&srv, &format!("nobody{i}@corp.cn")).await;
    }
    srv.add_user("somebody@corp.cn", PASSWORD).await;
    started_id(&srv, "somebody@corp.cn").await;
    code_mail(&sink, 1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while srv
        .scalar("SELECT COUNT(*) FROM messages WHERE status <> 'pending'")
        .await
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the message is not marked sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let count = |table: &'static str| {
        let db = srv.state.db.clone();
        async move {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap();
            n
        }
    };
    for table in [
        "lockouts",
        "throttles",
        "recoveries",
        "activity",
        "sends",
        "send_limits",
        "messages",
    ] {
        assert!(count(table).await > 0, "{table}");
    }
    // Nothing young is pruned.
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    assert!(count("lockouts").await > 0);
    srv.advance(181 * 86_400);
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    for table in [
        "lockouts",
        "throttles",
        "recoveries",
        "activity",
        "sends",
        "send_limits",
        "messages",
    ] {
        assert_eq!(count(table).await, 0, "{table}");
    }
}

async fn half_sent_connections_do_not_stop_sign_in(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| c.limits.header_timeout_ms = 2_000).await else {
        return;
    };
    srv.add_user("slow@corp.cn", PASSWORD).await;
    let addr = srv.addr;
    let mut idle = Vec::new();
    for _ in 0..500 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-")
            .await
            .unwrap();
        idle.push(stream);
    }
    srv.login("slow@corp.cn", PASSWORD).await;
    // The header timeout closes them: a read sees the end (or a reset), not silence.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut closed = 0;
    for mut stream in idle {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
        )
        .await;
        if matches!(read, Ok(Ok(_)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(closed, 500);
}

async fn a_reset_link_names_its_account_without_being_used_up(b: Backend) {
    let Some((srv, sink)) = with_smtp(b).await else {
        return;
    };
    srv.add_user("named@corp.cn", PASSWORD).await;
    started_id(&srv, "named@corp.cn").await;
    let token = link_token(&code_mail(&sink, 1).await);
    for _ in 0..2 {
        let (s, body) = srv
            .post("/v1/recovery/link", json!({"reset_token": token}))
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["account_hint"], "n***@corp.cn");
        assert_eq!(body["second_factor_required"], false);
        assert!(body["expires_in"].as_u64().unwrap() > 1_700);
        assert!(!body.to_string().contains("named@"), "{body}");
    }
    let (s, body) = complete(&srv, &token, OTHER_PASSWORD).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, body) = srv
        .post("/v1/recovery/link", json!({"reset_token": token}))
        .await;
    assert_error(s, &body, 401, "token_invalid");
    let (s, body) = srv
        .post("/v1/recovery/link", json!({"reset_token": "lkc_made-up"}))
        .await;
    assert_error(s, &body, 401, "token_invalid");
}
