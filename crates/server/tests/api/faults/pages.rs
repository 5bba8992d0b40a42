//! The browser pages of the OpenID Connect provider while PostgreSQL is down: a page
//! that says the server is unavailable for now, `503` with `Retry-After` (what the
//! API answers as `server_unavailable`), in the page's language — not `500` and "an
//! unexpected problem" — and the same pages work again once the database is back.

use std::time::{Duration, Instant};

use latchkey_testkit::postgres::PrivatePostgres;
use latchkey_testkit::TestServer;

use crate::api::oidc::{register, Browser};

const UNAVAILABLE_EN: &str = "The server is temporarily unavailable.";
const UNAVAILABLE_ZH: &str = "服务器暂时不可用。";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_pages_say_unavailable_while_postgres_is_down() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .expect("start postgres")
    else {
        return;
    };
    let srv = TestServer::bare_over(&pg.url(), |c| {
        c.delivery.secret_key = Some(latchkey_testkit::SECRET_KEY.into());
    })
    .await;
    register(&srv, "crm", |_| {}).await;
    let mut browser = Browser::new(&srv);
    let page = browser.authorize("crm", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.field_with("username").is_some(), "{}", page.body);
    let signin = page.action();
    let authorize = format!(
        "{}/oidc/authorize?client_id=crm&redirect_uri={}&response_type=code&scope=openid\
         &code_challenge={}&code_challenge_method=S256",
        srv.base(),
        crate::api::oidc::REDIRECT,
        crate::api::oidc::challenge(crate::api::oidc::VERIFIER),
    );

    let mut pg = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        pg.stop();
        pg
    })
    .await
    .expect("stop postgres");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let get = |url: String, lang: &'static str| {
        let http = http.clone();
        async move {
            let r = http
                .get(&url)
                .header("accept-language", lang)
                .send()
                .await
                .expect("an answer");
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (url, lang, status, retry, r.text().await.expect("body"))
        }
    };
    // The three at once: each waits for the pool's connection timeout.
    let answers = [
        get(authorize.clone(), "en"),
        get(authorize.clone(), "zh-CN"),
        get(format!("{}{signin}", srv.base()), "en"),
    ];
    let answers = futures_util::future::join_all(answers).await;
    for (url, lang, status, retry, body) in answers {
        assert_eq!(status, 503, "{url} ({lang}): {body}");
        assert!(
            retry
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)),
            "{url}: Retry-After {retry:?}"
        );
        let (expected, not) = match lang {
            "en" => (UNAVAILABLE_EN, "unexpected problem"),
            _ => (UNAVAILABLE_ZH, "意外问题"),
        };
        assert!(body.contains(expected), "{url} ({lang}): {body}");
        assert!(!body.contains(not), "{url} ({lang}): {body}");
    }

    pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .expect("start postgres again");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let again = browser.authorize("crm", &[]).await;
        if again.status == 200 && again.field_with("username").is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pages did not come back: {} {}",
            again.status,
            again.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(srv);
    drop(pg);
}
