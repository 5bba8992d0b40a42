//! `Idempotency-Key` (issue 21): a sign-in step, a reset step or an account action sent
//! again with the same key gets the first answer, and nothing runs twice — no second
//! password hash, no second failure counted, no second message; the key cannot replay
//! another request's answer, expires, and what is stored is of no use without it.

use std::sync::atomic::Ordering;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{reset, totp};
use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    a_retried_sign_in_gets_the_same_session_without_hashing_again,
    a_retried_wrong_password_is_counted_once,
    a_copy_sent_while_the_first_runs_gets_its_answer,
    a_key_sent_with_another_request_is_refused,
    another_account_cannot_replay_an_answer,
    bad_keys_are_refused,
    a_retried_reset_start_sends_one_code,
    a_retried_account_action_runs_once,
    a_retried_second_factor_is_checked_once,
    keys_expire_and_are_pruned,
    the_database_holds_nothing_usable_without_the_key,
    a_retry_reaching_another_process_gets_the_answer,
);

const KEY: &str = "0f6b2c1e-7a4d-4e8b-9c3f-5d2a1b0c9e8f";
const OTHER_KEY: &str = "7c1d9e2f-3b4a-4c5d-8e6f-0a1b2c3d4e5f";
const WRONG: &str = "Wrong-password-123";

/// Sends a JSON body (or none) with an optional bearer token and an optional key.
async fn send(
    srv: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    key: Option<&str>,
) -> (StatusCode, bool, Value) {
    let mut req = srv.http.request(method, srv.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let text = resp.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON")
    };
    (status, replayed, value)
}

fn login_body(identifier: &str, password: &str) -> Value {
    json!({
        "identifier": identifier,
        "password": password,
        "device": {"id": "dev-1", "name": "dev-1 name", "platform": "linux"},
        "client_version": "1.0.0",
    })
}

async fn login(
    srv: &TestServer,
    identifier: &str,
    password: &str,
    key: &str,
) -> (StatusCode, bool, Value) {
    let body = login_body(identifier, password);
    send(
        srv,
        Method::POST,
        "/v1/auth/login",
        None,
        Some(&body),
        Some(key),
    )
    .await
}

/// A sign-in with a key and a chunked body of `size` bytes, over a raw connection.
async fn chunked_login(srv: &TestServer, size: usize) -> (StatusCode, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Idempotency-Key: {KEY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        srv.addr
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 8 * 1024];
    let mut sent = 0;
    while sent < size {
        let frame = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before the whole body is sent.
        if conn.write_all(frame.as_bytes()).await.is_err()
            || conn.write_all(&chunk).await.is_err()
            || conn.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json = body.find('{').map(|at| &body[at..]).unwrap_or("null");
    let json = &json[..json.rfind('}').map_or(json.len(), |end| end + 1)];
    (
        StatusCode::from_u16(status).unwrap(),
        serde_json::from_str(json).unwrap_or(Value::Null),
    )
}

async fn count(srv: &TestServer, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&srv.state.db)
        .await
        .unwrap()
}

async fn a_retried_sign_in_gets_the_same_session_without_hashing_again(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("retry@corp.cn", PASSWORD).await;
    let hashed = srv.state.hasher.verifications();
    let (s, replayed, first) = login(&srv, "retry@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert!(!replayed);
    let (s, replayed, again) = login(&srv, "retry@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert!(replayed, "the answer is the stored one");
    assert_eq!(again, first, "the same session, the same tokens");
    assert_eq!(srv.state.hasher.verifications() - hashed, 1, "one hash");
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 1);
    // The replayed tokens work.
    let token = again["session"]["access_token"].as_str().unwrap();
    let (s, _) = srv.get("/v1/me", token).await;
    assert_eq!(s, StatusCode::OK);
    // Another key is another sign-in.
    let (s, replayed, other) = login(&srv, "retry@corp.cn", PASSWORD, OTHER_KEY).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!replayed);
    assert_ne!(other, first);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 2);
}

async fn a_retried_wrong_password_is_counted_once(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("count@corp.cn", PASSWORD).await;
    let hashed = srv.state.hasher.verifications();
    for _ in 0..3 {
        let (s, _, body) = login(&srv, "count@corp.cn", WRONG, KEY).await;
        assert_error(s, &body, 401, "invalid_credentials");
    }
    assert_eq!(srv.state.hasher.verifications() - hashed, 1, "one hash");
    // One failure of five was counted: three more are answered as wrong, the fifth
    // locks.
    for _ in 0..3 {
        let (s, body) = srv.login_raw("count@corp.cn", WRONG).await;
        assert_error(s, &body, 401, "invalid_credentials");
    }
    let (s, body) = srv.login_raw("count@corp.cn", WRONG).await;
    assert_error(s, &body, 423, "account_locked");
}

async fn a_copy_sent_while_the_first_runs_gets_its_answer(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("burst@corp.cn", PASSWORD).await;
    let hashed = srv.state.hasher.verifications();
    let copies =
        futures_util::future::join_all((0..4).map(|_| login(&srv, "burst@corp.cn", PASSWORD, KEY)))
            .await;
    let first = &copies[0].2;
    for (s, _, body) in &copies {
        assert_eq!(*s, StatusCode::OK, "{body}");
        assert_eq!(body, first, "every copy gets the one answer");
    }
    assert_eq!(copies.iter().filter(|c| !c.1).count(), 1, "one ran");
    assert_eq!(srv.state.hasher.verifications() - hashed, 1);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 1);
}

async fn a_key_sent_with_another_request_is_refused(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("reuse@corp.cn", PASSWORD).await;
    let (s, _, _) = login(&srv, "reuse@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    let hashed = srv.state.hasher.verifications();
    let (s, _, body) = login(&srv, "reuse@corp.cn", WRONG, KEY).await;
    assert_error(s, &body, 422, "idempotency_key_reused");
    let (s, _, body) = login(&srv, "other@corp.cn", PASSWORD, KEY).await;
    assert_error(s, &body, 422, "idempotency_key_reused");
    assert_eq!(srv.state.hasher.verifications(), hashed, "nothing ran");
    // The same key on another route is another key.
    let (s, _, body) = send(
        &srv,
        Method::POST,
        "/v1/recovery/start",
        None,
        Some(&json!({"identifier": "reuse@corp.cn"})),
        Some(KEY),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
}

async fn another_account_cannot_replay_an_answer(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("owner@corp.cn", PASSWORD).await;
    srv.add_user("thief@corp.cn", PASSWORD).await;
    let owner = srv.login("owner@corp.cn", PASSWORD).await;
    let thief = srv.login("thief@corp.cn", PASSWORD).await;
    let body = json!({"current_password": PASSWORD, "new_password": "Quartz-meadow-lantern-19"});
    let (s, _, answer) = send(
        &srv,
        Method::POST,
        "/v1/me/password",
        Some(owner.access_token.expose()),
        Some(&body),
        Some(KEY),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    // The same key and body from another account: refused, nothing changed.
    let (s, replayed, answer) = send(
        &srv,
        Method::POST,
        "/v1/me/password",
        Some(thief.access_token.expose()),
        Some(&body),
        Some(KEY),
    )
    .await;
    assert!(!replayed);
    assert_error(s, &answer, 422, "idempotency_key_reused");
    srv.login("thief@corp.cn", PASSWORD).await;
}

async fn bad_keys_are_refused(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("bad@corp.cn", PASSWORD).await;
    let body = login_body("bad@corp.cn", PASSWORD);
    let long = "k".repeat(129);
    for key in ["", "too-short", long.as_str(), "with a space 0123456789"] {
        let (s, _, answer) = send(
            &srv,
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&body),
            Some(key),
        )
        .await;
        assert_error(s, &answer, 400, "invalid_request");
        assert_eq!(answer["field"], "Idempotency-Key", "{key:?}: {answer}");
    }
    // Not ASCII (sent as raw bytes), and two keys.
    let not_ascii =
        reqwest::header::HeaderValue::from_bytes("ключ-0123456789abcdef".as_bytes()).unwrap();
    for req in [
        srv.http
            .post(srv.url("/v1/auth/login"))
            .header("Idempotency-Key", not_ascii),
        srv.http
            .post(srv.url("/v1/auth/login"))
            .header("Idempotency-Key", KEY)
            .header("Idempotency-Key", OTHER_KEY),
    ] {
        let resp = req.json(&body).send().await.unwrap();
        let s = resp.status();
        let answer: Value = resp.json().await.unwrap();
        assert_error(s, &answer, 400, "invalid_request");
        assert_eq!(answer["field"], "Idempotency-Key", "{answer}");
    }
    // A chunked body (no length announced) over 64 KiB is refused as too large.
    let (s, answer) = chunked_login(&srv, 70 * 1024).await;
    assert_error(s, &answer, 413, "payload_too_large");
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 0);
    // The OpenAPI document describes the header where it is taken, and only there.
    let (_, doc) = srv.get("/v1/openapi.json", "-").await;
    let names = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for (path, method) in [
        ("/v1/auth/login", "post"),
        ("/v1/auth/mfa", "post"),
        ("/v1/recovery/complete", "post"),
        ("/v1/me/password", "post"),
        ("/v1/me/sessions/{id}", "delete"),
    ] {
        assert!(
            names(path, method).contains(&"Idempotency-Key".to_owned()),
            "{path}"
        );
        assert!(
            doc["paths"][path][method]["responses"]["422"].is_object(),
            "{path}"
        );
    }
    assert!(!names("/v1/auth/refresh", "post").contains(&"Idempotency-Key".to_owned()));
}

async fn a_retried_reset_start_sends_one_code(b: Backend) {
    let Some((srv, sink)) = reset::with_smtp(b).await else {
        return;
    };
    srv.add_user("reset@corp.cn", PASSWORD).await;
    let body = json!({"identifier": "reset@corp.cn"});
    let (s, _, first) = send(
        &srv,
        Method::POST,
        "/v1/recovery/start",
        None,
        Some(&body),
        Some(KEY),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{first}");
    reset::code_mail(&sink, 1).await;
    // Before, a retry within the resend wait was told to wait a minute, without the
    // recovery id the code belongs to.
    let (s, replayed, again) = send(
        &srv,
        Method::POST,
        "/v1/recovery/start",
        None,
        Some(&body),
        Some(KEY),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{again}");
    assert!(replayed);
    assert_eq!(again, first);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "one code sent");
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM messages").await, 1);
    // The code verifies once; the verify retried gets its answer again.
    let code = reset::code_mail(&sink, 1).await.code().unwrap();
    let verify = json!({"recovery_id": first["recovery_id"], "code": code});
    let (s, _, verified) = send(
        &srv,
        Method::POST,
        "/v1/recovery/verify",
        None,
        Some(&verify),
        Some(OTHER_KEY),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{verified}");
    let (s, replayed, again) = send(
        &srv,
        Method::POST,
        "/v1/recovery/verify",
        None,
        Some(&verify),
        Some(OTHER_KEY),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert!(replayed);
    assert_eq!(again, verified);
    // Completed once; the retry is told it worked.
    let complete =
        json!({"reset_token": verified["reset_token"], "new_password": "Quartz-meadow-lantern-19"});
    let third = "c0ffee00-1111-4222-8333-444455556666";
    for replay in [false, true] {
        let (s, replayed, answer) = send(
            &srv,
            Method::POST,
            "/v1/recovery/complete",
            None,
            Some(&complete),
            Some(third),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
        assert_eq!(replayed, replay);
    }
    srv.login("reset@corp.cn", "Quartz-meadow-lantern-19").await;
}

async fn a_retried_account_action_runs_once(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("acct@corp.cn", PASSWORD).await;
    let here = srv.login("acct@corp.cn", PASSWORD).await;
    let there = srv.login("acct@corp.cn", PASSWORD).await;
    let token = here.access_token.expose();
    let (_, list) = srv.get("/v1/me/sessions", token).await;
    let other = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] != true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/me/sessions/{other}");
    for replay in [false, true] {
        let (s, replayed, body) =
            send(&srv, Method::DELETE, &path, Some(token), None, Some(KEY)).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(replayed, replay);
    }
    let (s, _) = srv.get("/v1/me", there.access_token.expose()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A password change retried: done once, and the retry is told it was done (before,
    // the retry was told the current password is wrong).
    let body = json!({"current_password": PASSWORD, "new_password": "Quartz-meadow-lantern-19"});
    let mut hashed = Vec::new();
    for replay in [false, true] {
        let (s, replayed, answer) = send(
            &srv,
            Method::POST,
            "/v1/me/password",
            Some(token),
            Some(&body),
            Some(OTHER_KEY),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
        assert_eq!(replayed, replay);
        hashed.push(srv.state.hasher.verifications());
    }
    assert_eq!(hashed[0], hashed[1], "the retry hashed nothing");
    srv.login("acct@corp.cn", "Quartz-meadow-lantern-19").await;
}

async fn a_retried_second_factor_is_checked_once(b: Backend) {
    let Some(srv) = totp::start(b).await else {
        return;
    };
    let enabled = totp::enabled_user(&srv, "mfa@corp.cn").await;
    let mfa_token = totp::mfa_token(&srv, "mfa@corp.cn").await;
    // A wrong code retried counts once.
    let right_code = totp::code(&srv, &enabled.secret, 0);
    let wrong =
        json!({"mfa_token": mfa_token, "method": "totp", "code": reset::wrong(&right_code)});
    let checks = srv.state.second_factor_checks.load(Ordering::SeqCst);
    for _ in 0..2 {
        let (s, _, answer) = send(
            &srv,
            Method::POST,
            "/v1/auth/mfa",
            None,
            Some(&wrong),
            Some(KEY),
        )
        .await;
        assert_error(s, &answer, 400, "code_invalid");
    }
    assert_eq!(
        srv.state.second_factor_checks.load(Ordering::SeqCst) - checks,
        1
    );
    // The right code: the retry gets the session the first one opened (before, the
    // token was used up and the retry was refused).
    let right = json!({"mfa_token": mfa_token, "method": "totp", "code": right_code});
    let (s, _, first) = send(
        &srv,
        Method::POST,
        "/v1/auth/mfa",
        None,
        Some(&right),
        Some(OTHER_KEY),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let (s, replayed, again) = send(
        &srv,
        Method::POST,
        "/v1/auth/mfa",
        None,
        Some(&right),
        Some(OTHER_KEY),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert!(replayed);
    assert_eq!(again, first);
}

async fn keys_expire_and_are_pruned(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("expire@corp.cn", PASSWORD).await;
    let (_, _, first) = login(&srv, "expire@corp.cn", PASSWORD, KEY).await;
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM idempotency_keys").await,
        1
    );
    srv.advance(srv.state.config().sessions.idempotency_ttl_seconds + 1);
    // An expired key is a new one: the sign-in runs again.
    let (s, replayed, again) = login(&srv, "expire@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!replayed);
    assert_ne!(again, first);
    srv.advance(srv.state.config().sessions.idempotency_ttl_seconds + 1);
    latchkey_server::retention::prune(&srv.state, srv.state.now())
        .await
        .unwrap();
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
}

async fn the_database_holds_nothing_usable_without_the_key(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("dump@corp.cn", PASSWORD).await;
    let (_, _, answer) = login(&srv, "dump@corp.cn", PASSWORD, KEY).await;
    let access = answer["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = answer["session"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT lookup, fingerprint, state, answer FROM idempotency_keys")
            .fetch_all(&srv.state.db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let dump = format!("{rows:?}");
    for secret in [
        KEY,
        &access,
        &refresh,
        PASSWORD,
        "dump@corp.cn",
        "access_token",
    ] {
        assert!(!dump.contains(secret), "{secret} in {dump}");
    }
    assert_eq!(rows[0].2, "done");
}

async fn a_retry_reaching_another_process_gets_the_answer(b: Backend) {
    if b == Backend::Sqlite {
        // Several processes share PostgreSQL; SQLite serves one.
        return;
    }
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let sibling = srv.sibling(|_| {}).await;
    srv.add_user("two@corp.cn", PASSWORD).await;
    let (s, _, first) = login(&srv, "two@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    let (s, replayed, again) = login(&sibling, "two@corp.cn", PASSWORD, KEY).await;
    assert_eq!(s, StatusCode::OK);
    assert!(replayed);
    assert_eq!(again, first);
    // Copies at once on both processes: one sign-in.
    let both = futures_util::future::join(
        login(&srv, "two@corp.cn", PASSWORD, OTHER_KEY),
        login(&sibling, "two@corp.cn", PASSWORD, OTHER_KEY),
    )
    .await;
    assert_eq!(both.0 .2, both.1 .2);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM sessions").await, 2);
}
