//! The admin commands, run as the real `latchkey-server` binary against the database
//! the in-process test server serves: every effect is checked over HTTP, and no
//! password ever shows up in what the commands print.
//!
//! The tests are in one file per area; this module holds what they share.

mod clients;
mod releases;
mod roles;
mod server;
mod user_add;
mod user_state;

// Test code: a failed expectation is a test failure.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use latchkey_testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");
/// A third strong password, for resets.
const TEMP_PASSWORD: &str = "Saffron-glacier-pelican-58";

/// What a finished command left behind.
#[derive(Debug)]
pub(crate) struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    pub(crate) fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "command failed: {self:#?}");
        self
    }

    /// A refusal: non-zero, with a message on stderr.
    fn failed(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "command should fail: {self:#?}"
        );
        assert!(
            !self.stderr.trim().is_empty(),
            "no message on stderr: {self:#?}"
        );
        self
    }

    fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }

    pub(crate) fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}: {self:#?}"
        );
        self
    }

    /// Asserts that `secret` is printed nowhere.
    fn hides(&self, secret: &str) -> &Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "a password was printed: {self:#?}"
        );
        self
    }
}

/// Runs `latchkey-server ARGS` on the test server's database, with `stdin` piped in.
pub(crate) async fn cli(srv: &TestServer, args: &[&str], stdin: Option<&str>) -> Run {
    cli_env(srv, args, stdin, &[]).await
}

async fn cli_env(
    srv: &TestServer,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args);
    // Only what the test sets: no LATCHKEY_* from the surrounding environment.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LATCHKEY_") {
            cmd.env_remove(&name);
        }
    }
    cmd.env("LATCHKEY_DATABASE_URL", srv.database_url())
        .env("LATCHKEY_LOG", "warn")
        .env("LATCHKEY_OUTBOX_DIR", srv.dir.path().join("outbox"))
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn latchkey-server");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // A command that refuses its arguments exits without reading: ignore EPIPE.
        let _ = pipe.write_all(input.as_bytes()).await;
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the command finished in time")
        .expect("wait for latchkey-server");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn add_user(srv: &TestServer, email: &str, password: &str) -> Run {
    let run = cli(
        srv,
        &[
            "user",
            "add",
            "--email",
            email,
            "--name",
            "Li Na 李娜",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )
    .await;
    run.hides(password);
    run
}

/// The line of `user list` that shows `email`.
async fn listed(srv: &TestServer, email: &str) -> String {
    let run = cli(srv, &["user", "list"], None).await;
    run.ok();
    run.stdout
        .lines()
        .find(|l| l.contains(email))
        .unwrap_or_else(|| panic!("{email} not listed: {run:#?}"))
        .to_owned()
}

async fn login_with_version(
    srv: &TestServer,
    email: &str,
    password: &str,
    version: &str,
) -> (StatusCode, Value) {
    srv.post(
        "/v1/auth/login",
        json!({
            "identifier": email,
            "password": password,
            "device": {"id": "dev-1", "name": "dev-1 name", "platform": "linux"},
            "client_version": version,
        }),
    )
    .await
}
