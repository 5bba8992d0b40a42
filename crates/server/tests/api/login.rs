//! `POST /v1/auth/login`: identifiers, the uniform failure, disabled accounts,
//! rehashing, activity.

use latchkey_server::admin::{self, AddUser};
use latchkey_server::config::Argon2Config;
use serde_json::json;

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

on_both!(
    signs_in_by_email_phone_and_username,
    unknown_identifier_and_wrong_password_answer_identically,
    disabled_account_is_refused_only_with_the_right_password,
    old_hash_parameters_are_upgraded_at_sign_in,
);

async fn signs_in_by_email_phone_and_username(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let user = srv
        .add(
            AddUser {
                email: Some("Zhang.Wei@Corp.CN".into()),
                phone: Some("138 0013 8000".into()),
                username: Some("ZhangW".into()),
                name: Some("张伟".into()),
                ..AddUser::default()
            },
            PASSWORD,
        )
        .await;
    assert_eq!(user.email.as_deref(), Some("zhang.wei@corp.cn"));
    assert_eq!(user.phone.as_deref(), Some("+8613800138000"));
    for identifier in [
        "zhang.wei@corp.cn",
        "ZHANG.WEI@corp.cn",
        "13800138000",
        "+86 138-0013-8000",
        "zhangw",
        "ＺｈａｎｇＷ",
    ] {
        let session = srv.login(identifier, PASSWORD).await;
        assert_eq!(session.user.id, user.id, "{identifier}");
        assert_eq!(session.user.name.as_deref(), Some("张伟"));
        assert_eq!(session.expires_in, 900);
        assert_eq!(session.refresh_expires_in, 30 * 24 * 3600);
        assert!(session.access_token.expose().len() >= 43);
        assert_ne!(session.access_token, session.refresh_token);
    }
    // NFKC: the full-width form of the password is the same password.
    let full_width: String = PASSWORD
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 + 0xFEE0).unwrap()
            } else {
                c
            }
        })
        .collect();
    srv.login("zhangw", &full_width).await;
}

async fn unknown_identifier_and_wrong_password_answer_identically(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("known@corp.cn", PASSWORD).await;
    let resp = |identifier: &'static str| {
        let srv = &srv;
        async move {
            let r = srv
                .http
                .post(srv.url("/v1/auth/login"))
                .json(&json!({"identifier": identifier, "password": "Wrong-password-123"}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let mut headers: Vec<(String, String)> = r
                .headers()
                .iter()
                // Per request, whoever asks: the time, and the request id (issue 22).
                .filter(|(k, _)| *k != "date" && *k != "x-request-id")
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            headers.sort();
            (status, headers, r.bytes().await.unwrap())
        }
    };
    let known = resp("known@corp.cn").await;
    let unknown = resp("nobody@corp.cn").await;
    let malformed = resp("not an identifier!").await;
    assert_eq!(known.0, 401);
    assert_eq!(known, unknown);
    assert_eq!(known, malformed);
    let body: serde_json::Value = serde_json::from_slice(&known.2).unwrap();
    assert_eq!(body["code"], "invalid_credentials");
}

async fn disabled_account_is_refused_only_with_the_right_password(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    srv.add_user("off@corp.cn", PASSWORD).await;
    let session = srv.login("off@corp.cn", PASSWORD).await;
    admin::set_disabled(&srv.state, "off@corp.cn", true)
        .await
        .unwrap();
    let (s, body) = srv.login_raw("off@corp.cn", PASSWORD).await;
    assert_error(s, &body, 403, "account_disabled");
    let (s, body) = srv.login_raw("off@corp.cn", "Wrong-password-123").await;
    assert_error(s, &body, 401, "invalid_credentials");
    // Disabling ended the session that existed.
    let (s, body) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_error(s, &body, 401, "unauthenticated");
    admin::set_disabled(&srv.state, "off@corp.cn", false)
        .await
        .unwrap();
    srv.login("off@corp.cn", PASSWORD).await;
}

async fn old_hash_parameters_are_upgraded_at_sign_in(b: Backend) {
    // A server with weaker (older) parameters creates the account ...
    let Some(old) = TestServer::bare_with(b, |c| {
        c.argon2 = Argon2Config {
            memory_kib: 8192,
            iterations: 1,
            ..Argon2Config::default()
        };
    })
    .await
    else {
        return;
    };
    let user = old.add_user("legacy@corp.cn", PASSWORD).await;
    assert!(user
        .password_hash
        .starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
    // ... and the current server, on the same database, upgrades it at sign-in.
    let new = old.sibling(|c| c.argon2 = Argon2Config::default()).await;
    new.login("legacy@corp.cn", PASSWORD).await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&new.state.db)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    new.login("legacy@corp.cn", PASSWORD).await;
}
