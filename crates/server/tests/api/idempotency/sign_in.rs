//! A retried sign-in: the same session, one hash, one failure counted; a key that does
//! not match its request, another account's answer, and bad keys are refused.

use super::*;

on_both!(
    a_retried_sign_in_gets_the_same_session_without_hashing_again,
    a_retried_wrong_password_is_counted_once,
    a_copy_sent_while_the_first_runs_gets_its_answer,
    a_key_sent_with_another_request_is_refused,
    another_account_cannot_replay_an_answer,
    bad_keys_are_refused,
);

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
