//! Two real `latchkey-server serve` processes on one PostgreSQL database behave as one
//! server: a lock made through one is seen by the other, a refresh token rotated
//! through one is spent for the other, maintenance set by the CLI reaches both, the
//! per-address throttle counts the failures of both, and they are one OpenID Connect
//! provider. (PostgreSQL only: SQLite is the single-machine default.)
//!
//! The tests are in one file per area; this module holds what they share.

mod limits;
mod oidc;
mod one_server;
mod policies;

// Test code: a failed expectation is a test failure.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");

/// A running server process, killed (and reaped) when dropped, also when a test fails.
/// (Also used by `faults`, which kills one under load.)
pub(super) struct ServerProcess {
    name: &'static str,
    pub(super) child: Child,
    pub(super) base: String,
    log: std::path::PathBuf,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- stderr of server {} ---\n{log}", self.name);
        }
    }
}

fn command(database_url: &str, config: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LATCHKEY_") {
            cmd.env_remove(&name);
        }
    }
    cmd.arg("--config")
        .arg(config)
        .env("LATCHKEY_DATABASE_URL", database_url)
        .env("LATCHKEY_LOG", "warn");
    cmd
}

impl ServerProcess {
    /// What the process has written to standard error so far (its log).
    pub(super) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts `latchkey-server serve` on 127.0.0.1:0 and learns its address from stdout.
pub(super) fn spawn_server(
    name: &'static str,
    database_url: &str,
    config: &Path,
    dir: &Path,
) -> ServerProcess {
    spawn_server_with(name, database_url, config, dir, &[])
}

/// [`spawn_server`] with more environment variables (set after the harness's own, so
/// `LATCHKEY_LOG` may be given).
pub(super) fn spawn_server_with(
    name: &'static str,
    database_url: &str,
    config: &Path,
    dir: &Path,
    env: &[(&str, &str)],
) -> ServerProcess {
    let log = dir.join(format!("server-{name}.log"));
    let mut cmd = command(database_url, config);
    // As the test kit's servers (crates/testkit/src/lib.rs): a burst of these tests on
    // the shared 2-core machine would often be predicted to wait longer than the default
    // 1 s for the hasher and be answered `server_busy`, which is not what they test.
    // The tests of overload set their own bound (issue 20).
    cmd.env("LATCHKEY_ARGON2__MAX_WAIT_MS", "30000");
    cmd.envs(env.iter().copied());
    cmd.arg("serve")
        .env("LATCHKEY_BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"));
    let mut child = cmd.spawn().expect("spawn latchkey-server serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut process = ServerProcess {
        name,
        child,
        base: String::new(),
        log,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(addr) = line.trim().strip_prefix("latchkey-server listening on ") {
                let _ = tx.send(addr.to_owned());
            }
            line.clear();
        }
        // Keep draining until the process exits.
        let _ = reader.read_to_end(&mut Vec::new());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(base) => {
            assert!(base.starts_with("http://127.0.0.1:"), "{base}");
            process.base = base;
        }
        Err(_) => {
            let status = process.child.try_wait();
            panic!("server {name} did not report its address (exit status {status:?})");
        }
    }
    process
}

/// Runs an admin command on the same database and configuration.
pub(super) fn admin(
    database_url: &str,
    config: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    use std::io::Write;
    let mut child = command(database_url, config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn latchkey-server");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(input) = stdin {
        // The exit status below tells whether the command got what it needed.
        let _ = pipe.write_all(input.as_bytes());
    }
    drop(pipe);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "latchkey-server {args:?} failed: {stdout}\n{stderr}"
    );
    if let Some(secret) = stdin {
        assert!(
            !stdout.contains(secret.trim()) && !stderr.contains(secret.trim()),
            "a password was printed"
        );
    }
    stdout
}

struct Client {
    http: reqwest::Client,
}

impl Client {
    /// POSTs JSON to `server`, as the client at `address` (the servers trust
    /// X-Forwarded-For in this test, so each scenario can have its own address).
    async fn post(
        &self,
        server: &ServerProcess,
        path: &str,
        address: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", server.base))
            .header("x-forwarded-for", address)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        assert!(
            !status.is_server_error() || value["code"] == "maintenance",
            "{status}: {value}"
        );
        (status, value)
    }

    /// POSTs JSON with a bearer token.
    async fn post_auth(
        &self,
        server: &ServerProcess,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", server.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value)
    }

    async fn get(
        &self,
        server: &ServerProcess,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}{path}", server.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let value = resp.json().await.expect("JSON body");
        (status, value)
    }

    async fn login(
        &self,
        server: &ServerProcess,
        address: &str,
        identifier: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        let body = json!({
            "identifier": identifier,
            "password": password,
            "device": {"id": "dev-mp", "name": "multi-process", "platform": "linux"},
            "client_version": "1.0.0",
        });
        self.post(server, "/v1/auth/login", address, body).await
    }
}

/// Each process reads the switches at most a second after another process changed
/// them: wait that second (real time: these are other processes with their own clocks).
async fn settings_reach_both() {
    let ttl = u64::try_from(latchkey_server::settings::CACHE_TTL_MS).expect("positive");
    tokio::time::sleep(Duration::from_millis(ttl + 100)).await;
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}
