//! Pages that are not a sign-in: an unknown application, maintenance, and the page
//! bugs this suite found.

use super::*;

in_both_languages!(unknown_application_and_maintenance,);

/// An application that is not registered, or a redirect URI that the application did
/// not register, gets an error page (no redirect anywhere);
/// during maintenance the sign-in is a maintenance page.
async fn unknown_application_and_maintenance(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    site.register("crm", "CRM", |_| {}).await;
    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    browser.goto(&site.authorize("nobody", &[])).await;
    browser.page(&text(lang, "web.error_title"), lang).await;
    assert!(browser.url().await.as_str().starts_with(&site.base()));
    assert!(!browser.error().await.is_empty(), "the page says why");
    browser.screenshot("unknown-client").await;
    // A registered application, an address it did not register: a page, no redirect.
    browser
        .goto(&site.authorize_to("crm", "https://elsewhere.example/callback", &[]))
        .await;
    browser.page(&text(lang, "web.error_title"), lang).await;
    assert!(browser.url().await.as_str().starts_with(&site.base()));
    browser.screenshot("unregistered-redirect").await;

    admin::maintenance(
        &site.srv.state,
        Some(Maintenance {
            message: "Upgrade".into(),
            until: Some("2030-01-01T08:00:00+08:00".into()),
        }),
    )
    .await
    .unwrap();
    site.srv.let_settings_expire();
    browser.goto(&site.authorize("crm", &[])).await;
    // Not `page`: its lead shows `{name}` (see `known_page_bugs`).
    browser
        .heading(&text(lang, "maintenance.title"), lang)
        .await;
    let notice = browser.text(".notice").await;
    assert!(notice.contains("2030-01-01"), "{notice}");
    browser.screenshot("maintenance").await;
    browser.quit().await;
}

/// Page bugs this suite found in the provider's pages (`src/http/oidc/pages.rs`), kept
/// as regression tests now that they are fixed.
mod known_page_bugs {
    use super::*;

    /// The language switch of a page shown by `authorize` (the error page of an
    /// unknown application, the maintenance page) links to the same authorize URL with
    /// `&lang=…`, but `authorize` reads no `lang` parameter: the page comes back in the
    /// same language.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_language_switch_of_an_authorize_error_page() {
        let lang = Lang::En;
        let Some(site) = site::known_browsers(Backend::Sqlite).await else {
            return;
        };
        let Some(browser) = Browser::launch(lang).await else {
            return;
        };
        browser.goto(&site.authorize("nobody", &[])).await;
        browser.page(&text(lang, "web.error_title"), lang).await;
        browser
            .follow(&format!("nav a[hreflang=\"{}\"]", lang.other().tag()))
            .await;
        browser
            .page(&text(lang.other(), "web.error_title"), lang.other())
            .await;
        browser.quit().await;
    }

    /// The language switch of the "Signed out" page links to `/oidc/logout?lang=…`,
    /// which is the "Sign out?" question again (in the other language), not the page
    /// the person was on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_language_switch_of_the_signed_out_page() {
        let lang = Lang::En;
        let Some(site) = site::known_browsers(Backend::Sqlite).await else {
            return;
        };
        let Some(browser) = Browser::launch(lang).await else {
            return;
        };
        browser.goto(&format!("{}/oidc/logout", site.base())).await;
        browser.submit().await;
        browser
            .page(&text(lang, "web.signed_out_title"), lang)
            .await;
        browser
            .follow(&format!("nav a[hreflang=\"{}\"]", lang.other().tag()))
            .await;
        browser
            .page(&text(lang.other(), "web.signed_out_title"), lang.other())
            .await;
        browser.quit().await;
    }

    /// The maintenance page's lead is `maintenance.lead` unfilled: "{name} is being
    /// maintained and cannot be used right now." (the app fills `{name}` with the
    /// server's name or `maintenance.the_server`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_maintenance_page_fills_its_placeholders() {
        let lang = Lang::ZhCn;
        let Some(site) = site::known_browsers(Backend::Sqlite).await else {
            return;
        };
        site.register("crm", "CRM", |_| {}).await;
        admin::maintenance(
            &site.srv.state,
            Some(Maintenance {
                message: "Upgrade".into(),
                until: None,
            }),
        )
        .await
        .unwrap();
        site.srv.let_settings_expire();
        let Some(browser) = Browser::launch(lang).await else {
            return;
        };
        browser.goto(&site.authorize("crm", &[])).await;
        browser.page(&text(lang, "maintenance.title"), lang).await;
        browser.quit().await;
    }
}
