//! Refresh, revocation, introspection, discovery, key rotation, and two server
//! processes on one database.

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::*;

on_both!(
    refresh_rotates_and_revocation_ends_the_grant,
    discovery_and_keys_rotate_without_breaking_tokens,
    two_processes_are_one_provider,
    signing_out_everywhere_in_the_app_ends_what_applications_got,
    signing_in_again_replaces_the_browsers_single_sign_on
);

async fn signing_in_again_replaces_the_browsers_single_sign_on(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("gao@corp.cn", PASSWORD).await;
    srv.add_user("other@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let first = signed_in_tokens(&srv, &mut browser, &secret, "openid").await;
    let old_cookie = browser.cookies["latchkey_sso"].clone();
    // prompt=login: the same person signs in again.
    let page = browser.authorize("crm", &[("prompt", "login")]).await;
    let done = browser.password(&page, "gao@corp.cn", PASSWORD).await;
    let (_, second) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    assert_ne!(browser.cookies["latchkey_sso"], old_cookie);
    // The old cookie no longer signs anyone in.
    let mut stale = Browser::new(&srv);
    stale.cookies.insert("latchkey_sso".into(), old_cookie);
    let none = stale.authorize("crm", &[("prompt", "none")]).await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    // End-session ends what both sign-ins gave.
    let ask = browser.get("/oidc/logout").await;
    browser.submit(&ask, &[]).await;
    for t in [&first, &second] {
        let i = introspect(&srv, &secret, t["access_token"].as_str().unwrap()).await;
        assert_eq!(i["active"], false, "{i}");
    }
    // Another person signing in on the same browser ends the first one's grants.
    let mine = signed_in_tokens(&srv, &mut browser, &secret, "openid").await;
    let page = browser.authorize("crm", &[("prompt", "login")]).await;
    let done = browser.password(&page, "other@corp.cn", PASSWORD).await;
    assert_eq!(done.status, 303);
    let i = introspect(&srv, &secret, mine["access_token"].as_str().unwrap()).await;
    assert_eq!(i["active"], false, "{i}");
}

async fn signing_out_everywhere_in_the_app_ends_what_applications_got(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("gao@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let tokens = signed_in_tokens(&srv, &mut browser, &secret, "openid offline_access").await;
    let desktop = srv.login("gao@corp.cn", PASSWORD).await;
    let (status, _) = srv
        .call(
            reqwest::Method::POST,
            "/v1/auth/logout",
            Some(desktop.access_token.expose()),
            Some(serde_json::json!({"all": true})),
        )
        .await;
    assert_eq!(status, 204);
    // The application's tokens, offline ones included, and the browser's single
    // sign-on are over.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(introspect(&srv, &secret, access).await["active"], false);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, body) = exchange(
        &srv,
        "crm",
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    let none = browser.authorize("crm", &[("prompt", "none")]).await;
    assert_eq!(none.redirect_params()["error"], "login_required");
}

async fn signed_in_tokens(
    srv: &TestServer,
    browser: &mut Browser,
    secret: &str,
    scope: &str,
) -> Value {
    let page = browser.authorize("crm", &[("scope", scope)]).await;
    // Signed in already (single sign-on): the code comes back at once.
    let done = if page.status == 303 {
        page
    } else {
        browser.password(&page, "gao@corp.cn", PASSWORD).await
    };
    let (status, tokens) =
        exchange_code(srv, "crm", Some(secret), &done.redirect_params()["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn introspect(srv: &TestServer, secret: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/oidc/introspect", srv.base()))
        .basic_auth("crm", Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn refresh_rotates_and_revocation_ends_the_grant(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("gao@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let tokens = signed_in_tokens(&srv, &mut browser, &secret, "openid email offline_access").await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let i = introspect(&srv, &secret, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], "crm");
    assert_eq!(i["scope"], "openid email offline_access");
    let (status, next) = exchange(
        &srv,
        "crm",
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    )
    .await;
    assert_eq!(status, 200, "{next}");
    let second = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let claims = verified_claims(&srv, next["id_token"].as_str().unwrap(), "crm").await;
    assert!(
        claims.get("nonce").is_none(),
        "a refreshed ID token carries no nonce"
    );
    // Revoking the refresh token ends the grant: its access token too.
    let r = reqwest::Client::new()
        .post(format!("{}/oidc/revoke", srv.base()))
        .basic_auth("crm", Some(&secret))
        .form(&[("token", second.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        introspect(&srv, &secret, next["access_token"].as_str().unwrap()).await["active"],
        false
    );
    let (_, body) = exchange(
        &srv,
        "crm",
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    // Without offline_access there is no refresh token; a disabled account's tokens end.
    let tokens = signed_in_tokens(&srv, &mut browser, &secret, "openid").await;
    assert!(tokens.get("refresh_token").is_none());
    latchkey_server::admin::set_disabled(&srv.state, "gao@corp.cn", true)
        .await
        .unwrap();
    assert_eq!(
        introspect(&srv, &secret, tokens["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_eq!(
        introspect(&srv, &secret, "lkoa_unknown").await,
        serde_json::json!({"active": false})
    );
}

async fn discovery_and_keys_rotate_without_breaking_tokens(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("gao@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let ed = register(&srv, "ed", |c| {
        c.id_token_alg = Some(latchkey_server::oidc::keys::Alg::EdDsa)
    })
    .await
    .unwrap();
    let d: Value = reqwest::get(format!("{}/.well-known/openid-configuration", srv.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], srv.base());
    assert_eq!(d["token_endpoint"], format!("{}/oidc/token", srv.base()));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    // A single-page application on another origin may call the JSON endpoints.
    let pre = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oidc/token", srv.base()),
        )
        .header("origin", "https://spa.corp.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(
        pre.headers()["access-control-allow-origin"],
        "https://spa.corp.example"
    );
    assert!(pre
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let mut browser = Browser::new(&srv);
    let before = signed_in_tokens(&srv, &mut browser, &secret, "openid").await;
    let old_kid = jsonwebtoken::decode_header(before["id_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    latchkey_server::oidc::keys::rotate(&srv.state)
        .await
        .unwrap();
    let after = signed_in_tokens(&srv, &mut browser, &secret, "openid").await;
    let new_kid = jsonwebtoken::decode_header(after["id_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(old_kid, new_kid, "the new key signs");
    // Both verify against the JWKS: the old key stays published.
    verified_claims(&srv, before["id_token"].as_str().unwrap(), "crm").await;
    verified_claims(&srv, after["id_token"].as_str().unwrap(), "crm").await;
    // An application registered for EdDSA gets EdDSA.
    let page = browser.authorize("ed", &[]).await;
    let (_, t) = exchange_code(&srv, "ed", Some(&ed), &page.redirect_params()["code"]).await;
    let h = jsonwebtoken::decode_header(t["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(h.alg, jsonwebtoken::Algorithm::EdDSA);
    verified_claims(&srv, t["id_token"].as_str().unwrap(), "ed").await;
}

async fn two_processes_are_one_provider(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("gao@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let other = srv.sibling(|_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let code = browser
        .password(&page, "gao@corp.cn", PASSWORD)
        .await
        .redirect_params()["code"]
        .clone();
    // The code made by the first process is exchanged at the second; the ID token
    // verifies against either's JWKS (one issuer, one set of keys).
    let (status, tokens) = exchange_code(&other, "crm", Some(&secret), &code).await;
    assert_eq!(status, 200, "{tokens}");
    let jwt = tokens["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap();
    for s in [&srv, &other] {
        let jwks: Value = reqwest::get(format!("{}/oidc/jwks", s.base()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(jwks.to_string().contains(&kid));
    }
    // A replay at the first process is still a replay.
    let (_, body) = exchange_code(&srv, "crm", Some(&secret), &code).await;
    assert_eq!(body["error"], "invalid_grant");
}
