//! The journeys, each once with a browser set to English and once with one set to
//! Simplified Chinese, on SQLite; the first one also on PostgreSQL.
//!
//! The journeys are in one file per area (signing in, the password's own pages, the
//! pages of refusals and maintenance); this module holds what they share.

use latchkey_proto::Maintenance;
use latchkey_server::admin::{self, AddUser};
use latchkey_testkit::Backend;
use serde_json::json;

use super::site::{self, text, Site, PASSWORD};
use latchkey_testkit::chromium::{Browser, Lang};

/// Runs each `async fn name(Backend, Lang)` on SQLite in both languages, as
/// `name::en` and `name::zh_cn`.
macro_rules! in_both_languages {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn en() {
                super::$name(latchkey_testkit::Backend::Sqlite, super::Lang::En).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn zh_cn() {
                super::$name(latchkey_testkit::Backend::Sqlite, super::Lang::ZhCn).await
            }
        }
    )* };
}

// After the macro: the journeys' files use it.
mod pages;
mod password;
mod sign_in;

const EMAIL: &str = "mei@corp.example";

/// A page's words with `{app}` filled.
fn with_app(lang: Lang, key: &str, app: &str) -> String {
    text(lang, key).replace("{app}", app)
}

/// The sign-in page for `client_id`, in `lang`, naming the application `app`.
async fn sign_in_page(browser: &Browser, site: &Site, client_id: &str, app: &str) {
    browser.goto(&site.authorize(client_id, &[])).await;
    browser
        .page(&text(browser.lang, "signin.title"), browser.lang)
        .await;
    assert_eq!(
        browser.text(".subtitle").await,
        with_app(browser.lang, "web.continue_to", app),
        "the page names the application"
    );
}

/// Waits for the alert region to say something `ok` accepts.
async fn wait_error(browser: &Browser, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let e = browser.error().await;
        if ok(&e) {
            return e;
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "the error says {e:?}; {}",
                browser.whereabouts("error").await
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
