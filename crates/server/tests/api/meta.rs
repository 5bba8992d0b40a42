//! `GET /v1/meta` and the OpenAPI document.

use std::collections::BTreeSet;

use latchkey_proto::ErrorCode;
use reqwest::Method;

use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(meta_describes_the_server, openapi_lists_every_route);

async fn meta_describes_the_server(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.server_name = "Corp Sign-in".into();
        c.support.phone = Some("+86 10 8888 0000".into());
        c.password.min_length = 14;
    })
    .await
    else {
        return;
    };
    let (status, meta) = srv.call(Method::GET, "/v1/meta", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(meta["server_name"], "Corp Sign-in");
    assert_eq!(meta["api_version"], "v1");
    assert_eq!(meta["support"]["phone"], "+86 10 8888 0000");
    assert_eq!(meta["password_policy"]["min_length"], 14);
    assert_eq!(meta["password_policy"]["max_length"], 128);
    assert_eq!(meta["password_policy"]["min_score"], 3);
    assert_eq!(meta["offline"]["days"], 7);
    assert_eq!(meta["offline"]["max_attempts"], 5);
    assert_eq!(meta["maintenance"], serde_json::Value::Null);
    assert_eq!(meta["min_client_version"], serde_json::Value::Null);
    assert!(meta["recovery_channels"]
        .as_array()
        .unwrap()
        .contains(&"email".into()));
}

/// The JSON routes (the v1 API and the OpenID Connect endpoints): the document must
/// describe each, and nothing else.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/meta"),
    ("get", "/v1/openapi.json"),
    ("post", "/v1/password/check"),
    ("get", "/v1/client/update/{target}/{arch}/{current_version}"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/password"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/auth/logout"),
    ("post", "/v1/auth/mfa"),
    ("post", "/v1/auth/device/verify"),
    ("post", "/v1/recovery/start"),
    ("post", "/v1/recovery/verify"),
    ("post", "/v1/recovery/link"),
    ("post", "/v1/recovery/complete"),
    ("get", "/v1/me"),
    ("post", "/v1/me/password"),
    ("get", "/v1/me/sessions"),
    ("delete", "/v1/me/sessions/{id}"),
    ("get", "/v1/me/activity"),
    ("post", "/v1/me/totp/enroll"),
    ("post", "/v1/me/totp/confirm"),
    ("post", "/v1/me/totp/disable"),
    ("post", "/v1/me/recovery-codes"),
    ("get", "/v1/approvals/{id}"),
    ("post", "/v1/approvals/{id}"),
    ("get", "/v1/launcher"),
    ("post", "/v1/launch"),
    ("get", "/v1/me/applications"),
    ("delete", "/v1/me/applications/{client_id}"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/oidc/jwks"),
    ("post", "/oidc/token"),
    ("get", "/oidc/userinfo"),
    ("post", "/oidc/userinfo"),
    ("post", "/oidc/revoke"),
    ("post", "/oidc/introspect"),
    ("get", "/admin/v1/me"),
    ("get", "/admin/v1/users"),
    ("get", "/admin/v1/users/{id}"),
    ("post", "/admin/v1/users/{id}/unlock"),
    ("post", "/admin/v1/users/{id}/temporary-password"),
    ("post", "/admin/v1/users/{id}/reset-two-factor"),
    ("post", "/admin/v1/users/{id}/revoke-sessions"),
    ("post", "/admin/v1/users/{id}/disable"),
    ("post", "/admin/v1/users/{id}/enable"),
    ("get", "/admin/v1/audit"),
    ("post", "/admin/v1/users"),
    ("post", "/admin/v1/users/import"),
    ("patch", "/admin/v1/users/{id}"),
    ("delete", "/admin/v1/users/{id}"),
    ("put", "/admin/v1/maintenance"),
    ("delete", "/admin/v1/maintenance"),
    ("get", "/admin/v1/policies"),
    ("put", "/admin/v1/policies"),
    ("put", "/admin/v1/min-client-version"),
    ("delete", "/admin/v1/min-client-version"),
];

async fn openapi_lists_every_route(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let (status, doc) = srv.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);
    // Every documented route really answers (not the 404/405 fallback).
    for (method, path) in ROUTES {
        let path = path
            .replace("{id}", "0")
            .replace("{client_id}", "0")
            .replace("{target}/{arch}/{current_version}", "linux/x86_64/1.0.0");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = srv.http.request(m, srv.url(&path)).send().await.unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert!(
            status != 405 && body["code"] != "not_found",
            "{method} {path}: {status} {body}"
        );
    }
    // Every error code is in the schema.
    let codes = &doc["components"]["schemas"]["ErrorCode"];
    let listed: BTreeSet<String> = serde_json::to_string(codes)
        .unwrap()
        .split('"')
        .map(str::to_owned)
        .collect();
    for code in ErrorCode::ALL {
        assert!(
            listed.contains(code.as_str()),
            "{code} missing from the OpenAPI schema"
        );
    }
    // And the document the library builds is the one served.
    let built = serde_json::to_value(latchkey_server::openapi()).unwrap();
    assert_eq!(built, doc);
}
