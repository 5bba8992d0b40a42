//! Requests: unknown routes and wrong methods, garbage `Authorization` headers, bad
//! query strings.

use latchkey_testkit::{on_both, Backend};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

use super::{raw, send, setup, still_intact};

on_both!(
    unknown_routes_and_wrong_methods,
    garbage_authorization,
    activity_limit,
);

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
