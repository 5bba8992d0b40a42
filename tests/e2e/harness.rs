//! The end-to-end harness: the real `latchkey` binary in a real window, driven through
//! `tauri-driver` (which starts WebKitWebDriver, which starts the app) over WebDriver.
//!
//! Needs a display (`xvfb-run` in CI), `tauri-driver` (PATH, `~/.cargo/bin`, or
//! `LATCHKEY_TAURI_DRIVER`) and `WebKitWebDriver` (Debian's webkit2gtk-driver). Without
//! them a test is skipped with a note, unless `LATCHKEY_TEST_REQUIRE_E2E=1` (set by
//! `scripts/test.sh`), which turns the skip into a failure.
//!
//! Apps run one at a time (a global lock): two web views on two cores would only make
//! both slow, and each gets its own home directory so no state leaks between tests.

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

pub struct App {
    pub client: Client,
    driver: Child,
    _turn: MutexGuard<'static, ()>,
}

/// The app's home directory (its config, data, cache and log live under it); kept
/// across launches to test what the app remembers.
pub struct Home(pub tempfile::TempDir);

impl Home {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("home dir"))
    }

    /// Makes the desktop's default browser for `http(s)`, as `xdg-open` finds it, a
    /// script that writes down each address it is given: the user's `mimeapps.list`
    /// names a desktop entry that runs it. Returns the file it writes to.
    pub fn default_browser_writes_down(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let home = self.0.path();
        let opened = home.join("opened.txt");
        let script = home.join("browser.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
        )
        .expect("the browser script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("make it runnable");
        let config = home.join(".config");
        let apps = home.join(".local/share/applications");
        std::fs::create_dir_all(&config).expect("a config folder");
        std::fs::create_dir_all(&apps).expect("an applications folder");
        std::fs::write(
            config.join("mimeapps.list"),
            "[Default Applications]\nx-scheme-handler/http=test-browser.desktop\n\
             x-scheme-handler/https=test-browser.desktop\n",
        )
        .expect("mimeapps.list");
        std::fs::write(
            apps.join("test-browser.desktop"),
            format!(
                "[Desktop Entry]\nType=Application\nName=Test browser\nExec={} %u\nNoDisplay=true\n",
                script.display()
            ),
        )
        .expect("the desktop entry");
        opened
    }
}

/// The first address the browser of [`Home::default_browser_writes_down`] was given,
/// waiting up to 20 s for one.
pub async fn opened_in_browser(opened: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(opened) {
            if let Some(line) = text.lines().next() {
                return line.to_owned();
            }
        }
        assert!(Instant::now() < deadline, "no browser was opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for App {
    /// Stops tauri-driver with everything it started (WebKitWebDriver and the app):
    /// they share its process group. Left over, they would keep the test's output
    /// pipes open and the run would never end.
    fn drop(&mut self) {
        stop_driver(&mut self.driver);
    }
}

/// Kills tauri-driver's process group (WebKitWebDriver and the app with it).
fn stop_driver(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

/// An element that was replaced after it was found.
/// Whether an operation on an element failed because a re-render replaced or was
/// still laying out the element: by its message, or by the WebDriver error kind (Debug
/// form), since WebKitWebDriver sometimes sends a kind with an empty message (CI:
/// "cannot click [data-testid=totp-disable]: webdriver returned error: ").
fn is_stale(error: &CmdError) -> bool {
    let text = error.to_string();
    let kind = format!("{error:?}");
    text.contains("was not found")
        || text.contains("stale element")
        || [
            "StaleElementReference",
            "NoSuchElement",
            "ElementNotInteractable",
            "ElementClickIntercepted",
        ]
        .iter()
        .any(|k| kind.contains(k))
}

fn tauri_driver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LATCHKEY_TAURI_DRIVER") {
        return Some(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tauri-driver"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/tauri-driver"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Why the end-to-end tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    if std::env::var_os("DISPLAY").is_none() {
        return Some("no DISPLAY (run under xvfb-run)".into());
    }
    if tauri_driver().is_none() {
        return Some("tauri-driver not found (cargo install tauri-driver --locked)".into());
    }
    let webkit = Command::new("WebKitWebDriver")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !webkit.is_ok_and(|s| s.success()) {
        return Some("WebKitWebDriver not found (apt install webkit2gtk-driver)".into());
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Where screenshots go: `LATCHKEY_SCREENSHOT_DIR` (the README's `docs/screenshots/`
/// when refreshing them), else `target/e2e-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("LATCHKEY_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots"))
}

impl App {
    /// Starts the app with `env` added to its environment; `None` when this machine
    /// cannot run it (and the run does not require it).
    pub async fn launch(home: &Home, env: &[(&str, &str)]) -> Option<Self> {
        Self::launch_with_args(home, env, &[]).await
    }

    /// Starts the app as [`Self::launch`] does, with `args` on its command line (a
    /// `latchkey://` link: how the desktop launches it from an e-mail on Linux).
    pub async fn launch_with_args(
        home: &Home,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Option<Self> {
        Self::launch_exe(home, Path::new(env!("CARGO_BIN_EXE_latchkey")), env, args).await
    }

    /// Starts the app at `exe` (a copy of the built app, which an update may replace).
    pub async fn launch_exe(
        home: &Home,
        exe: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Option<Self> {
        if let Some(why) = missing() {
            assert!(
                std::env::var_os("LATCHKEY_TEST_REQUIRE_E2E").is_none(),
                "LATCHKEY_TEST_REQUIRE_E2E is set but the end-to-end tests cannot run: {why}"
            );
            eprintln!("skipping an end-to-end test: {why}");
            return None;
        }
        let turn = ONE_AT_A_TIME.lock().await;
        // The WebDriver handshake (tauri-driver → WebKitWebDriver → the app) now and
        // then drops its connection before answering (CI: `IncompleteMessage` on a new
        // session, once in 8 launches, with the app's start unchanged): a fresh driver
        // is tried twice more before the test fails. What the app does is then tested
        // as always.
        let mut last = None;
        for attempt in 1..=3 {
            match Self::start_driver(home.0.path(), exe, env, args).await {
                Ok((client, driver)) => {
                    return Some(Self {
                        client,
                        driver,
                        _turn: turn,
                    })
                }
                Err(error) => {
                    eprintln!("WebDriver session, attempt {attempt}: {error}");
                    last = Some(error);
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
        panic!("a WebDriver session with the app: {last:?}");
    }

    /// tauri-driver on free ports, and a session with the app through it; on failure
    /// the driver (and what it started) is stopped.
    async fn start_driver(
        home: &Path,
        exe: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<(Client, Child), String> {
        let (port, native) = (free_port(), free_port());
        let mut cmd = Command::new(tauri_driver().expect("tauri-driver"));
        cmd.process_group(0)
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native.to_string())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env_remove("LATCHKEY_SERVER")
            // Software rendering: no GPU under Xvfb.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut driver = cmd.spawn().expect("start tauri-driver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({"application": exe, "args": args}),
        );
        caps.insert("browserName".into(), json!("wry"));
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
        {
            Ok(client) => Ok((client, driver)),
            Err(error) => {
                stop_driver(&mut driver);
                Err(format!("{error:?}"))
            }
        }
    }

    /// The text of the first element matching `css`, waiting up to 20 s for it.
    pub async fn text(&self, css: &str) -> String {
        self.fresh(&format!("read the text of {css}"), || async {
            self.find(css).await.text().await
        })
        .await
    }

    /// The texts of all elements matching `css`, once the first one is there.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        self.fresh(&format!("read the texts of {css}"), || async {
            self.find(css).await;
            let mut texts = Vec::new();
            for el in self.client.find_all(Locator::Css(css)).await? {
                texts.push(el.text().await?);
            }
            Ok(texts)
        })
        .await
    }

    /// Runs `op`, which finds its element afresh, again when a re-render replaced the
    /// element between finding and using it (the account page when its details arrive;
    /// WebKitWebDriver: "Node … was not found"), up to 5 times. Such an operation did
    /// not happen, so doing it again is safe.
    async fn fresh<T, F: Future<Output = Result<T, CmdError>>>(
        &self,
        what: &str,
        mut op: impl FnMut() -> F,
    ) -> T {
        let mut attempts = 0;
        loop {
            match op().await {
                Ok(value) => return value,
                Err(e) if attempts < 5 && is_stale(&e) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot {what}: {e} ({e:?})"),
            }
        }
    }

    /// The first element matching `css`, waiting up to 20 s for it.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no element {css} ({e}); {}", self.whereabouts().await),
        }
    }

    /// Waits until the first element matching `css` has text satisfying `pred`.
    pub async fn wait_text(&self, css: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.text(css).await;
            if pred(&t) {
                return t;
            }
            assert!(Instant::now() < deadline, "{css} still says {t:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `seconds` until the element matching `css` is gone or hidden.
    pub async fn wait_hidden(&self, css: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let shown = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.is_displayed().await.unwrap_or(false),
                Err(_) => false,
            };
            if !shown {
                return;
            }
            if Instant::now() >= deadline {
                panic!("{css} still shown; {}", self.whereabouts().await);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Saves a PNG of the screen as `{name}.png` in [`screenshot_dir`], taken from the
    /// X display (ImageMagick's `import`): WebKitWebDriver's own screenshot command
    /// hung under Xvfb here.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        // Only the app's window: its place on the X screen, from WebDriver.
        let crop = match self.client.get_window_rect().await {
            Ok((x, y, w, h)) if w > 0 && h > 0 => vec![
                "-crop".to_owned(),
                format!("{w}x{h}+{x}+{y}"),
                "+repage".to_owned(),
            ],
            _ => vec![],
        };
        let status = tokio::process::Command::new("import")
            .args(["-window", "root"])
            .args(&crop)
            .arg(&path)
            .status()
            .await
            .expect("run import (imagemagick)");
        assert!(status.success(), "import failed for {name}");
        let png = std::fs::read(&path).expect("read screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        path
    }

    /// Waits for the screen named `name` (`data-screen`) and returns it.
    pub async fn screen(&self, name: &str) -> Element {
        let css = format!("[data-screen=\"{name}\"]");
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(&css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!(
                "screen {name} did not show ({e}); {}",
                self.whereabouts().await
            ),
        }
    }

    /// Where the app is, for a failure message: the current screen and error, with a
    /// screenshot of it (`failed-*.png`).
    pub async fn whereabouts(&self) -> String {
        let now = self.client.find(Locator::Css("[data-screen]")).await.ok();
        let on = match now {
            Some(el) => el.attr("data-screen").await.ok().flatten(),
            None => None,
        };
        let err = self.text_of("[data-testid=error]").await;
        let shot = format!("failed-{}", on.as_deref().unwrap_or("unknown"));
        let path = self.screenshot(&shot).await;
        format!("on {on:?}, error {err:?}, see {}", path.display())
    }

    /// The text of `css` now, if it exists.
    pub async fn text_of(&self, css: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.text().await.ok()
    }

    /// Types `text` into the first element matching `css` (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        self.fresh(&format!("type into {css}"), || async {
            let el = self.find(css).await;
            el.clear().await?;
            el.send_keys(text).await
        })
        .await
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.fresh(&format!("click {css}"), || async {
            self.find(css).await.click().await
        })
        .await
    }

    /// Answers the OS save dialog titled `title` (GTK's file chooser, a real X window)
    /// as a person would with the keyboard: the name field has the focus, so select
    /// all, type the full path, press Return. xdotool sends real X key events (XTEST)
    /// to the window it focused; Xvfb has no window manager to activate it.
    pub async fn save_in_dialog(&self, title: &str, path: &Path) {
        let xdotool = |args: Vec<String>| async move {
            let out = tokio::process::Command::new("xdotool")
                .args(&args)
                .output()
                .await
                .expect("run xdotool (scripts/setup.sh installs it)");
            assert!(out.status.success(), "xdotool {args:?}: {out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let search = vec![
            "search".into(),
            "--sync".into(),
            "--onlyvisible".into(),
            "--name".into(),
            format!("^{title}$"),
        ];
        let found = tokio::time::timeout(Duration::from_secs(20), xdotool(search))
            .await
            .unwrap_or_else(|_| panic!("no save dialog titled {title:?}"));
        let window = found.lines().last().expect("a window id").to_owned();
        // GTK selects the suggested name once the dialog has settled.
        tokio::time::sleep(Duration::from_millis(500)).await;
        xdotool(vec!["windowfocus".into(), "--sync".into(), window]).await;
        xdotool(vec!["key".into(), "ctrl+a".into()]).await;
        let path = path.to_str().expect("a UTF-8 path").to_owned();
        xdotool(vec!["type".into(), "--delay".into(), "20".into(), path]).await;
        xdotool(vec!["key".into(), "Return".into()]).await;
    }

    /// Opens `link` as the desktop does (`latchkey %u`): a second launch of the app in
    /// the same home, which hands the link to the running one and ends.
    pub async fn open_link_from_desktop(&self, home: &Home, link: &str) {
        let home = home.0.path();
        let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg(link)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .status();
        let status = tokio::time::timeout(Duration::from_secs(30), status)
            .await
            .expect("the second launch ends")
            .expect("run the app a second time");
        assert!(status.success(), "second launch: {status:?}");
    }

    /// Switches the UI's language with the select of the top bar.
    pub async fn language(&self, locale: &str) {
        self.find("[data-testid=language]")
            .await
            .select_by_value(locale)
            .await
            .expect("select the language");
        // The page says which language it is in once the switch re-rendered it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lang = self
                .client
                .execute("return document.documentElement.lang;", vec![])
                .await
                .expect("run a script");
            if lang.as_str() == Some(locale) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the UI did not switch to {locale} (lang {lang}); {}",
                    self.whereabouts().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Screenshots of the current screen in English and Chinese, as
    /// `{name}-en.png` and `{name}-zh-CN.png`; the UI is left in English.
    pub async fn screenshots(&self, name: &str) {
        self.language("zh-CN").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.screenshot(&format!("{name}-zh-CN")).await;
        self.language("en").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.screenshot(&format!("{name}-en")).await;
    }

    /// Resizes the window (the layout must hold from 400 px wide).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Whether the page scrolls sideways (content wider than the window).
    pub async fn scrolls_sideways(&self) -> bool {
        let wider = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .expect("run a script");
        wider.as_bool().unwrap_or(true)
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
