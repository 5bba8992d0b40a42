//! Test harness shared by Latchkey's integration tests: a real `latchkey-server` on
//! `127.0.0.1:0` over a fresh SQLite file or a fresh PostgreSQL database, that can be
//! stopped and started again on the same port (to play a server that is down); a real
//! SMTP sink on loopback; and an independent RFC 6238 TOTP implementation.
//!
//! Dev-only (`publish = false`). The server's own tests still carry their copy in
//! `crates/server/tests/common`; they should move onto this crate.

// A test harness may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod smtp;
pub mod totp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_proto::Secret;
use latchkey_server::admin::{self, AddUser};
use latchkey_server::users::UserRow;
use latchkey_server::{AppState, Config};

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

/// A database made for one test. A PostgreSQL one (`lk_test_<random>`) is dropped when
/// this is dropped, also when the test fails.
pub struct TestDatabase {
    pub url: String,
    /// The server's URL and the database's name, for PostgreSQL.
    postgres: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop is synchronous and may run inside the test's runtime or while a failed
        // test unwinds: a plain thread with a runtime of its own does the async work,
        // and a failure is printed, never raised, so that it cannot hide the test's
        // own failure (a panic here during unwinding would abort the run).
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = latchkey_server::db::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                // FORCE ends the connections the test's pool still holds.
                let result = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                admin.close().await;
                result.map(drop).map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("note: could not drop the test database: {e}"),
            Err(_) => eprintln!("note: dropping the test database panicked"),
        }
    }
}

/// A fresh database for one test, or `None` to skip (PostgreSQL not configured): a
/// SQLite file in `dir`, or a new PostgreSQL database that is dropped with the returned
/// value. Panics when `LATCHKEY_TEST_REQUIRE_POSTGRES` is set but no URL is.
pub async fn database(backend: Backend, dir: &tempfile::TempDir) -> Option<TestDatabase> {
    match backend {
        Backend::Sqlite => Some(TestDatabase {
            url: format!("sqlite://{}", dir.path().join("latchkey.db").display()),
            postgres: None,
        }),
        Backend::Postgres => {
            let Ok(url) = std::env::var("LATCHKEY_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var_os("LATCHKEY_TEST_REQUIRE_POSTGRES").is_none(),
                    "LATCHKEY_TEST_REQUIRE_POSTGRES is set but LATCHKEY_TEST_POSTGRES_URL is not"
                );
                eprintln!("skipping the PostgreSQL run: LATCHKEY_TEST_POSTGRES_URL is not set");
                return None;
            };
            let name = format!("lk_test_{}", latchkey_server::tokens::new_id());
            let admin = latchkey_server::db::connect(&url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .expect("create test database");
            admin.close().await;
            let (base, _) = url.rsplit_once('/').expect("URL has a database");
            let test_url = format!("{base}/{name}");
            Some(TestDatabase {
                url: test_url,
                postgres: Some((url, name)),
            })
        }
    }
}

/// A real server with a real SMTP sink for its mail.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub smtp: SmtpSink,
    pub dir: Arc<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Last: dropped after the server has stopped.
    _database: TestDatabase,
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
        let dir = tempfile::tempdir().expect("tempdir");
        let database = database(backend, &dir).await?;
        let smtp = SmtpSink::start().await;
        let mut config = Config {
            database_url: database.url.clone(),
            bind: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        config.delivery.outbox_dir = Some(dir.path().join("outbox"));
        config.delivery.smtp_url = Some(smtp.url());
        config.delivery.secret_key = Some(SECRET_KEY.into());
        tweak(&mut config);
        let state = AppState::open(config).await.expect("open state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut server = Self {
            addr,
            state,
            smtp,
            dir: Arc::new(dir),
            shutdown: None,
            task: None,
            _database: database,
        };
        server.serve(listener);
        Some(server)
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

    /// Closes the port and every connection: the server is unreachable.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
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

    /// The server's clock, in Unix seconds.
    pub fn now_secs(&self) -> u64 {
        u64::try_from(self.state.now() / 1000).expect("time after 1970")
    }

    /// The TOTP code for `base32_secret` at the server's current time.
    pub fn totp(&self, base32_secret: &str) -> String {
        totp::code(base32_secret, self.now_secs())
    }
}
