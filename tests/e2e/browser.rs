//! The browser side of the desktop app's journeys (issue 16): a real browser (headless
//! chromium over chromedriver, [`latchkey_testkit::chromium`]) on the example office
//! application (`examples/office-app`, an OpenID Connect relying party on loopback),
//! registered with the test server as IT registers it (`client add … --launch-url …
//! --icon …`). The browser asks the desktop app for a sign-in, the window answers, and
//! the browser is followed to wherever it lands.

use latchkey_server::oidc::clients::{self, NewClient};
use latchkey_testkit::chromium::{Browser, Lang};
use latchkey_testkit::TestServer;

/// The example office application, running on 127.0.0.1 and registered as `id`.
pub struct Office {
    /// Its home page (`http://127.0.0.1:<port>/`); `{home}login` starts its sign-in.
    pub home: String,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for Office {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

impl Office {
    /// Registers the application `id` named `name` (with `icon`, an SVG, if given) and
    /// starts it, as `scripts/run.sh` does for the demo.
    pub async fn start(server: &TestServer, id: &str, name: &str, icon: Option<&str>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the office app");
        let home = format!("http://{}/", listener.local_addr().expect("its address"));
        let callback = format!("{home}callback");
        let new = NewClient {
            id: id.into(),
            name: name.into(),
            redirect_uris: vec![callback.clone(), home.clone()],
            first_party: true,
            launch_url: Some(format!("{home}login")),
            icon: icon.map(|svg| clients::icon_data_url(svg.as_bytes()).expect("an icon")),
            ..NewClient::default()
        };
        let secret = clients::add(&server.state.db, &new, server.state.now())
            .await
            .expect("the application is registered")
            .map(|secret| secret.expose().to_owned());
        let settings = office_app::Settings {
            issuer: server.base(),
            client_id: id.into(),
            client_secret: secret,
            redirect_uri: callback,
            post_logout_redirect_uri: home.clone(),
        };
        let app = office_app::App::start(&settings)
            .await
            .unwrap_or_else(|e| panic!("the office app could not start: {e}"));
        let serving = tokio::spawn(async move {
            let _ = axum::serve(listener, office_app::router(app)).await;
        });
        Self { home, serving }
    }
}

/// A browser (English) on the office app's sign-in; `None` when this machine has none
/// and the run does not require one.
pub async fn browser() -> Option<Browser> {
    Browser::launch(Lang::En).await
}

/// "Sign in with Latchkey" in the office app, then "Continue with the Latchkey app" on
/// the provider's sign-in page, nothing typed: the waiting page's `latchkey://approve`
/// link (what the page opens on this computer) and the number it shows.
pub async fn ask_the_app(browser: &Browser, office: &Office) -> (String, u8) {
    browser.goto(&office.home).await;
    browser.follow("a[href=\"/login\"]").await;
    browser.find("input[autocomplete~=\"username\"]").await;
    browser.follow("button[value=app]").await;
    // The waiting page reloads itself every 2 s: read it in one script, not element by
    // element (an element found may be gone by the time it is read).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let got = browser
            .client
            .execute(
                "const n = document.querySelector('.number'); \
                 const a = document.querySelector('a[href^=\"latchkey://approve\"]'); \
                 return n && a ? [n.textContent, a.getAttribute('href')] : null;",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| serde_json::from_value::<(String, String)>(v).ok());
        if let Some((number, link)) = got {
            let number = number.trim().parse().expect("the number to pick");
            return (link, number);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no waiting page; {}",
            browser.whereabouts("waiting").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits until the browser is back at the office app, signed in; the name it greets.
pub async fn signed_in_at(browser: &Browser, office: &Office) -> String {
    browser.wait_url(&office.home).await;
    browser.text("#who").await
}

/// Waits until the waiting page says `what` (its reload after the window answered).
pub async fn told(browser: &Browser, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let body = browser
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if body.contains(what) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the browser does not say {what:?}; {}",
            browser.whereabouts("told").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
