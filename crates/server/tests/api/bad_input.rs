//! Bad input never gets a 500, a panic or a hang: oversized, malformed, mistyped,
//! incomplete and non-UTF-8 bodies, wrong content types, absurd field lengths, unknown
//! routes and methods, garbage credentials and query strings, and a saturated password
//! hasher all get a 4xx whose body is a proper `latchkey_proto::ErrorBody`.

// Test code: a failed expectation is a test failure.

use std::time::Duration;

use latchkey_proto::{ErrorBody, LoginResponse};
use latchkey_server::admin::AddUser;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Backend, TestServer, OTHER_PASSWORD, PASSWORD};

/// Longest any single request may take before it counts as a hang.
const NO_HANG: Duration = Duration::from_secs(60);
/// A value that must never be echoed back in an error message.
const CANARY_NUMBER: i64 = 987_654_321;
const CANARY_TEXT: &str = "Canary-secret-Xylophone-8841";

on_both!(
    oversized_bodies,
    malformed_json,
    wrong_types,
    missing_fields,
    non_utf8_bodies,
    content_types,
    empty_and_huge_secrets_and_identifiers,
    control_characters_and_nul,
    device_and_version_fields,
    unknown_routes_and_wrong_methods,
    garbage_authorization,
    activity_limit,
    hash_queue_saturation,
);

// ---------------------------------------------------------------------------------
// Helpers

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
    let addr = srv.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
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
    let srv = TestServer::start(b).await?;
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

// ---------------------------------------------------------------------------------
// Bodies

async fn oversized_bodies(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let limit = latchkey_server::MAX_BODY_BYTES;
    assert_eq!(limit, 64 * 1024);
    for route in routes(&ctx) {
        // Valid JSON of the right shape, one byte over the limit.
        let field = route.required.first().copied().unwrap_or("pad");
        let skeleton = serde_json::to_vec(&with(&route.valid, field, json!("")))
            .expect("json")
            .len();
        let body = with(&route.valid, field, json!("a".repeat(limit + 1 - skeleton)));
        let bytes = serde_json::to_vec(&body).expect("json");
        assert_eq!(bytes.len(), limit + 1);
        post_bytes(srv, &route, bytes)
            .await
            .error(413, "payload_too_large");
        // Whitespace padding is still too large.
        let mut padded = serde_json::to_vec(&route.valid).expect("json");
        padded.resize(limit + 100, b' ');
        post_bytes(srv, &route, padded)
            .await
            .error(413, "payload_too_large");
        // Far over: half a megabyte.
        let big = with(&route.valid, field, json!("b".repeat(512 * 1024)));
        post_json(srv, &route, &big)
            .await
            .error(413, "payload_too_large");
    }

    // A body announced as 10 MB is refused without waiting for it.
    let (status, body) = raw_tcp(
        srv,
        b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 10000000\r\nConnection: close\r\n\r\n{\"identifier\":",
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let e: ErrorBody = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
    assert_eq!(e.code.as_str(), "payload_too_large");

    // A chunked body (no length announced) that grows past the limit.
    let mut req =
        b"POST /v1/password/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    req.extend_from_slice(b"E\r\n{\"password\": \"\r\n");
    for _ in 0..20 {
        req.extend_from_slice(format!("{:X}\r\n", 4096).as_bytes());
        req.extend(std::iter::repeat_n(b'a', 4096));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"2\r\n\"}\r\n0\r\n\r\n");
    let (status, body) = raw_tcp(srv, &req).await;
    assert_eq!(status, 413, "{body}");
    let e: ErrorBody = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
    assert_eq!(e.code.as_str(), "payload_too_large");

    // The same chunked framing under the limit is fine (the raw client itself works).
    let req = b"POST /v1/password/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                E\r\n{\"password\": \"\r\n6\r\nabcdef\r\n2\r\n\"}\r\n0\r\n\r\n";
    let (status, body) = raw_tcp(srv, req).await;
    assert_eq!(status, 200, "{body}");

    // Under the limit but far beyond any field's maximum: 400, not 413, not a hash.
    let check = &routes(&ctx)[0];
    post_json(srv, check, &json!({"password": "p".repeat(60_000)}))
        .await
        .invalid("password");
    still_intact(&ctx).await;
}

async fn malformed_json(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for route in routes(&ctx) {
        let valid = serde_json::to_string(&route.valid).expect("json");
        let cases: Vec<Vec<u8>> = vec![
            b"{".to_vec(),
            b"}".to_vec(),
            b"{\"password\": ".to_vec(),
            b"{\"a\":}".to_vec(),
            b"{'password': 'x'}".to_vec(),
            b"{password: \"x\"}".to_vec(),
            b"{\"password\": \"x\",}".to_vec(),
            b"nonsense".to_vec(),
            valid.as_bytes()[..valid.len() - 1].to_vec(),
            format!("{valid} garbage").into_bytes(),
            format!("{valid}{valid}").into_bytes(),
            format!("{valid}}}").into_bytes(),
            b"[]".to_vec(),
            format!("[{valid}]").into_bytes(),
            b"42".to_vec(),
            b"-1e999".to_vec(),
            b"\"a string\"".to_vec(),
            b"null".to_vec(),
            b"true".to_vec(),
            b"\xEF\xBB\xBF{}".to_vec(),
            "[".repeat(10_000).into_bytes(),
            "{\"a\":".repeat(5_000).into_bytes(),
        ];
        for body in cases {
            let a = post_bytes(srv, &route, body.clone()).await;
            assert_eq!(
                a.status.as_u16(),
                400,
                "{} {:?}: {}",
                route.path,
                String::from_utf8_lossy(&body[..body.len().min(60)]),
                a.text
            );
            a.error(400, "invalid_request");
        }
        if !route.optional_body {
            post_bytes(srv, &route, Vec::new())
                .await
                .error(400, "invalid_request");
            post_bytes(srv, &route, b"  \n\t ".to_vec())
                .await
                .error(400, "invalid_request");
        }
    }
    still_intact(&ctx).await;
}

async fn wrong_types(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for route in routes(&ctx) {
        let mut fields: Vec<(&str, bool)> = route.required.iter().map(|f| (*f, true)).collect();
        fields.extend(route.optional.iter().map(|f| (*f, false)));
        for (field, required) in fields {
            let mut values = vec![
                json!(CANARY_NUMBER),
                json!(-CANARY_NUMBER),
                json!(1.5e300),
                json!([CANARY_TEXT, CANARY_NUMBER]),
            ];
            // `device` is an object; everything else is a string or a flag.
            if field == "device" {
                values.push(json!(CANARY_TEXT));
            } else {
                values.push(json!({"value": CANARY_TEXT}));
            }
            if field == "all" {
                values.push(json!(CANARY_TEXT));
            } else {
                values.push(json!(true));
            }
            if required {
                values.push(Value::Null);
            }
            for value in values {
                let a = post_json(srv, &route, &with(&route.valid, field, value.clone())).await;
                let e = a.error(400, "invalid_request");
                a.hides(&CANARY_NUMBER.to_string()).hides(CANARY_TEXT);
                // A struct may be given as an array; then the element is named.
                let named = e.field.as_deref().unwrap_or_default();
                assert!(
                    named == field || (field == "device" && named.starts_with("device")),
                    "{} {value}: {}",
                    route.path,
                    a.text
                );
                assert!(e.message.contains(field), "{}: {}", route.path, a.text);
            }
        }
        // Keys are matched exactly: a differently spelled key is a missing field.
        if let Some(field) = route.required.first() {
            let mut body = without(&route.valid, field);
            body[field.to_uppercase()] = json!(CANARY_TEXT);
            let e = post_json(srv, &route, &body).await.invalid(field);
            assert!(e.message.contains(field), "{}", e.message);
        }
    }
    // Nested fields are named by their path.
    let login = &routes(&ctx)[1];
    for sub in ["id", "name", "platform"] {
        let mut body = login.valid.clone();
        body["device"][sub] = json!(CANARY_NUMBER);
        post_json(srv, login, &body)
            .await
            .hides(&CANARY_NUMBER.to_string())
            .invalid(&format!("device.{sub}"));
    }
    // None of that counted as a failed sign-in or signed anyone out.
    still_intact(&ctx).await;
}

async fn missing_fields(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for route in routes(&ctx) {
        for field in route.required {
            let a = post_json(srv, &route, &without(&route.valid, field)).await;
            let e = a.invalid(field);
            assert!(e.message.contains(field), "{}", a.text);
        }
        if route.required.is_empty() {
            // Everything optional: `{}` is a valid body (logout would sign out; skip).
            continue;
        }
        let a = post_json(srv, &route, &json!({})).await;
        let e = a.error(400, "invalid_request");
        assert!(
            route
                .required
                .contains(&e.field.as_deref().unwrap_or_default()),
            "{}: {}",
            route.path,
            a.text
        );
    }
    // A device without its fields is fine (all default); a null device is not.
    let login = &routes(&ctx)[1];
    let a = post_json(srv, login, &with(&login.valid, "device", json!({}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    post_json(srv, login, &with(&login.valid, "device", Value::Null))
        .await
        .invalid("device");
    still_intact(&ctx).await;
}

async fn non_utf8_bodies(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let bad_strings: [&[u8]; 6] = [
        b"\xff\xfe",
        b"abc\xc3",
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"ok\x80ok",
    ];
    for route in routes(&ctx) {
        let field = route.required.first().copied().unwrap_or("all");
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for bad in bad_strings {
            let mut body = format!("{{\"{field}\": \"").into_bytes();
            body.extend_from_slice(bad);
            body.extend_from_slice(b"\"}");
            cases.push(body);
            // In a key.
            let mut body = b"{\"".to_vec();
            body.extend_from_slice(bad);
            body.extend_from_slice(b"\": 1}");
            cases.push(body);
        }
        // Escapes that are not Unicode scalar values.
        cases.push(format!("{{\"{field}\": \"\\ud800\"}}").into_bytes());
        cases.push(format!("{{\"{field}\": \"\\udc00x\"}}").into_bytes());
        cases.push(format!("{{\"{field}\": \"\\u12\"}}").into_bytes());
        // UTF-16 is not UTF-8.
        let utf16: Vec<u8> = serde_json::to_string(&route.valid)
            .expect("json")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        cases.push(utf16);
        for body in cases {
            let a = post_bytes(srv, &route, body.clone()).await;
            assert_eq!(
                a.status.as_u16(),
                400,
                "{} {body:?}: {}",
                route.path,
                a.text
            );
            a.error(400, "invalid_request");
        }
    }
    still_intact(&ctx).await;
}

async fn content_types(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for route in routes(&ctx) {
        let body = serde_json::to_vec(&route.valid).expect("json");
        let token = route.bearer.as_deref();
        let mut types = vec![
            Some("text/plain"),
            Some("text/json"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonp"),
            Some("application/xml"),
            Some(""),
            Some("garbage;;;=="),
        ];
        if !route.optional_body {
            // Without a content type a body is not assumed to be JSON.
            types.push(None);
        }
        for ct in types {
            let a = send(raw(srv, Method::POST, route.path, token, ct, body.clone())).await;
            assert_eq!(a.status.as_u16(), 415, "{} {ct:?}: {}", route.path, a.text);
            a.error(415, "unsupported_media_type");
        }
        // A form-encoded password is refused without being echoed.
        let form = format!("password={CANARY_TEXT}");
        send(raw(
            srv,
            Method::POST,
            route.path,
            token,
            Some("application/x-www-form-urlencoded"),
            form,
        ))
        .await
        .hides(CANARY_TEXT)
        .error(415, "unsupported_media_type");
    }
    // Parameters and +json types are JSON.
    let check = &routes(&ctx)[0];
    let body = serde_json::to_vec(&check.valid).expect("json");
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        let a = send(raw(
            srv,
            Method::POST,
            check.path,
            None,
            Some(ct),
            body.clone(),
        ))
        .await;
        assert_eq!(a.status, StatusCode::OK, "{ct}: {}", a.text);
        assert!(a.json()["score"].is_u64(), "{}", a.text);
    }
    // A login with a non-UTF-8 content-type header value.
    let login = &routes(&ctx)[1];
    let req = srv
        .http
        .post(srv.url(login.path))
        .header(
            CONTENT_TYPE,
            reqwest::header::HeaderValue::from_bytes(b"application/\xffjson").expect("header"),
        )
        .body(serde_json::to_vec(&login.valid).expect("json"));
    send(req).await.error(415, "unsupported_media_type");
    still_intact(&ctx).await;
}

async fn empty_and_huge_secrets_and_identifiers(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let r = routes(&ctx);
    let (check, login, forced, refresh, change) = (&r[0], &r[1], &r[2], &r[3], &r[5]);
    let long = "x".repeat(10_000);
    let long_cjk = "密".repeat(10_000);

    // Every secret field: empty and 10,000 characters are invalid_request naming it.
    for (route, field) in [
        (check, "password"),
        (login, "password"),
        (forced, "change_token"),
        (forced, "new_password"),
        (refresh, "refresh_token"),
        (change, "current_password"),
        (change, "new_password"),
    ] {
        for value in ["", long.as_str(), long_cjk.as_str()] {
            let a = post_json(srv, route, &with(&route.valid, field, json!(value))).await;
            let e = a.invalid(field);
            assert!(e.message.contains(field), "{}", a.text);
            if !value.is_empty() {
                a.hides(&value.chars().take(50).collect::<String>());
            }
        }
    }

    // Identifiers: empty, blank, 10,000 characters.
    for value in [
        "",
        "   ",
        "\u{3000}",
        long.as_str(),
        long_cjk.as_str(),
        &format!("{long}@corp.example"),
    ] {
        let a = post_json(srv, login, &with(&login.valid, "identifier", json!(value))).await;
        a.invalid("identifier");
    }
    let a = post_json(srv, check, &with(&check.valid, "identifier", json!(long))).await;
    a.invalid("identifier");
    // An empty identifier on the check is only missing context: the verdict stands.
    let a = post_json(srv, check, &with(&check.valid, "identifier", json!(""))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post_json(srv, check, &with(&check.valid, "identifier", Value::Null)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // Long but under the hard bound: a normal wrong password, or a policy refusal.
    let a = post_json(
        srv,
        login,
        &with(&login.valid, "password", json!("p".repeat(1_000))),
    )
    .await;
    a.error(401, "invalid_credentials");
    let a = post_json(
        srv,
        check,
        &with(&check.valid, "password", json!("p".repeat(1_000))),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["accepted"], json!(false), "{}", a.text);
    let a = post_json(
        srv,
        forced,
        &with(&forced.valid, "new_password", json!("Qx-".repeat(70))),
    )
    .await;
    let e = a.error(422, "password_rejected");
    assert_eq!(e.field.as_deref(), Some("new_password"));
    // Identifiers that cannot exist fail like unknown ones.
    for value in [
        "a;drop table users",
        "@",
        "a@b",
        "+",
        "12345",
        "a".repeat(320).as_str(),
    ] {
        let a = post_json(srv, login, &with(&login.valid, "identifier", json!(value))).await;
        a.error(401, "invalid_credentials");
    }
    // Unknown tokens of plausible length.
    let a = post_json(
        srv,
        refresh,
        &with(&refresh.valid, "refresh_token", json!("lkr_".repeat(40))),
    )
    .await;
    a.error(401, "token_invalid");
    let a = post_json(
        srv,
        forced,
        &with(&forced.valid, "change_token", json!("lkc_".repeat(40))),
    )
    .await;
    a.error(401, "token_invalid");

    // None of the refusals consumed the change token or counted against the account.
    let a = post_json(srv, forced, &forced.valid).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    still_intact(&ctx).await;
}

async fn control_characters_and_nul(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let r = routes(&ctx);
    let (check, login, forced, refresh, change) = (&r[0], &r[1], &r[2], &r[3], &r[5]);
    // NUL and other control characters must reach no database as text (PostgreSQL
    // refuses NUL in text): each is refused or fails like any wrong value.
    for value in [
        "\u{0}",
        "a\u{0}b@corp.example",
        "wang\u{0}",
        "\u{0}13800138000",
        "\u{1b}[31m",
        "\u{202e}evil",
    ] {
        let a = post_json(srv, login, &with(&login.valid, "identifier", json!(value))).await;
        a.client_error();
        let a = post_json(srv, check, &with(&check.valid, "identifier", json!(value))).await;
        assert!(
            a.status == StatusCode::OK || a.status.is_client_error(),
            "{}",
            a.text
        );
    }
    for (route, field) in [
        (check, "password"),
        (login, "password"),
        (forced, "change_token"),
        (refresh, "refresh_token"),
        (change, "current_password"),
    ] {
        for value in ["\u{0}", "Plum-orchard\u{0}-violin-73", "\u{7f}\u{1}\u{2}"] {
            let a = post_json(srv, route, &with(&route.valid, field, json!(value))).await;
            if route.path == "/v1/password/check" {
                assert!(
                    a.status == StatusCode::OK || a.status.is_client_error(),
                    "{}",
                    a.text
                );
            } else {
                a.client_error();
            }
        }
        // Wrong passwords count towards the lockout: clear the count between fields.
        ctx.srv.login(&ctx.email, PASSWORD).await;
    }
    let a = post_json(
        srv,
        login,
        &with(&login.valid, "client_version", json!("1.0.0\u{0}")),
    )
    .await;
    assert!(
        a.status == StatusCode::OK || a.status.is_client_error(),
        "{}",
        a.text
    );
    // A path parameter with NUL and absurd length.
    for id in [
        "%00",
        "abc%00def",
        &"s".repeat(10_000),
        "%FF%FE",
        "..%2F..%2Fetc",
    ] {
        let a = send(raw(
            srv,
            Method::DELETE,
            &format!("/v1/me/sessions/{id}"),
            Some(&ctx.token),
            None,
            "",
        ))
        .await;
        a.client_error();
    }
    still_intact(&ctx).await;
}

async fn device_and_version_fields(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let login = &routes(&ctx)[1];
    for sub in ["id", "name", "platform"] {
        for value in [
            "n".repeat(10_000),
            "设".repeat(10_000),
            "tab\there".to_owned(),
            "line\nbreak".to_owned(),
        ] {
            let mut body = login.valid.clone();
            body["device"][sub] = json!(value);
            post_json(srv, login, &body)
                .await
                .invalid(&format!("device.{sub}"));
        }
    }
    for value in ["9".repeat(10_000), "1.0.0-".to_owned() + &"x".repeat(100)] {
        post_json(
            srv,
            login,
            &with(&login.valid, "client_version", json!(value)),
        )
        .await
        .invalid("client_version");
    }
    // A long Chinese device name within bounds is fine and shows up in the sessions.
    let mut body = login.valid.clone();
    body["device"]["name"] = json!("王芳的笔记本电脑".repeat(20));
    let a = post_json(srv, login, &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let (status, sessions) = srv.get("/v1/me/sessions", &ctx.token).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    assert!(
        sessions.to_string().contains("王芳的笔记本电脑"),
        "{sessions}"
    );
    still_intact(&ctx).await;
}

// ---------------------------------------------------------------------------------
// Routes, methods, headers, queries

async fn unknown_routes_and_wrong_methods(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let long = format!("/v1/{}", "x".repeat(10_000));
    for path in [
        "/",
        "/v1",
        "/v1/",
        "/v2/meta",
        "/v1/nope",
        "/v1/auth",
        "/v1/auth/nope",
        "/v1/auth/login/extra",
        "/v1/me/sessions/abc/def",
        "/V1/META",
        "/v1/meta/",
        "/%00",
        "/v1/%FF",
        "/../../etc/passwd",
        long.as_str(),
    ] {
        for method in [Method::GET, Method::POST] {
            let a = send(raw(
                srv,
                method.clone(),
                path,
                None,
                Some("application/json"),
                "{}",
            ))
            .await;
            assert_eq!(
                a.status.as_u16(),
                404,
                "{method} {}: {}",
                &path[..path.len().min(40)],
                a.text
            );
            a.error(404, "not_found");
        }
    }
    for (method, path) in [
        (Method::GET, "/v1/auth/login"),
        (Method::PUT, "/v1/auth/login"),
        (Method::DELETE, "/v1/auth/login"),
        (Method::PATCH, "/v1/auth/refresh"),
        (Method::GET, "/v1/auth/logout"),
        (Method::GET, "/v1/auth/password"),
        (Method::GET, "/v1/password/check"),
        (Method::DELETE, "/v1/password/check"),
        (Method::POST, "/v1/meta"),
        (Method::PUT, "/v1/openapi.json"),
        (Method::POST, "/v1/me"),
        (Method::DELETE, "/v1/me"),
        (Method::GET, "/v1/me/password"),
        (Method::POST, "/v1/me/sessions"),
        (Method::GET, "/v1/me/sessions/abc"),
        (Method::POST, "/v1/me/activity"),
    ] {
        let a = send(raw(
            srv,
            method.clone(),
            path,
            Some(&ctx.token),
            Some("application/json"),
            "{}",
        ))
        .await;
        assert_eq!(a.status.as_u16(), 405, "{method} {path}: {}", a.text);
        a.error(405, "method_not_allowed");
    }
    // A method nobody knows.
    let method = Method::from_bytes(b"BREW").expect("method");
    let a = send(raw(srv, method, "/v1/auth/login", None, None, "")).await;
    a.client_error();
    still_intact(&ctx).await;
}

async fn garbage_authorization(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let huge = format!("Bearer {}", "A".repeat(60 * 1024));
    let long = format!("Bearer {}", "lka_".repeat(80));
    let almost = format!("Bearer {}x", ctx.token);
    let refresh_as_access = format!("Bearer {}", ctx.refresh);
    let doubled = format!("Bearer {} {}", ctx.token, ctx.token);
    let values: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"Bearer".to_vec(),
        b"Bearer ".to_vec(),
        b"Bearer      ".to_vec(),
        b"Basic dXNlcjpwYXNz".to_vec(),
        b"Token abc".to_vec(),
        b"Bearer garbage".to_vec(),
        b"Bearer \xff\xfe\xfd".to_vec(),
        b"\xff\xfe".to_vec(),
        b"Bearer a\tb".to_vec(),
        b"Bearer null".to_vec(),
        b"Bearer ' OR '1'='1".to_vec(),
        ctx.token.clone().into_bytes(),
        huge.into_bytes(),
        long.into_bytes(),
        almost.into_bytes(),
        refresh_as_access.into_bytes(),
        doubled.into_bytes(),
    ];
    let routes: [(Method, &str); 6] = [
        (Method::GET, "/v1/me"),
        (Method::GET, "/v1/me/sessions"),
        (Method::GET, "/v1/me/activity"),
        (Method::DELETE, "/v1/me/sessions/abc"),
        (Method::POST, "/v1/auth/logout"),
        (Method::POST, "/v1/me/password"),
    ];
    for value in &values {
        for (method, path) in &routes {
            let header = reqwest::header::HeaderValue::from_bytes(value).expect("header value");
            let mut req = srv
                .http
                .request(method.clone(), srv.url(path))
                .header(AUTHORIZATION, header);
            if *method == Method::POST {
                req = req
                    .header(CONTENT_TYPE, "application/json")
                    .body(r#"{"current_password": "x", "new_password": "y"}"#);
            }
            let a = send(req).await;
            assert_eq!(
                a.status.as_u16(),
                401,
                "{method} {path} {:?}: {}",
                String::from_utf8_lossy(&value[..value.len().min(40)]),
                a.text
            );
            a.error(401, "unauthenticated");
        }
    }
    // Two Authorization headers.
    let req = srv
        .http
        .get(srv.url("/v1/me"))
        .header(AUTHORIZATION, "Bearer garbage")
        .header(AUTHORIZATION, "Bearer garbage2");
    send(req).await.client_error();
    // No header at all.
    send(srv.http.get(srv.url("/v1/me")))
        .await
        .error(401, "unauthenticated");
    // The scheme is case-insensitive: the real token still works.
    let req = srv
        .http
        .get(srv.url("/v1/me"))
        .header(AUTHORIZATION, format!("bearer {}", ctx.token));
    let a = send(req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    still_intact(&ctx).await;
}

async fn activity_limit(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for q in [
        "limit=abc",
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=1.5",
        "limit=4294967296",
        "limit=99999999999999999999999",
        "limit=",
        "limit=%00",
        "limit=1&limit=2",
        "limit=1e3",
        "limit=%FF",
    ] {
        let a = send(
            srv.http
                .get(srv.url(&format!("/v1/me/activity?{q}")))
                .bearer_auth(&ctx.token),
        )
        .await;
        assert_eq!(a.status.as_u16(), 400, "{q}: {}", a.text);
        a.error(400, "invalid_request");
    }
    // Odd but harmless query strings: never a 5xx.
    for q in ["%zz", "limit", "&&&", "other=1", &"x=1&".repeat(2_000)] {
        let a = send(
            srv.http
                .get(srv.url(&format!("/v1/me/activity?{q}")))
                .bearer_auth(&ctx.token),
        )
        .await;
        if !a.status.is_success() {
            a.client_error();
        }
    }
    for q in ["", "?limit=1", "?limit=500", "?limit=+7"] {
        let a = send(
            srv.http
                .get(srv.url(&format!("/v1/me/activity{q}")))
                .bearer_auth(&ctx.token),
        )
        .await;
        if q == "?limit=+7" {
            // Lenient or strict, but a clear answer.
            if !a.status.is_success() {
                a.error(400, "invalid_request");
            }
            continue;
        }
        assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.text);
        assert!(a.json()["entries"].is_array(), "{}", a.text);
        if q == "?limit=1" {
            assert_eq!(
                a.json()["entries"].as_array().map(Vec::len),
                Some(1),
                "{}",
                a.text
            );
        }
    }
    // Bad queries elsewhere are ignored or refused, never a 5xx.
    let a = send(srv.http.get(srv.url("/v1/meta?limit=abc&%zz"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    still_intact(&ctx).await;
}

// ---------------------------------------------------------------------------------
// Load

async fn hash_queue_saturation(b: Backend) {
    let Some(srv) = TestServer::start_with(b, |c| {
        c.argon2.max_concurrent = 1;
        c.argon2.queue = 0;
    })
    .await
    else {
        return;
    };
    let email = "busy.user@corp.example";
    srv.add_user(email, PASSWORD).await;
    let body = json!({
        "identifier": email,
        "password": PASSWORD,
        "device": {"id": "dev-1", "name": "dev-1 name", "platform": "linux"},
        "client_version": "1.0.0",
    });
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let req = srv.http.post(srv.url("/v1/auth/login")).json(&body);
        tasks.push(tokio::spawn(send(req)));
    }
    let mut limited = 0;
    let mut ok = 0;
    for t in tasks {
        let a = t.await.expect("task");
        match a.status.as_u16() {
            200 => {
                assert_eq!(a.json()["status"], "ok", "{}", a.text);
                ok += 1;
            }
            429 => {
                let e = a.error(429, "rate_limited");
                let retry = e.retry_after.expect("retry_after");
                assert!(retry >= 1, "{}", a.text);
                let header = a
                    .headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .expect("Retry-After header");
                assert_eq!(header, retry);
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", a.text),
        }
    }
    assert!(
        limited >= 1,
        "no login was refused with rate_limited ({ok} ok)"
    );
    assert!(ok >= 1, "every login was refused");
    // Saturation is not a failure: no lock, and a single sign-in succeeds at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    srv.login(email, PASSWORD).await;
}
