//! An enabled second factor: recovery codes, regenerating them, turning TOTP off.

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend};
use serde_json::json;

use super::{
    activity_kinds, base32_decode, code, enabled_user, mfa_token, post_auth, second, start,
};

on_both!(
    recovery_codes_work_once_and_regenerating_voids_them,
    disabling_needs_the_password_and_a_code,
);

async fn recovery_codes_work_once_and_regenerating_voids_them(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "rc@corp.cn").await;
    let left = |token: String| {
        let srv = &srv;
        async move {
            let (_, me) = srv.get("/v1/me", &token).await;
            me["recovery_codes_left"].clone()
        }
    };
    assert_eq!(left(e.token.clone()).await, json!(10));
    // Typed sloppily: upper case, no dashes, spaces.
    let sloppy = e.codes[0].replace('-', " ").to_uppercase();
    let t = mfa_token(&srv, "rc@corp.cn").await;
    let (s, body) = second(&srv, &t, "recovery_code", &sloppy).await;
    assert_eq!(s, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let t = mfa_token(&srv, "rc@corp.cn").await;
    let (s, body) = second(&srv, &t, "recovery_code", &e.codes[0]).await;
    assert_error(s, &body, 400, "code_invalid");
    // A recovery code is not a TOTP code, nor the reverse.
    let (s, body) = second(&srv, &t, "totp", &e.codes[1]).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = second(&srv, &t, "recovery_code", &code(&srv, &e.secret, 0)).await;
    assert_error(s, &body, 400, "code_invalid");
    assert!(activity_kinds(&srv, &access)
        .await
        .contains(&("recovery_code_used".into(), "ok".into())));
    assert_eq!(left(access.clone()).await, json!(9));

    // Regenerating takes the password.
    let (s, body) = post_auth(
        &srv,
        "/v1/me/recovery-codes",
        &e.token,
        json!({"password": OTHER_PASSWORD}),
    )
    .await;
    assert_error(s, &body, 403, "current_password_invalid");
    let (s, body) = post_auth(
        &srv,
        "/v1/me/recovery-codes",
        &e.token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let fresh: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !e.codes.contains(c)));
    let t = mfa_token(&srv, "rc@corp.cn").await;
    let (s, body) = second(&srv, &t, "recovery_code", &e.codes[1]).await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = second(&srv, &t, "recovery_code", &fresh[9]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(left(e.token.clone()).await, json!(9));
    assert!(activity_kinds(&srv, &e.token)
        .await
        .contains(&("recovery_codes_regenerated".into(), "ok".into())));
}

async fn disabling_needs_the_password_and_a_code(b: Backend) {
    let Some(srv) = start(b).await else { return };
    let e = enabled_user(&srv, "off@corp.cn").await;
    let path = "/v1/me/totp/disable";
    let (s, body) = post_auth(&srv, path, &e.token, json!({"password": PASSWORD})).await;
    assert_error(s, &body, 400, "invalid_request");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": OTHER_PASSWORD, "code": code(&srv, &e.secret, 0)}),
    )
    .await;
    assert_error(s, &body, 403, "current_password_invalid");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": "000000"}),
    )
    .await;
    // (One in a million: 000000 could be the current code.)
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": code(&srv, &e.secret, 0)}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let (_, me) = srv.get("/v1/me", &e.token).await;
    assert_eq!(me["user"]["mfa_enabled"], false);
    srv.login("off@corp.cn", PASSWORD).await;
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": "000000"}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = post_auth(
        &srv,
        "/v1/me/recovery-codes",
        &e.token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_error(s, &body, 409, "conflict");
    let kinds = activity_kinds(&srv, &e.token).await;
    assert!(
        kinds.contains(&("totp_disabled".into(), "ok".into())),
        "{kinds:?}"
    );

    // Set up again, and turn it off with a recovery code (the phone was lost).
    let (s, enrol) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        &e.token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        &e.token,
        json!({"code": code(&srv, &secret, 0)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let rc = body["recovery_codes"][3].as_str().unwrap();
    assert!(!e.codes.contains(&rc.to_owned()), "old codes were deleted");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": e.codes[3]}),
    )
    .await;
    assert_error(s, &body, 400, "code_invalid");
    let (s, body) = post_auth(
        &srv,
        path,
        &e.token,
        json!({"password": PASSWORD, "code": rc}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1")
        .bind(&e.user_id)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
