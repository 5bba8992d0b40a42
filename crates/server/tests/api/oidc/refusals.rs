//! What the provider refuses, and how: an error page (never a redirect) for an unknown
//! client or a redirect URI it did not register, an OAuth error at the registered
//! redirect URI for the rest, `invalid_grant` at the token endpoint.

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};

use super::*;

on_both!(
    unknown_clients_and_redirect_uris_get_a_page_not_a_redirect,
    bad_requests_go_back_to_the_application,
    pkce_codes_and_clients_are_checked_at_the_token_endpoint,
    a_missing_code_verifier_is_refused,
    a_replayed_code_revokes_what_it_issued,
    forms_need_the_csrf_token,
    a_two_factor_application_refuses_a_password_only_session,
    the_organisations_two_factor_requirement_holds_in_the_browser,
    wrong_passwords_lock_as_in_the_app
);

async fn unknown_clients_and_redirect_uris_get_a_page_not_a_redirect(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    for (client, redirect) in [
        ("nobody", REDIRECT),
        ("crm", "https://evil.example/callback"),
        ("crm", "https://crm.corp.example/callback/../evil"),
        (
            "crm",
            "https://crm.corp.example/callback?next=https://evil.example",
        ),
        ("", REDIRECT),
    ] {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client)
            .append_pair("redirect_uri", redirect)
            .append_pair("response_type", "token")
            .append_pair("scope", "openid")
            .finish();
        let got = browser.get(&format!("/oidc/authorize?{q}")).await;
        assert_eq!(got.status, 400, "{client} {redirect}");
        assert!(
            got.location.is_none(),
            "never a redirect: {client} {redirect}"
        );
        assert!(!got.error().is_empty());
    }
    // A repeated parameter is refused too, by a page.
    let got = browser
        .get(&format!(
            "/oidc/authorize?client_id=crm&client_id=crm&redirect_uri={REDIRECT}"
        ))
        .await;
    assert_eq!(got.status, 400);
    assert!(got.location.is_none());
}

async fn bad_requests_go_back_to_the_application(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    register(&srv, "crm", |_| {}).await;
    register(&srv, "native", |c| {
        c.public = true;
        c.redirect_uris = vec![REDIRECT.into()];
    })
    .await;
    let mut browser = Browser::new(&srv);
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "crm",
            &[("response_type", "token")],
            "unsupported_response_type",
        ),
        ("crm", &[("scope", "profile email")], "invalid_scope"),
        (
            "crm",
            &[("code_challenge_method", "plain")],
            "invalid_request",
        ),
        ("crm", &[("prompt", "none login")], "invalid_request"),
        ("crm", &[("max_age", "-1")], "invalid_request"),
        ("crm", &[("request", "eyJ.x.y")], "request_not_supported"),
        ("crm", &[("prompt", "none")], "login_required"),
    ];
    for (client, extra, error) in cases {
        // Extra parameters come after the defaults; for a repeated one the test
        // builds the query itself.
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        let defaults = [
            ("client_id", *client),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s/t&1"),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in defaults {
            let v = extra
                .iter()
                .find(|(ek, _)| *ek == k)
                .map(|(_, ev)| *ev)
                .unwrap_or(v);
            q.append_pair(k, v);
        }
        for (k, v) in extra.iter() {
            if !defaults.iter().any(|(dk, _)| dk == k) {
                q.append_pair(k, v);
            }
        }
        let got = browser
            .get(&format!("/oidc/authorize?{}", q.finish()))
            .await;
        assert_eq!(got.status, 303, "{extra:?}: {}", got.body);
        let p = got.redirect_params();
        assert_eq!(p["error"], *error, "{extra:?}");
        assert_eq!(p["state"], "s/t&1", "state comes back as it was sent");
        assert_eq!(p["iss"], srv.base());
        assert!(got.location.unwrap().starts_with(REDIRECT));
    }
    // A public client without PKCE.
    let q = format!(
        "/oidc/authorize?client_id=native&redirect_uri={REDIRECT}&response_type=code&scope=openid"
    );
    let got = browser.get(&q).await;
    assert_eq!(got.redirect_params()["error"], "invalid_request");
}

async fn pkce_codes_and_clients_are_checked_at_the_token_endpoint(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let other = register(&srv, "erp", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let code = |got: &Got| got.redirect_params()["code"].clone();
    let page = browser.authorize("crm", &[]).await;
    let first = code(&browser.password(&page, "he@corp.cn", PASSWORD).await);
    let grant = |c: &str, verifier: &str, redirect: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".into(), c.to_owned()),
            ("redirect_uri".into(), redirect.to_owned()),
            ("code_verifier".into(), verifier.to_owned()),
        ]
    };
    let as_refs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    let post = |client: &'static str, secret: Option<String>, form: Vec<(String, String)>| {
        let srv_base = srv.base();
        async move {
            let mut req = reqwest::Client::new().post(format!("{srv_base}/oidc/token"));
            if let Some(s) = secret {
                req = req.basic_auth(client, Some(s));
            }
            let r = req.form(&form).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    // Each of these spends nothing: the code is still good afterwards.
    let wrong_verifier = "x".repeat(43);
    for (client, s, form, error) in [
        (
            "crm",
            Some(secret.clone()),
            grant(&first, &wrong_verifier, REDIRECT),
            "invalid_grant",
        ),
        (
            "crm",
            Some(secret.clone()),
            grant(&first, VERIFIER, "https://crm.corp.example/other"),
            "invalid_grant",
        ),
        (
            "erp",
            Some(other.clone()),
            grant(&first, VERIFIER, REDIRECT),
            "invalid_grant",
        ),
        (
            "crm",
            Some("lkcs_wrong".into()),
            grant(&first, VERIFIER, REDIRECT),
            "invalid_client",
        ),
        (
            "crm",
            None,
            grant(&first, VERIFIER, REDIRECT),
            "invalid_client",
        ),
        (
            "crm",
            Some(secret.clone()),
            vec![("grant_type".into(), "password".into())],
            "unsupported_grant_type",
        ),
    ] {
        let (status, body) = post(client, s, as_refs(&form)).await;
        assert_eq!(body["error"], error, "{form:?}: {body}");
        assert!(status == 400 || status == 401, "{status}");
    }
    let (status, body) = exchange_code(&srv, "crm", Some(&secret), &first).await;
    assert_eq!(status, 200, "{body}");
    // An expired code: 60 s at most.
    let page = browser.authorize("crm", &[]).await;
    let late = code(&browser.follow_local(page).await);
    srv.advance(61);
    let (_, body) = exchange_code(&srv, "crm", Some(&secret), &late).await;
    assert_eq!(body["error"], "invalid_grant");
    // client_secret_post works as well as Basic.
    let page = browser.authorize("crm", &[]).await;
    let posted = code(&page);
    let (status, body) = exchange(
        &srv,
        "crm",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &posted),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A code asked for with a `code_challenge` needs its `code_verifier`, from a public
/// client (`invalid_request`: PKCE is what authenticates it) and from a confidential
/// one (`invalid_grant`: its secret alone is not enough). The refusal spends nothing.
async fn a_missing_code_verifier_is_refused(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    assert!(register(&srv, "desk", |c| c.public = true).await.is_none());
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("desk", &[]).await;
    let public_code = browser
        .password(&page, "he@corp.cn", PASSWORD)
        .await
        .redirect_params()["code"]
        .clone();
    let confidential_code = browser.authorize("crm", &[]).await.redirect_params()["code"].clone();
    for (client, secret, code, error) in [
        ("desk", None, &public_code, "invalid_request"),
        (
            "crm",
            Some(secret.as_str()),
            &confidential_code,
            "invalid_grant",
        ),
    ] {
        let without = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let (status, body) = exchange(&srv, client, secret, &without).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some(error)),
            "{client}: {body}"
        );
        assert!(body.get("id_token").is_none(), "{body}");
        let (status, body) = exchange(
            &srv,
            client,
            secret,
            &[("code_verifier", ""), without[0], without[1], without[2]],
        )
        .await;
        assert_eq!(status, 400, "{client}, empty verifier: {body}");
        let (status, body) = exchange_code(&srv, client, secret, code).await;
        assert_eq!(status, 200, "{client}: {body}");
    }
}

async fn a_replayed_code_revokes_what_it_issued(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser
        .authorize("crm", &[("scope", "openid offline_access")])
        .await;
    let code = browser
        .password(&page, "he@corp.cn", PASSWORD)
        .await
        .redirect_params()["code"]
        .clone();
    let (_, tokens) = exchange_code(&srv, "crm", Some(&secret), &code).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = exchange_code(&srv, "crm", Some(&secret), &code).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", srv.base()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, body) = exchange(
        &srv,
        "crm",
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
}

async fn forms_need_the_csrf_token(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    register(&srv, "crm", |c| c.first_party = false).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let action = page.action();
    for csrf in ["", "0123456789abcdef0123456789abcdef"] {
        let got = browser
            .post(
                &action,
                &[
                    ("csrf", csrf),
                    ("step", "password"),
                    ("identifier", "he@corp.cn"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(got.status, 403, "{csrf:?}");
        assert!(got.location.is_none());
        assert!(!browser.cookies.contains_key("latchkey_sso"));
    }
    // Consent and end-session too.
    let consent = browser.password(&page, "he@corp.cn", PASSWORD).await;
    let got = browser
        .post(&consent.action(), &[("csrf", "x"), ("decision", "allow")])
        .await;
    assert_eq!(got.status, 200);
    assert!(got.location.is_none());
    assert!(!got.error().is_empty());
    let got = browser.post("/oidc/logout", &[("csrf", "x")]).await;
    assert_eq!(got.status, 403);
    assert!(
        browser.cookies.contains_key("latchkey_sso"),
        "still signed in"
    );
}

async fn a_two_factor_application_refuses_a_password_only_session(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    register(&srv, "vault", |c| c.require_2fa = true).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    assert_eq!(
        browser.password(&page, "he@corp.cn", PASSWORD).await.status,
        303
    );
    let none = browser.authorize("vault", &[("prompt", "none")]).await;
    assert_eq!(none.redirect_params()["error"], "interaction_required");
    let asked = browser
        .authorize("crm", &[("acr_values", "2"), ("prompt", "none")])
        .await;
    assert_eq!(asked.redirect_params()["error"], "interaction_required");
    // Signing in again without a second factor to give ends on a page that says what
    // to do; no code is issued.
    let page = browser.authorize("vault", &[]).await;
    let refused = browser.password(&page, "he@corp.cn", PASSWORD).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.location.is_none());
    assert!(refused.body.contains("two-step verification"));
}

/// The policy set in the console (issue 18): after its grace period an account without
/// TOTP gets no code from any application, only a page that sends it to the app.
async fn the_organisations_two_factor_requirement_holds_in_the_browser(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    latchkey_server::settings::set_policy(
        &srv.state.db,
        Some(r#"{"two_factor.required": "everyone", "two_factor.grace_days": 0}"#),
    )
    .await
    .unwrap();
    srv.let_settings_expire();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let refused = browser.password(&page, "he@corp.cn", PASSWORD).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.location.is_none());
    assert!(refused
        .body
        .contains("Your organisation requires two-step verification"));
}

async fn wrong_passwords_lock_as_in_the_app(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("he@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let mut page = browser.authorize("crm", &[]).await;
    for _ in 0..5 {
        page = browser
            .password(&page, "he@corp.cn", "Wrong-password-1")
            .await;
    }
    assert_eq!(page.status, 423, "{}", page.error());
    assert!(
        page.body.contains("http-equiv=\"refresh\""),
        "the page reloads when the wait is over"
    );
    let (status, body) = srv.login_raw("he@corp.cn", PASSWORD).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (423, Some("account_locked"))
    );
}
