//! Test harness shared by Latchkey's integration tests: a real `latchkey-server` on
//! `127.0.0.1:0` over a fresh SQLite file or a fresh PostgreSQL database, that can be
//! stopped and started again on the same port (to play a server that is down) and can
//! have siblings on the same database (to play a second process); a real SMTP sink and
//! a real SMS gateway on loopback; and an independent RFC 6238 TOTP implementation.
//!
//! The client's tests and the end-to-end tests use [`TestServer::start`], set up as an
//! office would run the server; the server's own tests use [`TestServer::bare`] and
//! turn on what each of them checks, and call the API through the helpers of [`api`].
//! Dev-only (`publish = false`).

// A test harness may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
// Debian's chromium, stopped by Unix process group: not in the Windows build.
#[cfg(all(feature = "chromium", unix))]
pub mod chromium;
mod database;
pub mod fault;
pub mod postgres;
pub mod queue;
pub mod slapd;
pub mod sms;
pub mod smtp;
pub mod totp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_proto::Secret;
use latchkey_server::admin::{self, AddUser};
use latchkey_server::users::UserRow;
use latchkey_server::{AppState, Config};

pub use database::{database, TestDatabase};
pub use smtp::SmtpSink;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn name(Backend)` once per database, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )* };
}

/// A 32-byte key in hex, so that TOTP can be set up.
pub const SECRET_KEY: &str = "4c6174636862b579207465737420736563726574206b6579202d2d2030303032";

/// How a server is configured before the test's own tweak.
#[derive(Clone, Copy)]
enum Setup {
    /// As an office runs it: mail to the SMTP sink, a secret key so that TOTP works,
    /// new-device verification on (the default of `Config`).
    Deployed,
    /// Only what a test cannot do without: messages go to the test's outbox folder,
    /// there is no secret key, and new-device verification is off so that the tests
    /// of other flows sign in with one call (tests/api/devices.rs turns it on and
    /// checks the default).
    Bare,
}

/// A real server with a real SMTP sink beside it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The sink the mail of a [`TestServer::start`] server goes to (a bare server is
    /// not pointed at it). Shared with siblings.
    pub smtp: Arc<SmtpSink>,
    /// The test's folder: the SQLite file and the outbox (`outbox/`). Shared with
    /// siblings.
    pub dir: Arc<tempfile::TempDir>,
    /// A client for the test's own requests.
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Last: dropped after the server has stopped. Shared with siblings; the last one
    /// to go drops a PostgreSQL database.
    database: Arc<TestDatabase>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl TestServer {
    /// The defaults of `Config` (new-device verification on), mail to a real SMTP sink,
    /// a secret key so TOTP works, `tweak` last. `None` when the backend is skipped.
    pub async fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        Self::launch(backend, Setup::Deployed, tweak).await
    }

    /// A server with only what every test needs (see [`TestServer::bare_with`]).
    pub async fn bare(backend: Backend) -> Option<Self> {
        Self::bare_with(backend, |_| {}).await
    }

    /// The defaults of `Config` except that messages only go to the test's outbox
    /// folder, there is no secret key (no TOTP) and new-device verification is off;
    /// `tweak` last. `None` when the backend is skipped.
    pub async fn bare_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        Self::launch(backend, Setup::Bare, tweak).await
    }

    /// A bare server (see [`TestServer::bare_with`]) over the database at `url` that
    /// the test made itself — a [`postgres::PrivatePostgres`] it may restart, a SQLite
    /// file on a small filesystem — instead of a fresh one of the harness.
    pub async fn bare_over(url: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::bare_with(Backend::Sqlite, |config| {
            config.database_url = url.to_owned();
            tweak(config);
        })
        .await
        .expect("a SQLite run is never skipped")
    }

    async fn launch(
        backend: Backend,
        setup: Setup,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = database(backend, &dir).await?;
        let smtp = SmtpSink::start().await;
        let mut config = Config {
            database_url: database.url.clone(),
            bind: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        // Many test servers hash at once on a shared machine, where one hash takes from
        // 40 ms to ten times that: the predicted wait of a burst of a test would often
        // pass the default bound. Tests of overload set their own (issue 20).
        config.argon2.max_wait_ms = 30_000;
        // Messages without a transport go to this test's folder, not the user's data dir.
        config.delivery.outbox_dir = Some(dir.path().join("outbox"));
        match setup {
            Setup::Deployed => {
                config.delivery.smtp_url = Some(smtp.url());
                config.delivery.secret_key = Some(SECRET_KEY.into());
            }
            Setup::Bare => config.devices.verify_new = false,
        }
        tweak(&mut config);
        Some(Self::open(config, Arc::new(dir), Arc::new(smtp), Arc::new(database)).await)
    }

    /// Another server on the same database, folder and SMTP sink, as a second process
    /// would be: its own state and pool, the configuration of this one with `tweak`.
    pub async fn sibling(&self, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = (*self.state.config()).clone();
        tweak(&mut config);
        Self::open(
            config,
            self.dir.clone(),
            self.smtp.clone(),
            self.database.clone(),
        )
        .await
    }

    async fn open(
        config: Config,
        dir: Arc<tempfile::TempDir>,
        smtp: Arc<SmtpSink>,
        database: Arc<TestDatabase>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = config;
        // The OpenID Connect provider is on, its issuer this server (a sibling keeps
        // the first server's, as processes behind one load balancer do).
        if config.oidc.issuer.is_empty() {
            config.oidc.issuer = format!("http://{addr}");
        }
        let state = AppState::open(config).await.expect("open state");
        let mut server = Self {
            addr,
            state,
            smtp,
            dir,
            http: reqwest::Client::new(),
            shutdown: None,
            task: None,
            database,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let state = self.state.clone();
        self.task = Some(tokio::spawn(async move {
            latchkey_server::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        }));
        self.shutdown = Some(tx);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of this server's database (for the admin CLI, or a second pool).
    pub fn database_url(&self) -> &str {
        &self.state.live.base().database_url
    }

    /// Closes the port and every connection: the server is unreachable. The server's
    /// own shutdown runs to its end (it closes the kept-alive connections and waits for
    /// them), so that no connection a client keeps in its pool still answers once this
    /// returns; a request still running after 5 s is cut off.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut t) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut t)
                .await
                .is_err()
            {
                t.abort();
                let _ = t.await;
            }
        }
    }

    /// Listens again on the same port, over the same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// Adds an account with an e-mail address, a name and `password`.
    pub async fn add_user(&self, email: &str, password: &str) -> UserRow {
        self.add(
            AddUser {
                email: Some(email.into()),
                name: Some("Test User".into()),
                ..AddUser::default()
            },
            password,
        )
        .await
    }

    pub async fn add(&self, add: AddUser, password: &str) -> UserRow {
        admin::add_user(&self.state, add, &Secret::from(password))
            .await
            .expect("add user")
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, seconds: u64) {
        self.state.clock.advance(Duration::from_secs(seconds));
    }

    /// Moves the server's clock forward by milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.state.clock.advance(Duration::from_millis(ms));
    }

    /// Lets the server's cached maintenance and version switches expire, as the
    /// second after a change made by another process (the admin CLI) does.
    pub fn let_settings_expire(&self) {
        let ttl = u64::try_from(latchkey_server::settings::CACHE_TTL_MS).expect("positive");
        self.advance_ms(ttl);
    }

    /// One number the server's database answers (`SELECT COUNT(*) FROM …`), for tests
    /// that check what the server did, not only what it said.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.state.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The server's clock, in Unix seconds.
    pub fn now_secs(&self) -> u64 {
        u64::try_from(self.state.now() / 1000).expect("time after 1970")
    }

    /// The TOTP code for `base32_secret` at the server's current time.
    pub fn totp(&self, base32_secret: &str) -> String {
        totp::code(base32_secret, self.now_secs())
    }
}
