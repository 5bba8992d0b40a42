//! The keychain goes away during a session (issue 21, item 5): the Secret Service
//! stops, and the one D-Bus starts in its place has the keyring locked. The app keeps
//! the session in memory, says it cannot remember this device right now, writes the
//! new refresh token nowhere else, and remembers again — the current token — once the
//! keychain is back.
//!
//! Stopping a Secret Service would break the other keychain tests running beside this
//! one, so the app runs as a child process (this test binary again) inside a D-Bus
//! session and gnome-keyring of its own (`scripts/with-keyring.sh`), and stops and
//! brings back that daemon only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use latchkey_client::clock::SystemClock;
use latchkey_client::{Client, Options, Step};
use latchkey_testkit::{Backend, TestServer};

use super::common::*;

const CHILD_SERVER: &str = "LATCHKEY_TEST_KEYCHAIN_CHILD_SERVER";
const EMAIL: &str = "keychain-loss@corp.cn";
/// Access tokens this short are refreshed at every call a second after the last one
/// (the app refreshes 30 s before the end): each call rotates the refresh token.
const ACCESS_TTL: u64 = 31;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keychain_going_away_keeps_the_session_and_remembers_again() {
    let tools = ["dbus-run-session", "dbus-send", "gnome-keyring-daemon"];
    if !tools.iter().all(|t| on_path(t)) {
        assert!(
            std::env::var_os("LATCHKEY_TEST_REQUIRE_KEYRING").is_none(),
            "LATCHKEY_TEST_REQUIRE_KEYRING is set but {tools:?} are not all installed"
        );
        eprintln!("skipping the keychain-loss test: no dbus-run-session or gnome-keyring");
        return;
    }
    // The grace period off: a stale refresh token in the keychain would end the session
    // at the relaunch, instead of being forgiven.
    let Some(srv) = TestServer::bare_with(Backend::Sqlite, |c| {
        c.sessions.access_ttl_seconds = ACCESS_TTL;
        c.sessions.refresh_grace_seconds = 0;
    })
    .await
    else {
        return;
    };
    srv.add_user(EMAIL, PASSWORD).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/with-keyring.sh");
    let out = tokio::process::Command::new(script)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "client::keychain_loss::child", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_SERVER, srv.base())
        .env("LATCHKEY_TEST_REQUIRE_KEYRING", "1")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child did not run: {text}");
}

/// The app with a keychain of its own: see the test above. Does nothing when not
/// started by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a D-Bus session of its own by the_keychain_going_away_keeps_the_session_and_remembers_again"]
async fn child() {
    let Ok(server) = std::env::var(CHILD_SERVER) else {
        return;
    };
    log_dir();
    let store = keyring().expect("the child's own keychain");
    let dir = tempfile::tempdir().unwrap();
    let app = |store: &latchkey_client::vault::KeyringStore| {
        Client::new(Options {
            dirs: latchkey_client::dirs::AppDirs::under(dir.path()),
            store: Arc::new(store.clone()),
            clock: Arc::new(SystemClock),
            timeouts: latchkey_client::api::Timeouts::default(),
            client_version: "1.0.0".into(),
            server_env: Some(server.clone()),
            exe_dir: None,
            managed: Default::default(),
        })
        .unwrap()
    };
    let mut client = app(&store);
    client.start().await;
    client.identify(EMAIL).await.unwrap();
    let step = client.sign_in(secret(PASSWORD), true).await.unwrap();
    let step = if step == Step::TotpOffer {
        client.skip_totp().unwrap()
    } else {
        step
    };
    assert!(
        matches!(
            step,
            Step::SignedIn {
                remembered: true,
                cannot_remember: false,
                ..
            }
        ),
        "{step:?}"
    );

    // The Secret Service stops; the next call rotates the refresh token.
    stop_secret_service();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    client.profile().await.unwrap();
    assert!(
        matches!(
            client.step(),
            Step::SignedIn {
                offline: false,
                remembered: true,
                cannot_remember: true,
                ..
            }
        ),
        "{:?}",
        client.step()
    );
    // Nothing went to a file instead.
    assert!(
        !tree_contains(dir.path(), "lkr_"),
        "a refresh token was written to a file"
    );

    // The keychain is back: the next call stores the current token.
    start_secret_service();
    client.profile().await.unwrap();
    assert!(
        matches!(
            client.step(),
            Step::SignedIn {
                cannot_remember: false,
                ..
            }
        ),
        "{:?}",
        client.step()
    );
    // A relaunch signs in with it (an older token would be a reuse: no grace period).
    drop(client);
    let mut relaunched = app(&store);
    let step = relaunched.start().await;
    assert!(
        matches!(step, Step::SignedIn { offline: false, .. }),
        "{step:?}"
    );
}

/// Stops the Secret Service of this D-Bus session (the process that owns its name).
fn stop_secret_service() {
    let out = Command::new("dbus-send")
        .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus"])
        .args([
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
        ])
        .arg("string:org.freedesktop.secrets")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pid = text
        .split_whitespace()
        .skip_while(|w| *w != "uint32")
        .nth(1)
        .unwrap_or_else(|| panic!("no Secret Service on this bus: {text}"));
    let status = Command::new("kill").arg(pid).status().unwrap();
    assert!(status.success(), "kill {pid}");
    // Until its name is free, a call could still reach the dying daemon.
    for _ in 0..100 {
        if !secret_service_owned() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the Secret Service did not stop");
}

/// Starts the Secret Service again, its keyring unlocked (as `scripts/with-keyring.sh`
/// did), in place of any the bus started meanwhile.
fn start_secret_service() {
    let mut daemon = Command::new("gnome-keyring-daemon")
        .args(["--replace", "--unlock", "--components=secrets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    daemon
        .stdin
        .take()
        .unwrap()
        .write_all(b"latchkey-test\n")
        .unwrap();
    daemon.wait().unwrap();
    for _ in 0..100 {
        if secret_service_owned() && keyring_answers() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the Secret Service did not come back");
}

fn secret_service_owned() -> bool {
    Command::new("dbus-send")
        .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus"])
        .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
        .arg("string:org.freedesktop.secrets")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
}

fn keyring_answers() -> bool {
    latchkey_client::vault::KeyringStore::new("latchkey-test-probe")
        .probe()
        .is_ok()
}

fn tree_contains(dir: &Path, needle: &str) -> bool {
    let mut stack: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap().flatten() {
                stack.push(entry.path());
            }
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
        {
            return true;
        }
    }
    false
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
}
