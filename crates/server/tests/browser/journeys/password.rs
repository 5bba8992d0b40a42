//! The password's own pages: forgotten (the mailed reset code), temporary (the forced
//! change, then consent), and locked after five wrong ones, with the page that reloads
//! itself when the lock is over.

use super::*;

in_both_languages!(
    forgot_password_with_the_mailed_code,
    forced_change_then_consent,
    five_wrong_passwords_lock,
);

/// Forgot password, from the sign-in page: the identifier, the code e-mailed to the
/// account, a new password, then the sign-in with it.
async fn forgot_password_with_the_mailed_code(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    site.srv.add_user(EMAIL, PASSWORD).await;
    let crm = site.register("crm", "CRM", |_| {}).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "crm", "CRM").await;
    browser.follow("a[href$=\"?reset=1\"]").await;
    browser.page(&text(lang, "reset_start.title"), lang).await;
    browser.screenshot("forgot-password").await;
    let before = site.srv.smtp.messages().len();
    browser.type_and_enter("username", EMAIL).await;
    browser.page(&text(lang, "reset_code.title"), lang).await;
    browser.screenshot("reset-code").await;
    let code = site.srv.smtp.code_after(before).await;
    browser.type_and_enter("one-time-code", &code).await;
    browser.page(&text(lang, "reset.title"), lang).await;
    let new_password = "Quiet-orchard-7731";
    browser.type_nth("new-password", 0, "password1").await;
    browser.type_nth("new-password", 1, "password1").await;
    browser.submit().await;
    browser.page(&text(lang, "reset.title"), lang).await;
    assert!(
        !browser.error().await.is_empty(),
        "a weak password is refused"
    );
    browser.screenshot("reset-password-weak").await;
    browser.type_nth("new-password", 0, new_password).await;
    browser.type_nth("new-password", 1, new_password).await;
    browser.submit().await;
    browser.page(&text(lang, "signin.title"), lang).await;
    assert_eq!(browser.text(".notice").await, text(lang, "reset.done"));
    browser.screenshot("reset-done").await;
    browser.type_in("username", EMAIL).await;
    browser
        .type_and_enter("current-password", new_password)
        .await;
    let landed = browser.wait_url(&site.callback).await;
    site.exchange(&landed, "crm", &crm).await;
    browser.quit().await;
}

/// A temporary password set by IT: a new one is chosen in the browser; then a
/// third-party application asks what it may receive.
async fn forced_change_then_consent(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    site.srv
        .add(
            AddUser {
                email: Some(EMAIL.into()),
                name: Some("Mei Lin".into()),
                temporary: true,
                ..AddUser::default()
            },
            "Lantern-harbor-2026x",
        )
        .await;
    let survey = site
        .register("survey", "Survey", |c| c.first_party = false)
        .await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "survey", "Survey").await;
    browser.type_in("username", EMAIL).await;
    browser
        .type_and_enter("current-password", "Lantern-harbor-2026x")
        .await;
    browser.page(&text(lang, "forced.title"), lang).await;
    browser.screenshot("forced-change").await;
    let new_password = "Quiet-orchard-7731";
    browser.type_nth("new-password", 0, new_password).await;
    browser.type_nth("new-password", 1, new_password).await;
    browser.submit().await;
    browser
        .page(&with_app(lang, "web.consent_title", "Survey"), lang)
        .await;
    let items = browser.text(".items").await;
    assert!(!items.is_empty(), "what the application receives is listed");
    browser.screenshot("consent").await;
    browser.follow("button[value=allow]").await;
    let landed = browser.wait_url(&site.callback).await;
    let claims = site.exchange(&landed, "survey", &survey).await;
    assert_eq!(claims["email"], EMAIL);
    site.srv.login(EMAIL, new_password).await;
    browser.quit().await;
}

/// Five wrong passwords lock the account, as in the app; the page says for how long
/// and reloads itself when the wait is over.
async fn five_wrong_passwords_lock(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    site.srv.add_user(EMAIL, PASSWORD).await;
    site.register("crm", "CRM", |_| {}).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "crm", "CRM").await;
    browser.type_in("username", EMAIL).await;
    let wrong = text(lang, "errors.invalid_credentials");
    let locked = text(lang, "errors.account_locked");
    let locked_start = locked.split("{time}").next().unwrap().to_owned();
    for attempt in 1..=5 {
        browser
            .type_and_enter("current-password", &format!("Wrong-password-{attempt}"))
            .await;
        if attempt < 5 {
            wait_error(&browser, |e| e == wrong).await;
        }
    }
    let said = wait_error(&browser, |e| e.starts_with(&locked_start)).await;
    assert!(said.len() > locked_start.len(), "it says how long: {said}");
    let refresh = browser
        .find("meta[http-equiv=refresh]")
        .await
        .attr("content")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        refresh.parse::<u64>().is_ok_and(|s| s > 0),
        "the page reloads when the wait is over: {refresh:?}"
    );
    browser.screenshot("locked").await;
    let (status, body) = site.srv.login_raw(EMAIL, PASSWORD).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (423, Some("account_locked"))
    );
    browser.quit().await;
}

/// The locked page reloads itself when the lock is over (a countdown without script):
/// with a 3-second lock, the browser is back on the sign-in form by itself, and the
/// right password then goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_locked_page_reloads_when_the_lock_is_over() {
    let lang = Lang::ZhCn;
    let Some(site) = site::deployed(Backend::Sqlite, |c| {
        c.devices.verify_new = false;
        c.lockout.base_seconds = 3;
    })
    .await
    else {
        return;
    };
    site.srv.add_user(EMAIL, PASSWORD).await;
    let crm = site.register("crm", "CRM", |_| {}).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    sign_in_page(&browser, &site, "crm", "CRM").await;
    browser.type_in("username", EMAIL).await;
    for attempt in 1..=5 {
        browser
            .type_and_enter("current-password", &format!("Wrong-password-{attempt}"))
            .await;
    }
    let locked = text(lang, "errors.account_locked");
    let locked_start = locked.split("{time}").next().unwrap().to_owned();
    wait_error(&browser, |e| e.starts_with(&locked_start)).await;
    // Nothing is touched: the page reloads by itself.
    browser.mark().await;
    browser.wait_new_page().await;
    browser.page(&text(lang, "signin.title"), lang).await;
    assert_eq!(browser.error().await, "", "the lock is over");
    browser.type_in("username", EMAIL).await;
    browser.type_and_enter("current-password", PASSWORD).await;
    let landed = browser.wait_url(&site.callback).await;
    site.exchange(&landed, "crm", &crm).await;
    browser.quit().await;
}
