//! Signing in: the password with single sign-on and sign-out (also on PostgreSQL), the
//! second factor, the mailed device code of a new browser, and the desktop app's
//! approval.

use super::*;

in_both_languages!(
    password_then_single_sign_on_then_sign_out,
    second_factor_with_totp,
    new_browser_with_the_mailed_device_code,
    approved_in_the_desktop_app,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_then_single_sign_on_then_sign_out_on_postgres() {
    password_then_single_sign_on_then_sign_out(Backend::Postgres, Lang::En).await;
}

/// Password sign-in (one wrong password first, keyboard only) → the application's
/// callback with a code → single sign-on into a second application, no page at all →
/// sign out (confirmed) → `prompt=none` is answered `login_required`. The language
/// switch is used on the way.
async fn password_then_single_sign_on_then_sign_out(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    site.srv.add_user(EMAIL, PASSWORD).await;
    let crm = site.register("crm", "CRM", |_| {}).await;
    let mail = site.register("mail", "Mail", |_| {}).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };

    sign_in_page(&browser, &site, "crm", "CRM").await;
    browser.screenshot("sign-in").await;
    // The switch to the other language and back.
    browser
        .follow(&format!("nav a[hreflang=\"{}\"]", lang.other().tag()))
        .await;
    browser
        .page(&text(lang.other(), "signin.title"), lang.other())
        .await;
    assert_eq!(
        browser
            .field("username", 0)
            .await
            .attr("autocomplete")
            .await
            .unwrap()
            .as_deref(),
        Some("username")
    );
    browser
        .follow(&format!("nav a[hreflang=\"{}\"]", lang.tag()))
        .await;
    browser.page(&text(lang, "signin.title"), lang).await;
    // The narrowest phones: nothing is cut off sideways.
    browser.client.set_window_size(360, 740).await.unwrap();
    assert!(!browser.scrolls_sideways().await, "the page fits 360 px");
    browser.screenshot_at("sign-in-360px", 360).await;

    // With the keyboard only: the identifier has the focus, Tab goes to the password,
    // Enter sends. A wrong password: said so, the identifier kept, the focus on the
    // password.
    assert_eq!(browser.focused_token().await.as_deref(), Some("username"));
    browser.keys(&format!("{EMAIL}\u{E004}")).await;
    assert_eq!(
        browser.focused_token().await.as_deref(),
        Some("current-password")
    );
    browser.type_here_and_enter("Wrong-password-1").await;
    let wrong = text(lang, "errors.invalid_credentials");
    wait_error(&browser, |e| e == wrong).await;
    let kept = browser
        .field("username", 0)
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(EMAIL), "the identifier is kept");
    assert_eq!(
        browser.focused_token().await.as_deref(),
        Some("current-password"),
        "the password has the focus"
    );
    browser.screenshot("sign-in-wrong-password").await;
    // Typed where the focus is, then Enter.
    browser.type_here_and_enter(PASSWORD).await;
    let landed = browser.wait_url(&site.callback).await;
    let claims = site.exchange(&landed, "crm", &crm).await;
    assert_eq!(claims["email"], EMAIL);
    assert_eq!(claims["amr"], json!(["pwd"]));
    let sub = claims["sub"].clone();

    // Single sign-on: the second application gets its code with no page shown.
    browser.goto(&site.authorize("mail", &[])).await;
    let landed = browser.wait_url(&site.callback).await;
    let claims = site.exchange(&landed, "mail", &mail).await;
    assert_eq!(claims["sub"], sub, "the same person");

    // Sign out of everything, after a confirmation.
    browser.goto(&format!("{}/oidc/logout", site.base())).await;
    browser.page(&text(lang, "web.logout_title"), lang).await;
    browser.screenshot("logout-confirm").await;
    browser.submit().await;
    browser
        .page(&text(lang, "web.signed_out_title"), lang)
        .await;
    browser.screenshot("signed-out").await;
    browser
        .goto(&site.authorize("mail", &[("prompt", "none")]))
        .await;
    let landed = browser.wait_url(&site.callback).await;
    let error = landed
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    assert_eq!(error.as_deref(), Some("login_required"), "{landed}");
    browser.quit().await;
}

/// Password, then the authenticator's code (typed, Enter): the ID token says both.
async fn second_factor_with_totp(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    let key = site.totp_user(EMAIL).await;
    let crm = site.register("crm", "CRM", |c| c.require_2fa = true).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "crm", "CRM").await;
    browser.type_in("username", EMAIL).await;
    browser.type_and_enter("current-password", PASSWORD).await;
    browser.page(&text(lang, "mfa.title"), lang).await;
    browser.screenshot("second-factor").await;
    browser
        .type_and_enter("one-time-code", &site.totp(&key))
        .await;
    let landed = browser.wait_url(&site.callback).await;
    let claims = site.exchange(&landed, "crm", &crm).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    browser.quit().await;
}

/// A browser the server has never seen: the code e-mailed to the account (read from
/// the SMTP sink) is asked after the password.
async fn new_browser_with_the_mailed_device_code(b: Backend, lang: Lang) {
    let Some(site) = site::deployed(b, |_| {}).await else {
        return;
    };
    site.srv.add_user(EMAIL, PASSWORD).await;
    let crm = site.register("crm", "CRM", |_| {}).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "crm", "CRM").await;
    let before = site.srv.smtp.messages().len();
    browser.type_in("username", EMAIL).await;
    browser.type_in("current-password", PASSWORD).await;
    browser.submit().await;
    browser.page(&text(lang, "device.title"), lang).await;
    let notice = browser.text(".notice").await;
    assert!(
        notice.contains("corp.example"),
        "where the code went: {notice}"
    );
    browser.screenshot("device-code").await;
    let code = site.srv.smtp.code_after(before).await;
    browser.type_and_enter("one-time-code", &code).await;
    let landed = browser.wait_url(&site.callback).await;
    site.exchange(&landed, "crm", &crm).await;
    browser.quit().await;
}

/// "Continue with the Latchkey app": the page shows a number and waits (it reloads
/// itself); the desktop app, signed in as the typed account, picks that number
/// (`POST /v1/approvals/{id}`, as the app does), and the browser lands in the
/// application without a password typed.
async fn approved_in_the_desktop_app(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    site.srv.add_user(EMAIL, PASSWORD).await;
    let crm = site.register("crm", "CRM", |_| {}).await;
    let desktop = site.srv.login(EMAIL, PASSWORD).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "crm", "CRM").await;
    browser.type_in("username", EMAIL).await;
    browser.follow("button[value=app]").await;
    browser.page(&text(lang, "web.approval_title"), lang).await;
    let number: u8 = browser
        .text(".number")
        .await
        .trim()
        .parse()
        .expect("the number to pick");
    let open = browser
        .find("a[href^=\"latchkey://approve\"]")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("the link that opens the app");
    let id = url::Url::parse(&open)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
        .expect("the approval's id");
    browser.screenshot("approval").await;
    let (status, body) = site
        .srv
        .call(
            reqwest::Method::POST,
            &format!("/v1/approvals/{id}"),
            Some(desktop.access_token.expose()),
            Some(json!({"allow": true, "number": number})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    // The waiting page reloads by itself and goes on to the application.
    let landed = browser.wait_url(&site.callback).await;
    let claims = site.exchange(&landed, "crm", &crm).await;
    assert_eq!(claims["email"], EMAIL);
    browser.quit().await;
}
