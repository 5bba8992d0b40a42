//! The test harness: a real server on 127.0.0.1:0 over a fresh database.

#![allow(dead_code)]

use std::sync::Arc;

use latchkey_proto::{Device, LoginResponse, Secret, Session};
use latchkey_server::admin::{self, AddUser};
use latchkey_server::users::UserRow;
use latchkey_server::{AppState, Config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub use latchkey_testkit::Backend;

/// Runs each named `async fn name(Backend)` once per database, as `name::sqlite` and
/// `name::postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )* };
}

pub const PASSWORD: &str = "Plum-orchard-violin-73";
pub const OTHER_PASSWORD: &str = "Quartz-meadow-lantern-19";

pub use latchkey_testkit::{database, TestDatabase};

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub database_url: String,
    pub dir: Arc<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Shared with siblings; the last one to go drops a PostgreSQL database.
    database: Arc<TestDatabase>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = database(backend, &dir).await?;
        let mut config = Config {
            database_url: database.url.clone(),
            bind: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        // Messages without a transport go to this test's folder, not the user's data dir.
        config.delivery.outbox_dir = Some(dir.path().join("outbox"));
        // New-device verification (on by default; see `Config`) is off here so that
        // the tests of other flows sign in with one call; tests/api/devices.rs turns
        // it on and checks the default.
        config.devices.verify_new = false;
        tweak(&mut config);
        Some(Self::serve(config, Arc::new(dir), Arc::new(database)).await)
    }

    /// Another server process-equivalent on the same database (fresh state, own pool).
    pub async fn sibling(&self, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = (*self.state.config).clone();
        tweak(&mut config);
        Self::serve(config, self.dir.clone(), self.database.clone()).await
    }

    async fn serve(
        config: Config,
        dir: Arc<tempfile::TempDir>,
        database: Arc<TestDatabase>,
    ) -> Self {
        let database_url = config.database_url.clone();
        let state = AppState::open(config).await.expect("open state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serve_state = state.clone();
        tokio::spawn(async move {
            latchkey_server::serve(serve_state, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            base,
            http: reqwest::Client::new(),
            state,
            database_url,
            dir,
            shutdown: Some(tx),
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends JSON (or nothing) with an optional bearer token; returns status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, value)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, None, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

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

    pub async fn login_raw(&self, identifier: &str, password: &str) -> (StatusCode, Value) {
        self.login_device(identifier, password, "dev-1").await
    }

    pub async fn login_device(
        &self,
        identifier: &str,
        password: &str,
        device: &str,
    ) -> (StatusCode, Value) {
        self.post(
            "/v1/auth/login",
            json!({
                "identifier": identifier,
                "password": password,
                "device": {"id": device, "name": format!("{device} name"), "platform": "linux"},
                "client_version": "1.0.0",
            }),
        )
        .await
    }

    /// Signs in and expects `ok`.
    pub async fn login(&self, identifier: &str, password: &str) -> Session {
        let (status, body) = self.login_raw(identifier, password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        match serde_json::from_value::<LoginResponse>(body).expect("login response") {
            LoginResponse::Ok { session } => session,
            other => panic!("expected ok, got {other:?}"),
        }
    }

    /// Lets the server's cached maintenance and version switches expire, as the
    /// second after a change made by another process (the admin CLI) does.
    pub fn let_settings_expire(&self) {
        let ttl = u64::try_from(latchkey_server::settings::CACHE_TTL_MS).expect("positive");
        self.advance_ms(ttl);
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, seconds: u64) {
        self.state
            .clock
            .advance(std::time::Duration::from_secs(seconds));
    }
}

pub fn device(id: &str) -> Device {
    Device {
        id: id.into(),
        name: format!("{id} name"),
        platform: "linux".into(),
    }
}

/// Asserts an error answer: status, code, and that the body is a proper error.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

// ---- delivery: a real SMTP server, a real SMS gateway, the message queue ----

pub mod sms;
/// The real SMTP sink, shared with the client's tests.
pub use latchkey_testkit::smtp;

/// A row of the outbound message queue, as the tests look at it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub locale: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

impl TestServer {
    /// The queue row of message `id`.
    pub async fn message(&self, id: &str) -> MessageRow {
        sqlx::query_as(
            "SELECT id, channel, recipient, locale, kind, payload, status, attempts, \
             next_attempt_at, sent_at, last_error FROM messages WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.state.db)
        .await
        .expect("message row")
    }

    /// A dispatcher of this server's configuration, to drive with `run_once`.
    pub fn dispatcher(&self) -> latchkey_server::delivery::Dispatcher {
        latchkey_server::delivery::Dispatcher::new(&self.state).expect("dispatcher")
    }

    /// Moves the clock forward by milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.state
            .clock
            .advance(std::time::Duration::from_millis(ms));
    }
}
