//! `Idempotency-Key` (issue 21): a sign-in step, a reset step or an account action sent
//! again with the same key gets the first answer, and nothing runs twice — no second
//! password hash, no second failure counted, no second message; the key cannot replay
//! another request's answer, expires, and what is stored is of no use without it.
//!
//! The tests are in one file per area (sign-in, the other steps and actions, the
//! stored keys); this module holds what they share.

mod actions;
mod keys;
mod sign_in;

use std::sync::atomic::Ordering;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{reset, totp};
use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

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
