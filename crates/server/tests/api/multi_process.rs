//! Two real `latchkey-server serve` processes on one PostgreSQL database behave as one
//! server: a lock made through one is seen by the other, a refresh token rotated
//! through one is spent for the other, maintenance set by the CLI reaches both, and the
//! per-address throttle counts the failures of both. (PostgreSQL only: SQLite is the
//! single-machine default.)

// Test code: a failed expectation is a test failure.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::Backend;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");

/// A running server process, killed (and reaped) when dropped, also when a test fails.
struct ServerProcess {
    name: &'static str,
    child: Child,
    base: String,
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

/// Starts `latchkey-server serve` on 127.0.0.1:0 and learns its address from stdout.
fn spawn_server(
    name: &'static str,
    database_url: &str,
    config: &Path,
    dir: &Path,
) -> ServerProcess {
    let log = dir.join(format!("server-{name}.log"));
    let mut cmd = command(database_url, config);
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
fn admin(database_url: &str, config: &Path, args: &[&str], stdin: Option<&str>) -> String {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(Backend::Postgres, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        "trust_forwarded_for = true\n\n[lockout]\naddress_limit = 3\n\n\
         # New-device codes are tested in devices.rs; here the password is enough.\n\
         [devices]\nverify_new = false\n",
    )
    .expect("config");
    let (db, cfg, d) = (url.clone(), config.clone(), dir.path().to_owned());

    // Both start at once on a fresh database: the migrations must not race.
    let (a, b) = tokio::task::spawn_blocking(move || {
        let a = std::thread::scope(|s| {
            let a = s.spawn(|| spawn_server("A", &db, &cfg, &d));
            let b = s.spawn(|| spawn_server("B", &db, &cfg, &d));
            (a.join(), b.join())
        });
        match a {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => panic!(
                "a server did not start: A ok = {}, B ok = {}",
                a.is_ok(),
                b.is_ok()
            ),
        }
    })
    .await
    .expect("start servers");
    assert_ne!(a.base, b.base);
    let c = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    };

    let (u, f) = (url.clone(), config.clone());
    let run = move |args: Vec<&'static str>, stdin: Option<String>| {
        let (u, f) = (u.clone(), f.clone());
        tokio::task::spawn_blocking(move || admin(&u, &f, &args, stdin.as_deref()))
    };

    let email = "shared@corp.example";
    let out = run(
        vec![
            "user",
            "add",
            "--email",
            "shared@corp.example",
            "--name",
            "Shared",
            "--password-stdin",
        ],
        Some(format!("{PASSWORD}\n")),
    )
    .await
    .expect("user add");
    assert!(out.contains(email), "{out}");

    // Both processes know the new account.
    for server in [&a, &b] {
        let (status, body) = c.login(server, "10.0.0.1", email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", server.name);
        assert_eq!(body["status"], "ok", "{body}");
    }

    // --- Lockout: 5 failures through A lock the account for B. Each failure comes
    // from its own address, so that the address throttle (3) stays out of it.
    for i in 1..=5 {
        let (status, body) = c
            .login(&a, &format!("10.1.0.{i}"), email, OTHER_PASSWORD)
            .await;
        let want = if i < 5 {
            "invalid_credentials"
        } else {
            "account_locked"
        };
        assert_eq!(code(&body), want, "failure {i}: {status} {body}");
    }
    let (status, body) = c.login(&b, "10.1.1.1", email, PASSWORD).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert_eq!(code(&body), "account_locked", "{body}");
    assert!(
        body["retry_after"].as_u64().is_some_and(|s| s > 0),
        "{body}"
    );
    // Failures split across the processes count together too.
    let other = "split@corp.example";
    run(
        vec![
            "user",
            "add",
            "--email",
            "split@corp.example",
            "--password-stdin",
        ],
        Some(format!("{PASSWORD}\n")),
    )
    .await
    .expect("user add");
    for i in 1..=5 {
        let server = if i % 2 == 0 { &a } else { &b };
        c.login(server, &format!("10.2.0.{i}"), other, OTHER_PASSWORD)
            .await;
    }
    let (_, body) = c.login(&a, "10.2.1.1", other, PASSWORD).await;
    assert_eq!(code(&body), "account_locked", "{body}");
    // Unlocked by the CLI: both see it.
    run(
        vec!["user", "unlock", "--identifier", "shared@corp.example"],
        None,
    )
    .await
    .expect("unlock");
    let (status, body) = c.login(&b, "10.1.1.2", email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // --- Sessions: created through A, refreshed through B; the old refresh token back
    // at A is a reuse, which ends the session everywhere.
    let (status, body) = c.login(&a, "10.3.0.1", email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body["session"].clone();
    let (status, _) = c.get(&b, "/v1/me", first["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, rotated) = c
        .post(
            &b,
            "/v1/auth/refresh",
            "10.3.0.1",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["refresh_token"], first["refresh_token"]);
    let (status, _) = c.get(&a, "/v1/me", rotated["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = c
        .post(
            &a,
            "/v1/auth/refresh",
            "10.3.0.1",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "refresh_token_reused", "{body}");
    for server in [&a, &b] {
        let (status, body) = c
            .get(server, "/v1/me", rotated["access_token"].as_str())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {body}", server.name);
    }
    let (status, body) = c
        .post(
            &b,
            "/v1/auth/refresh",
            "10.3.0.1",
            json!({"refresh_token": rotated["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // --- Maintenance set by the CLI reaches both, and so does its end.
    run(
        vec![
            "maintenance",
            "on",
            "--message",
            "Nightly upgrade",
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        None,
    )
    .await
    .expect("maintenance on");
    settings_reach_both().await;
    for server in [&a, &b] {
        let (status, body) = c.login(server, "10.4.0.1", email, PASSWORD).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: {body}",
            server.name
        );
        assert_eq!(code(&body), "maintenance", "{body}");
        assert_eq!(body["message"], "Nightly upgrade", "{body}");
        assert_eq!(body["until"], "2030-01-01T00:00:00Z", "{body}");
        let (status, meta) = c.get(server, "/v1/meta", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(meta["maintenance"]["message"], "Nightly upgrade", "{meta}");
    }
    run(vec!["maintenance", "off"], None)
        .await
        .expect("maintenance off");
    settings_reach_both().await;
    for server in [&a, &b] {
        let (status, body) = c.login(server, "10.4.0.1", email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", server.name);
    }

    // --- The per-address throttle (3 failures) counts across both processes. The
    // failures use different unknown identifiers, so no account lock is involved.
    let address = "10.9.9.9";
    for (i, server) in [&a, &b, &a].into_iter().enumerate() {
        let (status, body) = c
            .login(
                server,
                address,
                &format!("nobody{i}@corp.example"),
                OTHER_PASSWORD,
            )
            .await;
        assert_eq!(
            code(&body),
            "invalid_credentials",
            "failure {i}: {status} {body}"
        );
    }
    for server in [&b, &a] {
        let (status, body) = c.login(server, address, email, PASSWORD).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {body}",
            server.name
        );
        assert_eq!(code(&body), "rate_limited", "{body}");
        assert!(
            body["retry_after"].as_u64().is_some_and(|s| s > 0),
            "{body}"
        );
    }
    // Another address is not affected, on either process.
    for server in [&a, &b] {
        let (status, body) = c.login(server, "10.9.9.10", email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", server.name);
    }

    drop(a);
    drop(b);
    drop(database);
}

/// Issue 13: bursts split across two processes on one PostgreSQL still get no more
/// than the limit: wrong passwords (5 judged, of which at most 4 can be answered
/// `invalid_credentials`: the 5th locks) and reset codes sent (1 per resend window).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_two_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(Backend::Postgres, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        "trust_forwarded_for = true\n\n[devices]\nverify_new = false\n",
    )
    .expect("config");
    let (db, cfg, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            spawn_server("A", &db, &cfg, &d),
            spawn_server("B", &db, &cfg, &d),
        )
    })
    .await
    .expect("start servers");
    let (u, f) = (url.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        admin(
            &u,
            &f,
            &[
                "user",
                "add",
                "--email",
                "burst@corp.example",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
    })
    .await
    .expect("user add");
    let c = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    };
    let servers = [&a, &b];
    let answers = futures_util::future::join_all((0..30).map(|i| {
        let (c, server) = (&c, servers[i % 2]);
        async move {
            let address = format!("10.2.0.{i}");
            c.login(server, &address, "burst@corp.example", OTHER_PASSWORD)
                .await
        }
    }))
    .await;
    let codes: Vec<&str> = answers.iter().map(|(_, body)| code(body)).collect();
    let judged_wrong = codes
        .iter()
        .filter(|c| **c == "invalid_credentials")
        .count();
    assert!(judged_wrong <= 4, "{codes:?}");
    assert!(
        codes.iter().all(|c| matches!(
            *c,
            "invalid_credentials" | "account_locked" | "rate_limited"
        )),
        "{codes:?}"
    );
    let (_, body) = c
        .login(&b, "10.3.0.1", "burst@corp.example", PASSWORD)
        .await;
    assert_eq!(code(&body), "account_locked", "{body}");

    let starts = futures_util::future::join_all((0..30).map(|i| {
        let (c, server) = (&c, servers[i % 2]);
        async move {
            let body = json!({"identifier": "burst@corp.example"});
            c.post(server, "/v1/recovery/start", &format!("10.4.0.{i}"), body)
                .await
        }
    }))
    .await;
    let accepted = starts
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 1, "{starts:?}");
}
