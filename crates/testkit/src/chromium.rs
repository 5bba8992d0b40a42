//! A real browser: Debian's `chromium`, headless, driven over WebDriver through
//! `chromedriver` (Debian's `chromium-driver`), which the test starts on a free port
//! and stops at the end with everything it started.
//!
//! Each browser has a fresh profile (a temporary `--user-data-dir`: no cookies, no
//! device known to the server) and a language (`--lang` and the `intl.accept_languages`
//! preference, so that its `Accept-Language` is that language's). Fields are found as
//! a password manager finds them, by their `autocomplete` token.
//!
//! Without `chromium` or `chromedriver` a test is skipped with a note, unless
//! `LATCHKEY_TEST_REQUIRE_BROWSER=1` (set by `scripts/test.sh`), which makes it fail.
//! `LATCHKEY_CHROMIUM` and `LATCHKEY_CHROMEDRIVER` name other binaries.
//!
//! Used by the provider's sign-in pages suite (`crates/server/tests/browser.rs`) and by
//! the desktop app's end-to-end journeys, where the window approves what this browser
//! asks (`tests/e2e.rs`). Behind the `chromium` feature.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most two browsers at once: each is several processes, and two cores are what a
/// CI machine commonly has.
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// How long a page may take to show.
const PAGE_WAIT: Duration = Duration::from_secs(20);

/// Width of the window the screenshots are taken in.
const WIDTH: u32 = 900;

/// A language of the pages, as the browser is set to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// The tag the pages use (`<html lang>`, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        }
    }

    /// The browser's language list (its `Accept-Language`).
    fn accept(self) -> &'static str {
        match self {
            Lang::En => "en-GB,en",
            Lang::ZhCn => "zh-CN,zh",
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The browser binary: `LATCHKEY_CHROMIUM`, else Debian's real binary (behind the
/// `/usr/bin/chromium` wrapper script), else `chromium` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LATCHKEY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let debian = Path::new("/usr/lib/chromium/chromium");
    if debian.is_file() {
        return Some(debian.to_owned());
    }
    on_path("chromium")
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("LATCHKEY_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| on_path("chromedriver"))
}

/// Why no browser can run here, if none can.
fn missing() -> Option<String> {
    if chromium().is_none() {
        return Some("chromium not found (apt install chromium)".into());
    }
    if chromedriver().is_none() {
        return Some("chromedriver not found (apt install chromium-driver)".into());
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Kills chromedriver's process group: chromedriver and the browser it started.
fn stop(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

/// The workspace's folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// Where screenshots go: `docs/screenshots/oidc/` with `LATCHKEY_SCREENSHOTS=1` (to
/// refresh the committed ones), else `target/browser-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    if std::env::var("LATCHKEY_SCREENSHOTS").is_ok_and(|v| v == "1") {
        workspace().join("docs/screenshots/oidc")
    } else {
        target_dir().join("browser-screenshots")
    }
}

pub struct Browser {
    pub client: Client,
    pub lang: Lang,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: SemaphorePermit<'static>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        stop(&mut self.driver);
    }
}

impl Browser {
    /// A fresh headless browser speaking `lang`; `None` when this machine has none (and
    /// the run does not require one).
    pub async fn launch(lang: Lang) -> Option<Self> {
        if let Some(why) = missing() {
            assert!(
                std::env::var_os("LATCHKEY_TEST_REQUIRE_BROWSER").is_none(),
                "LATCHKEY_TEST_REQUIRE_BROWSER is set but no browser can run: {why}"
            );
            eprintln!("skipping a browser test: {why}");
            return None;
        }
        let turn = BROWSERS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let mut last = None;
        for attempt in 1..=2 {
            let profile = tempfile::tempdir().expect("a profile folder");
            match Self::start(lang, profile.path()).await {
                Ok((client, driver)) => {
                    return Some(Self {
                        client,
                        lang,
                        driver,
                        _profile: profile,
                        _turn: turn,
                    })
                }
                Err(e) => {
                    eprintln!("chromedriver session, attempt {attempt}: {e}");
                    last = Some(e);
                }
            }
        }
        panic!("no WebDriver session with chromium: {last:?}");
    }

    async fn start(lang: Lang, profile: &Path) -> Result<(Client, Child), String> {
        let port = free_port();
        let mut driver = Command::new(chromedriver().expect("chromedriver"))
            .process_group(0)
            .arg(format!("--port={port}"))
            // The browser's crash reports and caches stay in the profile folder.
            .env("HOME", profile)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start chromedriver: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                stop(&mut driver);
                return Err("chromedriver did not listen".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium().expect("chromium"),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-crash-reporter",
                    "--no-first-run",
                    "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.join("chromium").display()),
                    format!("--lang={}", lang.tag()),
                    format!("--window-size={WIDTH},800"),
                ],
                "prefs": { "intl.accept_languages": lang.accept() },
            }),
        );
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => Ok((client, driver)),
            Err(e) => {
                stop(&mut driver);
                Err(format!("{e:?}"))
            }
        }
    }

    /// Ends the session (the browser quits), then stops chromedriver.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// Waits until the browser is at a URL that starts with `prefix`; returns it.
    pub async fn wait_url(&self, prefix: &str) -> url::Url {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let url = self.url().await;
            if url.as_str().starts_with(prefix) {
                return url;
            }
            if Instant::now() > deadline {
                panic!("not at {prefix}; {}", self.whereabouts("url").await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first element matching `css`, waiting for it.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no {css} ({e}); {}", self.whereabouts("find").await),
        }
    }

    /// The input a password manager would fill for `token` (`username`,
    /// `current-password`, `one-time-code`, `new-password`): the `nth` of them.
    pub async fn field(&self, token: &str, nth: usize) -> Element {
        let css = format!("input[autocomplete~=\"{token}\"]");
        self.find(&css).await;
        let all = self
            .client
            .find_all(Locator::Css(&css))
            .await
            .expect("the fields");
        all.into_iter()
            .nth(nth)
            .unwrap_or_else(|| panic!("no field #{nth} for {token}"))
    }

    /// Types `text` into the field for `token` (cleared first).
    pub async fn type_in(&self, token: &str, text: &str) {
        self.type_nth(token, 0, text).await;
    }

    pub async fn type_nth(&self, token: &str, nth: usize, text: &str) {
        let el = self.field(token, nth).await;
        el.clear().await.expect("clear a field");
        el.send_keys(text).await.expect("type into a field");
    }

    /// Types `text` into the field for `token` and presses Enter: the form is sent as
    /// with a keyboard only.
    pub async fn type_and_enter(&self, token: &str, text: &str) {
        let el = self.field(token, 0).await;
        el.clear().await.expect("clear a field");
        let keys = format!("{text}{}", char::from(Key::Enter));
        self.mark().await;
        el.send_keys(&keys).await.expect("type and press Enter");
        self.wait_new_page().await;
    }

    /// Types `text` (WebDriver key codes included) where the focus is.
    pub async fn keys(&self, text: &str) {
        let el = self.client.active_element().await.expect("the focus");
        el.send_keys(text).await.expect("type where the focus is");
    }

    /// The `autocomplete` token of the field that has the focus.
    pub async fn focused_token(&self) -> Option<String> {
        let el = self.client.active_element().await.ok()?;
        el.attr("autocomplete").await.ok().flatten()
    }

    /// Presses Enter where the focus is, after typing `text` there.
    pub async fn type_here_and_enter(&self, text: &str) -> Element {
        let el = self.client.active_element().await.expect("the focus");
        let keys = format!("{text}{}", char::from(Key::Enter));
        self.mark().await;
        el.send_keys(&keys).await.expect("type and press Enter");
        self.wait_new_page().await;
        el
    }

    /// Clicks the form's main button and waits for the answer.
    pub async fn submit(&self) {
        self.follow("form button[type=submit]:not(.secondary)")
            .await;
    }

    /// Clicks what `css` finds (a button or a link) and waits for the next page.
    pub async fn follow(&self, css: &str) {
        self.mark().await;
        self.click(css).await;
        self.wait_new_page().await;
    }

    /// Marks the page shown, so that the next one can be told from it.
    pub async fn mark(&self) {
        self.client
            .execute("document.documentElement.dataset.seen = '1';", vec![])
            .await
            .expect("mark the page");
    }

    /// Waits until the marked page is replaced by the next one.
    pub async fn wait_new_page(&self) {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let fresh = self
                .client
                .execute(
                    "return document.readyState === 'complete' \
                     && !document.documentElement.dataset.seen;",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if fresh {
                return;
            }
            if Instant::now() > deadline {
                panic!("no new page; {}", self.whereabouts("navigation").await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .expect("an element's text")
    }

    pub async fn html_lang(&self) -> String {
        self.find("html")
            .await
            .attr("lang")
            .await
            .expect("<html lang>")
            .unwrap_or_default()
    }

    pub async fn error(&self) -> String {
        match self.client.find(Locator::Css("#error")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits for a page whose heading is `title`, in `lang`, and checks that its words
    /// have every placeholder filled.
    pub async fn page(&self, title: &str, lang: Lang) {
        self.heading(title, lang).await;
        self.no_placeholder().await;
    }

    /// Waits for a page whose heading is `title`, in `lang` (its words not checked).
    pub async fn heading(&self, title: &str, lang: Lang) {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let h1 = match self.client.find(Locator::Css("h1")).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if h1 == title {
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected the page {title:?}, got {h1:?}; {}",
                    self.whereabouts("page").await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(self.html_lang().await, lang.tag(), "the page's language");
    }

    /// Checks that the page shows no catalog placeholder unfilled (`{name}`).
    pub async fn no_placeholder(&self) {
        let body = self.text("body").await;
        if let Some(hole) = placeholder(&body) {
            panic!(
                "the page shows the placeholder {hole} unfilled; {}",
                self.whereabouts("placeholder").await
            );
        }
    }

    /// Whether the page is wider than the window (something cut off sideways).
    pub async fn scrolls_sideways(&self) -> bool {
        let v = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth;",
                vec![],
            )
            .await
            .expect("measure the page");
        v.as_bool().unwrap_or(false)
    }

    /// Saves a PNG of the whole page as `{name}-{lang}.png` in [`screenshot_dir`]: the
    /// window is first made as tall as the page.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.screenshot_at(name, WIDTH).await
    }

    /// [`Browser::screenshot`] in a window `width` wide; the window is then as before.
    pub async fn screenshot_at(&self, name: &str, width: u32) -> PathBuf {
        let tall = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(800);
        let height = u32::try_from(tall).unwrap_or(800).clamp(600, 2000);
        let _ = self.client.set_window_size(width, height).await;
        // The window may come out a little shorter than asked (its frame): once more
        // with what was missing.
        if let Ok(inner) = self
            .client
            .execute("return window.innerHeight;", vec![])
            .await
        {
            let inner = inner.as_u64().and_then(|v| u32::try_from(v).ok());
            if let Some(inner) = inner.filter(|i| *i < height) {
                let _ = self.client.set_window_size(width, 2 * height - inner).await;
            }
        }
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        let path = dir.join(format!("{name}-{}.png", self.lang.tag()));
        std::fs::write(&path, png).expect("save a screenshot");
        let _ = self.client.set_window_size(WIDTH, 800).await;
        path
    }

    /// Where the browser is, for a failure message: its URL, heading and error, and a
    /// screenshot (`failed-*.png` in `target/browser-screenshots/`).
    pub async fn whereabouts(&self, what: &str) -> String {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let h1 = match self.client.find(Locator::Css("h1")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let error = self.error().await;
        let dir = target_dir().join("browser-screenshots");
        let shot = dir.join(format!("failed-{what}-{}.png", self.lang.tag()));
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&shot, png);
        }
        format!(
            "at {url}, heading {h1:?}, error {error:?}, see {}",
            shot.display()
        )
    }
}

/// A catalog placeholder (`{name}`, `{time}`, …) left in a page's text.
fn placeholder(text: &str) -> Option<&str> {
    text.match_indices('{').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find('}')?;
        let name = &rest[..end];
        let looks = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit());
        looks.then(|| &text[at..at + end + 2])
    })
}

#[cfg(test)]
#[test]
fn placeholders_are_seen() {
    assert_eq!(placeholder("{name} is away"), Some("{name}"));
    assert_eq!(placeholder("a { b } {x_1}"), Some("{x_1}"));
    assert_eq!(placeholder("none {} here {A}"), None);
}
