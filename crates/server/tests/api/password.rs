//! `POST /v1/password/check`: the server's verdict from the shared policy.

use serde_json::json;

use latchkey_testkit::api::assert_error;
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(check_gives_verdicts_reasons_and_suggestions);

async fn check_gives_verdicts_reasons_and_suggestions(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let check = |body: serde_json::Value| srv.post("/v1/password/check", body);
    let (s, v) = check(json!({"password": "correct horse battery staple 42"})).await;
    assert_eq!(s, 200);
    assert_eq!(v["accepted"], true, "{v}");
    assert!(v["score"].as_u64().unwrap() >= 3);
    assert_eq!(v["reasons"], json!([]));
    let (_, v) = check(json!({"password": "woaini1314520"})).await;
    assert_eq!(v["accepted"], false);
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("common_password"))
            || v["reasons"]
                .as_array()
                .unwrap()
                .contains(&json!("too_weak")),
        "{v}"
    );
    assert!(!v["suggestions"].as_array().unwrap().is_empty());
    let (_, v) = check(json!({"password": "short"})).await;
    assert!(v["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("too_short")));
    // 128 characters are judged, 129 refused (not cut).
    let long128: String = "Tq7#mZ2!vR9$kL4@".repeat(8);
    assert_eq!(long128.chars().count(), 128);
    let (_, v) = check(json!({"password": long128})).await;
    assert!(
        !v["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("too_long")),
        "{v}"
    );
    let (_, v) = check(json!({"password": format!("{long128}x")})).await;
    assert_eq!(v["reasons"], json!(["too_long"]));
    // The identifier is context.
    let (_, v) =
        check(json!({"identifier": "liuyang.design@corp.cn", "password": "Liuyang.Design-2024!"}))
            .await;
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("contains_personal_info")),
        "{v}"
    );
    // Empty, and far too long, are malformed requests.
    let (s, v) = check(json!({"password": ""})).await;
    assert_error(s, &v, 400, "invalid_request");
    let (s, v) = check(json!({"password": "a".repeat(10_000)})).await;
    assert_error(s, &v, 400, "invalid_request");
    assert_eq!(v["field"], "password");
}
