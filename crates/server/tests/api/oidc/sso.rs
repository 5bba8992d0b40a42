//! The browser's single sign-on: the cookies' attributes, and a password-only single
//! sign-on stepping up when an application asks for two-factor sign-in (`acr_values=2`)
//! once the account has TOTP. (An account without TOTP cannot step up: that page is in
//! `refusals.rs`.)

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};
use serde_json::json;

use super::*;
use crate::api::totp::{base32_decode, code as totp_code, post_auth};

on_both!(
    cookies_are_http_only_and_same_site_lax,
    cookies_are_secure_when_the_issuer_is_https,
    a_password_only_single_sign_on_steps_up_to_totp,
);

/// Signs a new user in to `crm` in a fresh browser; every `Set-Cookie` it was sent.
async fn cookies_of_a_sign_in(srv: &TestServer) -> Vec<String> {
    srv.add_user("he@corp.cn", PASSWORD).await;
    register(srv, "crm", |_| {}).await;
    let mut browser = Browser::new(srv);
    let page = browser.authorize("crm", &[]).await;
    let done = browser.password(&page, "he@corp.cn", PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let sso: Vec<&String> = browser
        .set_cookies
        .iter()
        .filter(|c| c.starts_with("latchkey_sso="))
        .collect();
    assert_eq!(sso.len(), 1, "{:?}", browser.set_cookies);
    browser.set_cookies
}

fn attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

async fn cookies_are_http_only_and_same_site_lax(b: Backend) {
    let Some(srv) = server(b).await else {
        return;
    };
    assert!(srv.base().starts_with("http://"));
    for cookie in cookies_of_a_sign_in(&srv).await {
        let a = attributes(&cookie);
        assert!(a.contains(&"httponly".to_owned()), "{cookie}");
        assert!(a.contains(&"samesite=lax".to_owned()), "{cookie}");
        // Over plain http (loopback here) a Secure cookie would not come back.
        assert!(!a.contains(&"secure".to_owned()), "{cookie}");
    }
}

async fn cookies_are_secure_when_the_issuer_is_https(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.delivery.secret_key = Some(crate::api::totp::KEY.into());
        c.oidc.issuer = "https://sso.corp.example".into();
    })
    .await
    else {
        return;
    };
    for cookie in cookies_of_a_sign_in(&srv).await {
        let a = attributes(&cookie);
        assert!(a.contains(&"httponly".to_owned()), "{cookie}");
        assert!(a.contains(&"samesite=lax".to_owned()), "{cookie}");
        assert!(a.contains(&"secure".to_owned()), "{cookie}");
    }
}

async fn a_password_only_single_sign_on_steps_up_to_totp(b: Backend) {
    let Some(srv) = crate::api::totp::start(b).await else {
        return;
    };
    srv.add_user("step@corp.cn", PASSWORD).await;
    let secret = register(&srv, "crm", |_| {}).await.unwrap();
    // A password-only single sign-on, made before the account had TOTP.
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    let done = browser.password(&page, "step@corp.cn", PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, tokens) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    let claims = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "crm").await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    // Then TOTP is turned on (in the desktop app).
    let token = srv.login("step@corp.cn", PASSWORD).await.access_token;
    let (s, enrol) = post_auth(
        &srv,
        "/v1/me/totp/enroll",
        token.expose(),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{enrol}");
    let totp = base32_decode(enrol["secret"].as_str().unwrap());
    let (s, body) = post_auth(
        &srv,
        "/v1/me/totp/confirm",
        token.expose(),
        json!({"code": totp_code(&srv, &totp, 0)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    srv.advance(30);
    // Turning TOTP on ended every other session, the browser's single sign-on among
    // them: a password-only single sign-on of an account with TOTP does not outlive
    // the change, so nothing is handed out on its strength.
    let none = browser
        .authorize("crm", &[("prompt", "none"), ("acr_values", "2")])
        .await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    let none = browser.authorize("crm", &[("prompt", "none")]).await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    // An application that asks for two-factor sign-in (acr_values=2): the provider
    // asks for the password, then the TOTP code, and says so in the ID token.
    let asked = browser.authorize("crm", &[("acr_values", "2")]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        asked.field_with("current-password").is_some(),
        "{}",
        asked.body
    );
    let step = browser.password(&asked, "step@corp.cn", PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert_eq!(step.field_with("one-time-code").as_deref(), Some("code"));
    assert!(
        step.field_with("current-password").is_none(),
        "{}",
        step.body
    );
    let done = browser
        .submit(&step, &[("code", &totp_code(&srv, &totp, 0))])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (status, tokens) =
        exchange_code(&srv, "crm", Some(&secret), &done.redirect_params()["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let stepped = verified_claims(&srv, tokens["id_token"].as_str().unwrap(), "crm").await;
    assert_eq!(stepped["sub"], claims["sub"]);
    assert_eq!(stepped["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(stepped["acr"], "2");
    // The new single sign-on has the second factor: asked again, nothing is asked.
    let again = browser
        .authorize("crm", &[("acr_values", "2"), ("prompt", "none")])
        .await;
    assert!(
        again.redirect_params().contains_key("code"),
        "{:?}",
        again.location
    );
}
