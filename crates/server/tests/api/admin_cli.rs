//! The admin commands, run as the real `latchkey-server` binary against the database
//! the in-process test server serves: every effect is checked over HTTP, and no
//! password ever shows up in what the commands print.

// Test code: a failed expectation is a test failure.

use std::process::Stdio;
use std::time::Duration;

use latchkey_proto::LoginResponse;
use latchkey_server::admin::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_PHONE, DEMO_USERNAME};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use latchkey_testkit::api::{assert_error, OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::{on_both, Backend, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");
/// A third strong password, for resets.
const TEMP_PASSWORD: &str = "Saffron-glacier-pelican-58";

on_both!(
    user_add_then_sign_in,
    user_add_refusals,
    user_add_requires_password_stdin,
    disable_and_enable,
    lock_and_unlock,
    reset_password_is_temporary,
    maintenance_on_and_off,
    min_client_version,
    migrate_and_demo,
);

/// What a finished command left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> &Self {
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

    fn stdout_has(&self, needle: &str) -> &Self {
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
async fn cli(srv: &TestServer, args: &[&str], stdin: Option<&str>) -> Run {
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

async fn user_add_then_sign_in(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "li.na@corp.example";
    add_user(&srv, email, PASSWORD).await.ok().stdout_has(email);
    let session = srv.login(email, PASSWORD).await;
    assert_eq!(session.user.email.as_deref(), Some(email));
    assert_eq!(session.user.name.as_deref(), Some("Li Na 李娜"));
    let line = listed(&srv, email).await;
    assert!(line.contains("active"), "{line}");
    assert!(line.contains("李娜"), "{line}");
    // Mixed-case input is the same account.
    srv.login("Li.Na@Corp.Example", PASSWORD).await;

    // Phone and username only; a password given without a trailing newline.
    let run = cli(
        &srv,
        &[
            "user",
            "add",
            "--phone",
            "138 0013 8001",
            "--username",
            "zhang.wei",
            "--password-stdin",
        ],
        Some(OTHER_PASSWORD),
    )
    .await;
    run.ok().hides(OTHER_PASSWORD);
    srv.login("zhang.wei", OTHER_PASSWORD).await;
    srv.login("+8613800138001", OTHER_PASSWORD).await;

    // Even at the most verbose log level, no password is printed.
    let run = cli_env(
        &srv,
        &[
            "user",
            "add",
            "--email",
            "verbose@corp.example",
            "--password-stdin",
        ],
        Some(&format!("{TEMP_PASSWORD}\n")),
        &[("LATCHKEY_LOG", "trace")],
    )
    .await;
    run.ok().hides(TEMP_PASSWORD);
    srv.login("verbose@corp.example", TEMP_PASSWORD).await;
}

async fn user_add_refusals(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "dup@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    // The same account again, by any spelling of its e-mail.
    add_user(&srv, email, OTHER_PASSWORD)
        .await
        .failed()
        .stderr_has("already exists");
    add_user(&srv, "DUP@Corp.Example", OTHER_PASSWORD)
        .await
        .failed()
        .stderr_has("already exists");
    // The first password still signs in; the second was never set.
    srv.login(email, PASSWORD).await;
    let (status, body) = srv.login_raw(email, OTHER_PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");

    // Weak passwords are refused with the reason, and not echoed.
    add_user(&srv, "weak@corp.example", "Qz9!x")
        .await
        .failed()
        .stderr_has("too_short");
    add_user(&srv, "weak@corp.example", "woaini5201314")
        .await
        .failed()
        .stderr_has("policy");
    add_user(&srv, "weak@corp.example", "weak@corp.example1")
        .await
        .failed()
        .stderr_has("policy");
    let (status, body) = srv.login_raw("weak@corp.example", "woaini5201314").await;
    assert_error(status, &body, 401, "invalid_credentials");

    // An empty password on stdin, or none at all.
    cli(
        &srv,
        &[
            "user",
            "add",
            "--email",
            "empty@corp.example",
            "--password-stdin",
        ],
        Some("\n"),
    )
    .await
    .failed()
    .stderr_has("no password");
    cli(
        &srv,
        &[
            "user",
            "add",
            "--email",
            "empty@corp.example",
            "--password-stdin",
        ],
        None,
    )
    .await
    .failed()
    .stderr_has("no password");
    // Malformed identifiers, or none.
    cli(
        &srv,
        &["user", "add", "--email", "not-an-email", "--password-stdin"],
        Some(PASSWORD),
    )
    .await
    .failed()
    .stderr_has("--email")
    .hides(PASSWORD);
    cli(
        &srv,
        &["user", "add", "--name", "Nobody", "--password-stdin"],
        Some(PASSWORD),
    )
    .await
    .failed()
    .stderr_has("--email")
    .hides(PASSWORD);
    let list = cli(&srv, &["user", "list"], None).await;
    list.ok();
    assert!(
        !list.stdout.contains("weak@") && !list.stdout.contains("empty@"),
        "{list:#?}"
    );
}

async fn user_add_requires_password_stdin(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "argv@corp.example";
    // Without --password-stdin: a usage error, even with a password on stdin.
    let run = cli(&srv, &["user", "add", "--email", email], Some(PASSWORD)).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.stderr_has("--password-stdin").hides(PASSWORD);
    // A password as an argument is not an option at all (and is not echoed back).
    let run = cli(
        &srv,
        &["user", "add", "--email", email, "--password", PASSWORD],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.hides(PASSWORD);
    let run = cli(
        &srv,
        &["user", "reset-password", "--identifier", email],
        Some(PASSWORD),
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.stderr_has("--password-stdin");
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    // Unknown commands and a missing subcommand are usage errors too.
    assert_eq!(cli(&srv, &["user", "frobnicate"], None).await.code, Some(2));
    assert_eq!(cli(&srv, &["user"], None).await.code, Some(2));
    assert_eq!(cli(&srv, &["maintenance", "on"], None).await.code, Some(2));
}

async fn disable_and_enable(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "disable.me@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let session = srv.login(email, PASSWORD).await;
    let token = session.access_token.expose().to_owned();
    let (status, _) = srv.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK);

    cli(&srv, &["user", "disable", "--identifier", email], None)
        .await
        .ok()
        .stdout_has(email);
    // Its sessions are over, the refresh token too, and signing in says why.
    let (status, body) = srv.get("/v1/me", &token).await;
    assert_error(status, &body, 401, "unauthenticated");
    let (status, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert!(status == StatusCode::UNAUTHORIZED, "{status} {body}");
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 403, "account_disabled");
    // A wrong password on a disabled account reveals nothing more.
    let (status, body) = srv.login_raw(email, OTHER_PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    assert!(listed(&srv, email).await.contains("disabled"));

    cli(&srv, &["user", "enable", "--identifier", email], None)
        .await
        .ok()
        .stdout_has(email);
    let fresh = srv.login(email, PASSWORD).await;
    let (status, _) = srv.get("/v1/me", fresh.access_token.expose()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed(&srv, email).await.contains("active"));

    // Unknown accounts are a clear error.
    for cmd in ["disable", "enable"] {
        cli(
            &srv,
            &["user", cmd, "--identifier", "nobody@corp.example"],
            None,
        )
        .await
        .failed()
        .stderr_has("no account");
    }
}

async fn lock_and_unlock(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "locked.out@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    for i in 1..=5 {
        let (status, body) = srv.login_raw(email, OTHER_PASSWORD).await;
        if i < 5 {
            assert_error(status, &body, 401, "invalid_credentials");
        } else {
            assert_error(status, &body, 423, "account_locked");
            assert!(
                body["retry_after"].as_u64().is_some_and(|s| s > 0),
                "{body}"
            );
        }
    }
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 423, "account_locked");
    let line = listed(&srv, email).await;
    assert!(line.contains("locked"), "{line}");

    cli(&srv, &["user", "unlock", "--identifier", email], None)
        .await
        .ok()
        .stdout_has("unlocked");
    srv.login(email, PASSWORD).await;
    assert!(listed(&srv, email).await.contains("active"));

    // An identifier no account has locks and unlocks the same way.
    let ghost = "ghost@corp.example";
    for _ in 0..5 {
        srv.login_raw(ghost, OTHER_PASSWORD).await;
    }
    let (status, body) = srv.login_raw(ghost, OTHER_PASSWORD).await;
    assert_error(status, &body, 423, "account_locked");
    cli(&srv, &["user", "unlock", "--identifier", ghost], None)
        .await
        .ok();
    let (status, body) = srv.login_raw(ghost, OTHER_PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    // Something that is no identifier at all.
    cli(&srv, &["user", "unlock", "--identifier", "!!"], None)
        .await
        .failed();
}

async fn reset_password_is_temporary(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "forgetful@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let session = srv.login(email, PASSWORD).await;
    // Lock it too: a reset lifts the lock.
    for _ in 0..5 {
        srv.login_raw(email, OTHER_PASSWORD).await;
    }

    let run = cli(
        &srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            email,
            "--password-stdin",
        ],
        Some(&format!("{TEMP_PASSWORD}\n")),
    )
    .await;
    run.ok()
        .hides(TEMP_PASSWORD)
        .hides(PASSWORD)
        .stdout_has(email);

    // Old sessions and the old password are gone.
    let (status, body) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_error(status, &body, 401, "unauthenticated");
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 401, "invalid_credentials");
    // The temporary password only leads to the forced change.
    let (status, body) = srv.login_raw(email, TEMP_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");
    assert_eq!(body["reason"], "temporary", "{body}");
    assert!(listed(&srv, email).await.contains("temp-pass"));
    let change_token = match serde_json::from_value::<LoginResponse>(body).expect("login response")
    {
        LoginResponse::PasswordChangeRequired { change_token, .. } => change_token,
        other => panic!("{other:?}"),
    };
    let (status, body) = srv
        .post(
            "/v1/auth/password",
            json!({"change_token": change_token, "new_password": OTHER_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    srv.login(email, OTHER_PASSWORD).await;

    // Refusals: unknown account, weak password; neither prints the password.
    cli(
        &srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            "nobody@corp.example",
            "--password-stdin",
        ],
        Some(TEMP_PASSWORD),
    )
    .await
    .failed()
    .stderr_has("no account")
    .hides(TEMP_PASSWORD);
    cli(
        &srv,
        &[
            "user",
            "reset-password",
            "--identifier",
            email,
            "--password-stdin",
        ],
        Some("short1"),
    )
    .await
    .failed()
    .stderr_has("too_short")
    .hides("short1");
    srv.login(email, OTHER_PASSWORD).await;
}

async fn maintenance_on_and_off(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "maint@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let session = srv.login(email, PASSWORD).await;
    let message = "系统维护 Database upgrade";
    let until = "2030-01-01T00:00:00Z";
    cli(
        &srv,
        &["maintenance", "on", "--message", message, "--until", until],
        None,
    )
    .await
    .ok();
    // The server reads the switches at most a second after the CLI wrote them.
    srv.let_settings_expire();
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["until"], until, "{body}");
    let (status, body) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_error(status, &body, 503, "maintenance");
    // Clients can still learn why.
    let (status, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["maintenance"]["message"], message, "{meta}");
    assert_eq!(meta["maintenance"]["until"], until, "{meta}");

    // A bad --until or an empty message changes nothing.
    cli(
        &srv,
        &[
            "maintenance",
            "on",
            "--message",
            "x",
            "--until",
            "next tuesday",
        ],
        None,
    )
    .await
    .failed()
    .stderr_has("RFC 3339");
    cli(&srv, &["maintenance", "on", "--message", "  "], None)
        .await
        .failed();
    srv.let_settings_expire();
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], message, "{body}");

    // Without --until.
    cli(&srv, &["maintenance", "on", "--message", "Back soon"], None)
        .await
        .ok();
    srv.let_settings_expire();
    let (status, body) = srv.login_raw(email, PASSWORD).await;
    assert_error(status, &body, 503, "maintenance");
    assert_eq!(body["message"], "Back soon", "{body}");
    assert!(body.get("until").is_none_or(Value::is_null), "{body}");

    cli(&srv, &["maintenance", "off"], None).await.ok();
    srv.let_settings_expire();
    srv.login(email, PASSWORD).await;
    let (status, _) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert!(meta["maintenance"].is_null(), "{meta}");
    // Off twice is fine.
    cli(&srv, &["maintenance", "off"], None).await.ok();
}

async fn min_client_version(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    let email = "old.client@corp.example";
    add_user(&srv, email, PASSWORD).await.ok();
    let url = "https://example.invalid/dl";
    cli(
        &srv,
        &["min-client-version", "2.0.0", "--download-url", url],
        None,
    )
    .await
    .ok()
    .stdout_has("2.0.0");
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.0.0").await;
    assert_error(status, &body, 426, "client_outdated");
    assert_eq!(body["min_version"], "2.0.0", "{body}");
    assert_eq!(body["download_url"], url, "{body}");
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.99.99").await;
    assert_error(status, &body, 426, "client_outdated");
    let (status, body) = login_with_version(&srv, email, PASSWORD, "2.0.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["min_client_version"], "2.0.0", "{meta}");

    // A download link the app would open must be https (issue 13).
    for bad in [
        "http://dl.corp.cn/latchkey.exe",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "nonsense",
    ] {
        cli(
            &srv,
            &["min-client-version", "2.0.0", "--download-url", bad],
            None,
        )
        .await
        .failed()
        .stderr_has("https://");
    }
    cli(
        &srv,
        &[
            "min-client-version",
            "2.0.0",
            "--download-url",
            "http://127.0.0.1:8080/dl",
        ],
        None,
    )
    .await
    .ok();

    // Bad versions and a missing version are refused and change nothing.
    cli(&srv, &["min-client-version", "two"], None)
        .await
        .failed()
        .stderr_has("version");
    cli(&srv, &["min-client-version", "1.2.3.4"], None)
        .await
        .failed();
    cli(&srv, &["min-client-version"], None)
        .await
        .failed()
        .stderr_has("--clear");
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.0.0").await;
    assert_error(status, &body, 426, "client_outdated");

    cli(&srv, &["min-client-version", "--clear"], None)
        .await
        .ok();
    srv.let_settings_expire();
    let (status, body) = login_with_version(&srv, email, PASSWORD, "1.0.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    let (_, meta) = srv.call(reqwest::Method::GET, "/v1/meta", None, None).await;
    assert!(meta["min_client_version"].is_null(), "{meta}");
}

async fn migrate_and_demo(b: Backend) {
    let Some(srv) = TestServer::bare(b).await else {
        return;
    };
    cli(&srv, &["migrate"], None).await.ok();
    cli(&srv, &["migrate"], None).await.ok();
    for round in 0..2 {
        let run = cli(&srv, &["demo"], None).await;
        run.ok().stdout_has(DEMO_EMAIL).stdout_has(DEMO_PASSWORD);
        let session = srv.login(DEMO_EMAIL, DEMO_PASSWORD).await;
        assert_eq!(
            session.user.email.as_deref(),
            Some(DEMO_EMAIL),
            "round {round}"
        );
        srv.login(DEMO_USERNAME, DEMO_PASSWORD).await;
        srv.login(DEMO_PHONE, DEMO_PASSWORD).await;
        if round == 0 {
            // Break the demo account every way; `demo` again restores it.
            cli(&srv, &["user", "disable", "--identifier", DEMO_EMAIL], None)
                .await
                .ok();
            let (status, body) = srv.login_raw(DEMO_EMAIL, DEMO_PASSWORD).await;
            assert_error(status, &body, 403, "account_disabled");
            for _ in 0..5 {
                srv.login_raw(DEMO_EMAIL, "Wrong-password-entirely-1").await;
            }
        }
    }
    let list = cli(&srv, &["user", "list"], None).await;
    list.ok();
    assert_eq!(list.stdout.matches(DEMO_EMAIL).count(), 1, "{list:#?}");
}
