//! Running the server in production (issue 22): `/healthz` and `/readyz` and what they
//! follow (a stopped PostgreSQL, a missing migration, keys that do not open, draining);
//! SIGTERM under a burst of sign-ins; `/metrics` scraped by a real Prometheus; the
//! JSON log of a sign-in journey; the container image.
//!
//! The tests of a server process use `multi_process`'s harness; this module holds what
//! they share.

mod container;
mod logs;
mod metrics;
mod readiness;
mod shutdown;

use std::path::{Path, PathBuf};
use std::process::Command;

use latchkey_testkit::api::PASSWORD;

use super::multi_process::admin;

/// A free port on loopback (for an address that must be given, such as the metrics
/// listener's).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The folder's configuration file: no new-device codes unless asked, messages to the
/// folder's outbox, and `extra` (TOML) after that.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = dir.join("latchkey.toml");
    let outbox = dir.join("outbox");
    std::fs::write(
        &config,
        format!(
            "[delivery]\noutbox_dir = {:?}\n\n{extra}\n",
            outbox.display().to_string()
        ),
    )
    .expect("config");
    config
}

/// `user add` through the command line, with the harness's password.
async fn add_user(url: &str, config: &Path, email: &'static str) {
    let (u, c) = (url.to_owned(), config.to_owned());
    tokio::task::spawn_blocking(move || {
        admin(
            &u,
            &c,
            &["user", "add", "--email", email, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        )
    })
    .await
    .expect("user add");
}

/// Sends `signal` (`TERM`, `KILL`, …) to a process.
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Whether `program` is on the PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
