//! A retried reset start, account action or second factor runs once.

use super::*;

on_both!(
    a_retried_reset_start_sends_one_code,
    a_retried_account_action_runs_once,
    a_retried_second_factor_is_checked_once,
);

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
