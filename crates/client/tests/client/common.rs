use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use latchkey_client::api::Timeouts;
use latchkey_client::clock::ManualClock;
use latchkey_client::dirs::AppDirs;
use latchkey_client::managed::Managed;
use latchkey_client::vault::{KeyringStore, MemoryStore, SecretStore, StoreError};
use latchkey_client::{Client, Options, Step};
use latchkey_proto::Secret;
use latchkey_testkit::TestServer;
use tracing_appender::non_blocking::WorkerGuard;

pub const PASSWORD: &str = "Plum-orchard-violin-73";
pub const NEW_PASSWORD: &str = "Quartz-meadow-lantern-19";

/// The process-wide log folder: every test's client logs go to one rolling file, which
/// the leak test then searches. The server runs in this process too, but its logs are
/// filtered out: in the product it runs elsewhere.
pub fn log_dir() -> &'static PathBuf {
    static LOGS: OnceLock<(PathBuf, Option<WorkerGuard>)> = OnceLock::new();
    &LOGS
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!(
                "latchkey-client-tests-{}-{}",
                std::process::id(),
                hex_id()
            ));
            let guard = latchkey_client::logging::init(
                &dir,
                Some("debug,latchkey_server=off,latchkey_testkit=off,sqlx=off,tower_http=off,lettre=off"),
            )
            .ok();
            (dir, guard)
        })
        .0
}

pub fn hex_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{t:08x}{n:04x}")
}

/// A real keychain under a service name of this test's own, or `None` (a note, or a
/// failure under `LATCHKEY_TEST_REQUIRE_KEYRING`) when no Secret Service answers.
pub fn keyring() -> Option<KeyringStore> {
    let store = KeyringStore::new(format!("latchkey-test-{}", hex_id()));
    match store.probe() {
        Ok(()) => Some(store),
        Err(e) => {
            assert!(
                std::env::var_os("LATCHKEY_TEST_REQUIRE_KEYRING").is_none(),
                "LATCHKEY_TEST_REQUIRE_KEYRING is set but no keychain answers: {e}"
            );
            eprintln!("no keychain ({e}); run under scripts/with-keyring.sh");
            None
        }
    }
}

/// The real keychain when there is one, else memory (for flows that are not about it).
pub fn store() -> Arc<dyn SecretStore> {
    match keyring() {
        Some(k) => Arc::new(k),
        None => Arc::new(MemoryStore::default()),
    }
}

/// A keychain that is not there.
pub struct NoKeychain;

impl SecretStore for NoKeychain {
    fn get(&self, _: &str) -> Result<Option<String>, StoreError> {
        Err(StoreError::Unavailable("no Secret Service".into()))
    }
    fn set(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("no Secret Service".into()))
    }
    fn delete(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("no Secret Service".into()))
    }
}

/// One installation of the app: its folders, keychain and clock.
pub struct App {
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub store: Arc<dyn SecretStore>,
    pub server: String,
}

impl App {
    pub fn new(server: &str, store: Arc<dyn SecretStore>) -> Self {
        log_dir();
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::default();
        let client = build(server, &dir, &clock, &store, Timeouts::default());
        Self {
            client,
            dir,
            clock,
            store,
            server: server.to_owned(),
        }
    }

    /// For `srv`, with [`store`].
    pub fn on(srv: &TestServer) -> Self {
        Self::new(&srv.base(), store())
    }

    /// The app started again: same folders, keychain and clock; nothing in memory.
    pub fn relaunch(&mut self) {
        self.client = build(
            &self.server,
            &self.dir,
            &self.clock,
            &self.store,
            Timeouts::default(),
        );
    }
}

pub fn build(
    server: &str,
    dir: &tempfile::TempDir,
    clock: &ManualClock,
    store: &Arc<dyn SecretStore>,
    timeouts: Timeouts,
) -> Client {
    build_managed(server, dir, clock, store, timeouts, Managed::default())
}

/// [`build`] on a computer with IT's managed settings.
pub fn build_managed(
    server: &str,
    dir: &tempfile::TempDir,
    clock: &ManualClock,
    store: &Arc<dyn SecretStore>,
    timeouts: Timeouts,
    managed: Managed,
) -> Client {
    Client::new(Options {
        dirs: AppDirs::under(dir.path()),
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        timeouts,
        client_version: "1.0.0".into(),
        server_env: Some(server.to_owned()),
        exe_dir: None,
        managed,
    })
    .unwrap()
}

pub fn secret(s: &str) -> Secret {
    Secret::from(s)
}

/// The code of the first e-mail after the first `before` that carries one.
pub async fn mailed_code(srv: &TestServer, before: usize) -> String {
    srv.smtp.code_after(before).await
}

/// Identify, password, and — on a new device — the code from the e-mail; stops at
/// whatever comes after (second factor, forced change, TOTP offer, signed in).
pub async fn sign_in(
    app: &mut App,
    srv: &TestServer,
    identifier: &str,
    password: &str,
    remember: bool,
) -> Step {
    app.client.start().await;
    app.client.identify(identifier).await.unwrap();
    let before = srv.smtp.messages().len();
    let step = app
        .client
        .sign_in(secret(password), remember)
        .await
        .unwrap();
    if let Step::DeviceCode { .. } = step {
        let code = mailed_code(srv, before).await;
        return app.client.verify_device(secret(&code)).await.unwrap();
    }
    step
}

/// As [`sign_in`], then past the TOTP offer to the signed-in screen.
pub async fn signed_in(
    app: &mut App,
    srv: &TestServer,
    identifier: &str,
    password: &str,
    remember: bool,
) -> Step {
    let step = sign_in(app, srv, identifier, password, remember).await;
    let step = if step == Step::TotpOffer {
        app.client.skip_totp().unwrap()
    } else {
        step
    };
    assert!(matches!(step, Step::SignedIn { .. }), "{step:?}");
    step
}

/// Sets up TOTP from the offer (`password` None: the sign-in's own is used) or the
/// signed-in screen (the account's password typed again); returns the base32 secret
/// and the recovery codes.
pub async fn enrol_totp(
    app: &mut App,
    srv: &TestServer,
    password: Option<&str>,
) -> (String, Vec<String>) {
    let step = app.client.setup_totp(password.map(secret)).await.unwrap();
    let Step::TotpSetup { setup } = step else {
        panic!("{step:?}")
    };
    assert!(setup.qr_svg.expose().contains("<svg"));
    let secret_b32: String = setup.secret_groups.expose().replace(' ', "");
    let step = app
        .client
        .confirm_totp(secret(&srv.totp(&secret_b32)))
        .await
        .unwrap();
    let Step::RecoveryCodes { codes } = step else {
        panic!("{step:?}")
    };
    let codes = codes.iter().map(|c| c.expose().to_owned()).collect();
    let step = app.client.recovery_codes_saved().unwrap();
    assert!(
        matches!(&step, Step::SignedIn { user, .. } if user.mfa_enabled),
        "{step:?}"
    );
    // The code just used may not be used again: move to the next step of 30 s.
    srv.advance(30);
    (secret_b32, codes)
}

/// `１２３４５６`, as a Chinese IME in full-width mode types `123456`.
pub fn full_width(code: &str) -> String {
    code.chars()
        .map(|c| match c {
            '0'..='9' | 'a'..='z' | 'A'..='Z' | '-' => {
                char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap_or(c)
            }
            ' ' => '\u{3000}',
            other => other,
        })
        .collect()
}
