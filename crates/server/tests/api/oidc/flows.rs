//! Sign-ins that succeed: password, TOTP, new-device code, forced change, consent,
//! single sign-on into a second application, end-session.

use latchkey_proto::Maintenance;
use latchkey_server::admin::{self, AddUser};
use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};

use super::*;

on_both!(
    password_sign_in_gives_a_code_and_verified_tokens,
    totp_sign_in_then_single_sign_on_and_end_session,
    a_new_browser_gets_the_device_code,
    a_temporary_password_is_changed_in_the_browser,
    a_third_party_application_asks_consent_once,
    a_forgotten_password_is_reset_in_the_browser,
    pages_speak_the_browsers_language_and_maintenance_is_a_page
);

async fn password_sign_in_gives_a_code_and_verified_tokens(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    let user = srv.add_user("mei@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("crm app"),
        "the page names the application"
    );
    assert_eq!(page.field_with("username").as_deref(), Some("identifier"));
    assert_eq!(
        page.field_with("current-password").as_deref(),
        Some("password")
    );
    assert!(page.body.contains("<label for=\"identifier\">"));
    let done = browser.password(&page, "mei@corp.cn", PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.as_deref().unwrap().starts_with(REDIRECT));
    let p = done.redirect_params();
    assert_eq!(p["state"], "st-1");
    assert_eq!(p["iss"], srv.base());
    assert!(browser.cookies.contains_key("latchkey_sso"));
    let (status, tokens) = exchange_code(&srv, "crm", Some(&secret), &p["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let claims = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "crm").await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_ne!(claims["sub"], "mei@corp.cn");
    assert_eq!(claims["email"], "mei@corp.cn");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "1");
    assert_eq!(claims["azp"], "crm");
    let access = tokens["access_token"].as_str().unwrap();
    let half = &Sha256::digest(access.as_bytes())[..16];
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(half));
    // userinfo answers the same subject.
    let info: Value = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", srv.base()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], user.id.as_str());
    assert_eq!(info["email"], "mei@corp.cn");
    // The sign-in is in the person's sessions, as a browser.
    let s = srv.login("mei@corp.cn", PASSWORD).await;
    let (_, list) = srv.get("/v1/me/sessions", s.access_token.expose()).await;
    assert!(list.to_string().contains("Web browser"), "{list}");
}

async fn totp_sign_in_then_single_sign_on_and_end_session(b: Backend) {
    let Some(srv) = crate::api::totp::start(b).await else {
        return;
    };
    let enabled = crate::api::totp::enabled_user(&srv, "li@corp.cn").await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mail_secret = register(&srv, "mail", |c| c.require_2fa = true)
        .await
        .unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let step = browser.password(&page, "li@corp.cn", PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert_eq!(step.field_with("one-time-code").as_deref(), Some("code"));
    // A wrong code is said so on the page; the right one finishes.
    let wrong = browser.submit(&step, &[("code", "000000")]).await;
    assert_eq!(wrong.status, 400);
    assert!(!wrong.error().is_empty());
    let code = crate::api::totp::code(&srv, &enabled.secret, 0);
    let done = browser.submit(&wrong, &[("code", &code)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, tokens) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    let claims = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "crm").await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "2");
    // A second application, which requires two-factor sign-in: no page at all.
    let sso = browser.authorize("mail", &[]).await;
    assert_eq!(sso.status, 303, "{}", sso.body);
    let (status, tokens) = exchange_code(
        &srv,
        "mail",
        Some(&mail_secret),
        &sso.redirect_params()["code"],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "mail").await;
    assert_eq!(claims["auth_time"], verified_auth_time(&claims));
    // prompt=none works while signed in; max_age=0 asks again.
    assert_eq!(
        browser.authorize("crm", &[("prompt", "none")]).await.status,
        303
    );
    let again = browser.authorize("crm", &[("max_age", "0")]).await;
    assert_eq!(again.status, 200);
    assert!(again.field_with("current-password").is_some());
    // End-session: confirm, then every application needs a sign-in again.
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let ask = browser.get("/oidc/logout").await;
    assert_eq!(ask.status, 200);
    let out = browser.submit(&ask, &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(!browser.cookies.contains_key("latchkey_sso"));
    let none = browser.authorize("mail", &[("prompt", "none")]).await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    let r = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", srv.base()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the browser session's tokens end with it");
    let _ = enabled.user_id;
}

fn verified_auth_time(claims: &Value) -> Value {
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    claims["auth_time"].clone()
}

async fn a_new_browser_gets_the_device_code(b: Backend) {
    let Some(srv) = TestServer::start(b, |_| {}).await else {
        return;
    };
    srv.add_user("zhao@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let before = srv.smtp.messages().len();
    let step = browser.password(&page, "zhao@corp.cn", PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(
        step.body.contains("z***@corp.cn") || step.body.contains("***"),
        "{}",
        step.body
    );
    let code = srv.smtp.code_after(before).await;
    let done = browser.submit(&step, &[("code", &code)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (status, _) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    assert_eq!(status, 200);
    // The same browser is known now: the next sign-in asks no code.
    let mut again = browser.authorize("crm", &[("prompt", "login")]).await;
    again = browser.password(&again, "zhao@corp.cn", PASSWORD).await;
    assert_eq!(again.status, 303, "{}", again.body);
}

async fn a_temporary_password_is_changed_in_the_browser(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add(
        AddUser {
            email: Some("qiao@corp.cn".into()),
            temporary: true,
            ..AddUser::default()
        },
        "Lantern-harbor-2026x",
    )
    .await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let change = browser
        .password(&page, "qiao@corp.cn", "Lantern-harbor-2026x")
        .await;
    assert_eq!(change.status, 200, "{}", change.body);
    assert_eq!(
        change.field_with("new-password").as_deref(),
        Some("new_password")
    );
    let mismatch = browser
        .submit(
            &change,
            &[
                ("new_password", "Quiet-orchard-7731"),
                ("confirm_password", "other"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 400);
    let weak = browser
        .submit(
            &mismatch,
            &[
                ("new_password", "password1"),
                ("confirm_password", "password1"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(
        weak.body.contains("<ul class=\"items\">"),
        "the policy's reasons are listed"
    );
    let done = browser
        .submit(
            &weak,
            &[
                ("new_password", "Quiet-orchard-7731"),
                ("confirm_password", "Quiet-orchard-7731"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.redirect_params().contains_key("code"));
    srv.login("qiao@corp.cn", "Quiet-orchard-7731").await;
}

async fn a_third_party_application_asks_consent_once(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    srv.add_user("wu@corp.cn", PASSWORD).await;
    let secret = register(&srv, "survey", |c| c.first_party = false)
        .await
        .unwrap();
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("survey", &[]).await;
    let consent = browser.password(&page, "wu@corp.cn", PASSWORD).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains("Your e-mail address"),
        "{}",
        consent.body
    );
    let denied = browser
        .post(
            &consent.action(),
            &[
                ("csrf", &consent.input("csrf").unwrap()),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(denied.redirect_params()["error"], "access_denied");
    let again = browser.authorize("survey", &[]).await;
    let again = browser.follow_local(again).await;
    assert!(again.body.contains("Your e-mail address"));
    let allowed = browser
        .post(
            &again.action(),
            &[
                ("csrf", &again.input("csrf").unwrap()),
                ("decision", "allow"),
            ],
        )
        .await;
    let (status, _) = exchange_code(
        &srv,
        "survey",
        Some(&secret),
        &allowed.redirect_params()["code"],
    )
    .await;
    assert_eq!(status, 200);
    // Given once: the next authorization goes straight back.
    assert_eq!(browser.authorize("survey", &[]).await.status, 303);
    // prompt=consent asks again, and so does a first-party application asked to.
    let asked = browser.authorize("survey", &[("prompt", "consent")]).await;
    assert!(browser
        .follow_local(asked)
        .await
        .body
        .contains("Your e-mail address"));
    // prompt=none when consent is needed says so.
    let more = browser
        .authorize("survey", &[("prompt", "none"), ("scope", "openid phone")])
        .await;
    assert_eq!(more.redirect_params()["error"], "consent_required");
}

async fn pages_speak_the_browsers_language_and_maintenance_is_a_page(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    browser.accept_language = "zh-CN,zh;q=0.9";
    let page = browser.authorize("crm", &[]).await;
    assert!(page.body.contains("<html lang=\"zh-CN\">"));
    assert!(page.body.contains("邮箱、手机号或用户名"));
    let rid = page.action();
    let en = browser.get(&format!("{rid}?lang=en")).await;
    assert!(en.body.contains("E-mail, phone or username"));
    assert_eq!(
        browser.cookies.get("latchkey_lang").map(String::as_str),
        Some("en")
    );
    let wrong = browser
        .password(&en, "nobody@corp.cn", "Wrong-password-1")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.error().contains("not correct"), "{}", wrong.error());
    admin::maintenance(
        &srv.state,
        Some(Maintenance {
            message: "upgrade".into(),
            until: Some("2030-01-01T08:00:00+08:00".into()),
        }),
    )
    .await
    .unwrap();
    srv.let_settings_expire();
    let m = browser.authorize("crm", &[]).await;
    assert_eq!(m.status, 503);
    assert!(m.body.contains("2030-01-01 08:00 (UTC+08:00)") && m.body.contains("upgrade"));
}

async fn a_forgotten_password_is_reset_in_the_browser(b: Backend) {
    let Some(srv) = TestServer::start(b, |c| c.devices.verify_new = false).await else {
        return;
    };
    srv.add_user("sun@corp.cn", PASSWORD).await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    assert!(
        page.body.contains("?reset=1"),
        "the sign-in page offers a reset"
    );
    let start = browser.get(&format!("{}?reset=1", page.action())).await;
    assert_eq!(start.field_with("username").as_deref(), Some("identifier"));
    let before = srv.smtp.messages().len();
    let sent = browser
        .submit(&start, &[("identifier", "sun@corp.cn")])
        .await;
    let code_page = browser.follow_local(sent).await;
    assert_eq!(
        code_page.field_with("one-time-code").as_deref(),
        Some("code"),
        "{}",
        code_page.body
    );
    let code = srv.smtp.code_after(before).await;
    // A wrong code is refused on the page; the right one leads to the new password.
    let wrong = browser.submit(&code_page, &[("code", "000000")]).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    let verified = browser.submit(&wrong, &[("code", &code)]).await;
    let new_page = browser.follow_local(verified).await;
    assert_eq!(
        new_page.field_with("new-password").as_deref(),
        Some("new_password"),
        "{}",
        new_page.body
    );
    let done = browser
        .submit(
            &new_page,
            &[
                ("new_password", "Quiet-orchard-7731"),
                ("confirm_password", "Quiet-orchard-7731"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("role=\"status\""),
        "the page says it is done"
    );
    // The old password no longer works; the new one signs in.
    let old = browser.password(&done, "sun@corp.cn", PASSWORD).await;
    assert_eq!(old.status, 401);
    let ok = browser
        .password(&old, "sun@corp.cn", "Quiet-orchard-7731")
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}
