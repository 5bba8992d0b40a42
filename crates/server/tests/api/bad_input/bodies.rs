//! Bodies: too large (also when announced or chunked), not JSON, not UTF-8, or not sent
//! as JSON.

use latchkey_proto::ErrorBody;
use latchkey_testkit::{on_both, Backend};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::CANARY_TEXT;
use super::{post_bytes, post_json, raw, raw_tcp, routes, send, setup, still_intact, with};

on_both!(
    oversized_bodies,
    malformed_json,
    non_utf8_bodies,
    content_types,
);

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
