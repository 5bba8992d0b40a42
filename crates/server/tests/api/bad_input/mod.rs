//! Bad input never gets a 500, a panic or a hang: oversized, malformed, mistyped,
//! incomplete and non-UTF-8 bodies, wrong content types, absurd field lengths, unknown
//! routes and methods, garbage credentials and query strings, and a saturated password
//! hasher all get a 4xx whose body is a proper `latchkey_proto::ErrorBody`.
//!
//! Most tests send one kind of bad input to every POST route ([`routes`]), so the files
//! are by kind of input; this module holds what they share.

// Test code: a failed expectation is a test failure.

mod bodies;
mod fields;
mod load;
mod requests;

use std::time::Duration;

use latchkey_proto::{ErrorBody, LoginResponse};
use latchkey_server::admin::AddUser;
use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{Backend, TestServer};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest any single request may take before it counts as a hang.
const NO_HANG: Duration = Duration::from_secs(60);
/// A value that must never be echoed back in an error message.
const CANARY_NUMBER: i64 = 987_654_321;
const CANARY_TEXT: &str = "Canary-secret-Xylophone-8841";

/// One HTTP answer, read completely.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    /// The body as an error answer: JSON, an `ErrorBody` (so its code is one of the
    /// proto codes), with a message.
    fn body(&self) -> ErrorBody {
        let ct = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "error answer is not JSON ({}, content-type {ct:?}): {}",
            self.status,
            self.text
        );
        let body: ErrorBody = serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not an ErrorBody ({}): {e}: {}", self.status, self.text));
        assert!(!body.message.is_empty(), "{}", self.text);
        body
    }

    /// Asserts the status and the code; returns the body.
    fn error(&self, status: u16, code: &str) -> ErrorBody {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let body = self.body();
        assert_eq!(body.code.as_str(), code, "{}", self.text);
        body
    }

    /// `invalid_request` naming `field`.
    fn invalid(&self, field: &str) -> ErrorBody {
        let body = self.error(400, "invalid_request");
        assert_eq!(body.field.as_deref(), Some(field), "{}", self.text);
        body
    }

    /// Any 4xx with a proper error body.
    fn client_error(&self) -> ErrorBody {
        assert!(
            self.status.is_client_error(),
            "expected a 4xx, got {}: {}",
            self.status,
            self.text
        );
        self.body()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }

    /// Asserts that `needle` appears nowhere in the answer.
    fn hides(&self, needle: &str) -> &Self {
        assert!(
            !self.text.contains(needle),
            "the answer echoes {needle:?}: {}",
            self.text
        );
        for (name, value) in &self.headers {
            assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains(needle),
                "header {name} echoes {needle:?}"
            );
        }
        self
    }
}

async fn send(req: RequestBuilder) -> Answer {
    let (client, req) = req.timeout(NO_HANG).build_split();
    let req = req.expect("a well-formed request");
    let sent = req
        .body()
        .and_then(reqwest::Body::as_bytes)
        .unwrap_or_default();
    let what = format!(
        "{} {} {:?}",
        req.method(),
        req.url().as_str().chars().take(120).collect::<String>(),
        String::from_utf8_lossy(&sent[..sent.len().min(200)])
    );
    let resp = client
        .execute(req)
        .await
        .unwrap_or_else(|e| panic!("{what}: no answer (hang or dropped connection): {e}"));
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("read the body");
    assert!(
        !status.is_server_error(),
        "{what}: server error {status}: {text}"
    );
    Answer {
        status,
        headers,
        text,
    }
}

/// A raw request: any bytes, any content type (or none), any bearer.
fn raw(
    srv: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> RequestBuilder {
    let mut req = srv.http.request(method, srv.url(path));
    if let Some(t) = token {
        req = req.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    req.body(body.into())
}

async fn post_bytes(srv: &TestServer, route: &Route, body: impl Into<Vec<u8>>) -> Answer {
    send(raw(
        srv,
        Method::POST,
        route.path,
        route.bearer.as_deref(),
        Some("application/json"),
        body,
    ))
    .await
}

async fn post_json(srv: &TestServer, route: &Route, body: &Value) -> Answer {
    post_bytes(srv, route, serde_json::to_vec(body).expect("json")).await
}

/// Writes `request` to a fresh TCP connection and reads one answer (until its
/// Content-Length is complete, or the server closes): for what reqwest will not send
/// (lying lengths, chunked bodies).
async fn raw_tcp(srv: &TestServer, request: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(srv.addr)
        .await
        .expect("connect");
    // The server may answer before it has read everything: ignore write errors.
    let _ = stream.write_all(request).await;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if length.is_some_and(|n| buf.len() >= end + 4 + n) {
                    return buf;
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return buf,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let buf = tokio::time::timeout(NO_HANG, read)
        .await
        .unwrap_or_else(|_| panic!("the server did not answer within {NO_HANG:?} (hang)"));
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A POST route and what it needs: its bearer token, a valid body, and the fields the
/// body must have.
struct Route {
    path: &'static str,
    bearer: Option<String>,
    valid: Value,
    /// Required string fields.
    required: &'static [&'static str],
    /// Optional fields that must still have the right type.
    optional: &'static [&'static str],
    /// Parsed by `OptionalJson`: an empty body is fine.
    optional_body: bool,
}

/// A server with a user that is signed in (`token`, `refresh`) and a second user whose
/// temporary password gave a `change_token`.
struct Ctx {
    srv: TestServer,
    email: String,
    token: String,
    refresh: String,
    change_token: String,
}

async fn setup(b: Backend) -> Option<Ctx> {
    let srv = TestServer::bare(b).await?;
    Some(with_users(srv).await)
}

async fn with_users(srv: TestServer) -> Ctx {
    let email = "wang.fang@corp.example".to_owned();
    srv.add_user(&email, PASSWORD).await;
    let session = srv.login(&email, PASSWORD).await;
    srv.add(
        AddUser {
            email: Some("temp.user@corp.example".into()),
            name: Some("Temp User".into()),
            temporary: true,
            ..AddUser::default()
        },
        PASSWORD,
    )
    .await;
    let (status, body) = srv.login_raw("temp.user@corp.example", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let change_token = match serde_json::from_value::<LoginResponse>(body).expect("login response")
    {
        LoginResponse::PasswordChangeRequired { change_token, .. } => {
            change_token.expose().to_owned()
        }
        other => panic!("expected password_change_required, got {other:?}"),
    };
    Ctx {
        srv,
        email,
        token: session.access_token.expose().to_owned(),
        refresh: session.refresh_token.expose().to_owned(),
        change_token,
    }
}

fn routes(ctx: &Ctx) -> Vec<Route> {
    vec![
        Route {
            path: "/v1/password/check",
            bearer: None,
            valid: json!({"identifier": ctx.email, "password": OTHER_PASSWORD}),
            required: &["password"],
            optional: &["identifier"],
            optional_body: false,
        },
        Route {
            path: "/v1/auth/login",
            bearer: None,
            valid: json!({
                "identifier": ctx.email,
                "password": PASSWORD,
                "device": {"id": "dev-1", "name": "dev-1 name", "platform": "linux"},
                "client_version": "1.0.0",
            }),
            required: &["identifier", "password"],
            optional: &["device", "client_version"],
            optional_body: false,
        },
        Route {
            path: "/v1/auth/password",
            bearer: None,
            valid: json!({"change_token": ctx.change_token, "new_password": OTHER_PASSWORD}),
            required: &["change_token", "new_password"],
            optional: &[],
            optional_body: false,
        },
        Route {
            path: "/v1/auth/refresh",
            bearer: None,
            valid: json!({"refresh_token": ctx.refresh}),
            required: &["refresh_token"],
            optional: &[],
            optional_body: false,
        },
        Route {
            path: "/v1/auth/logout",
            bearer: Some(ctx.token.clone()),
            valid: json!({"all": false}),
            required: &[],
            optional: &["all"],
            optional_body: true,
        },
        Route {
            path: "/v1/me/password",
            bearer: Some(ctx.token.clone()),
            valid: json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD}),
            required: &["current_password", "new_password"],
            optional: &[],
            optional_body: false,
        },
    ]
}

fn with(valid: &Value, field: &str, value: Value) -> Value {
    let mut body = valid.clone();
    body[field] = value;
    body
}

fn without(valid: &Value, field: &str) -> Value {
    let mut body = valid.clone();
    body.as_object_mut().expect("object").remove(field);
    body
}

/// The session of `ctx` still works: nothing above signed it out or changed anything.
async fn still_intact(ctx: &Ctx) {
    let (status, body) = ctx.srv.get("/v1/me", &ctx.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = ctx.srv.login(&ctx.email, PASSWORD).await;
    assert!(!s.access_token.is_empty());
}
