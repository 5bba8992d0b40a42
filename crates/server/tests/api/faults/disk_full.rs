//! SQLite's disk full: the database on a small filesystem this test makes (a 8 MiB
//! tmpfs, mounted as root; where mounting is not permitted — not root, or a container
//! without the capability — the test says so and is skipped). Filled up to the last
//! byte by another file, the server answers what it cannot write `503
//! server_unavailable` with `Retry-After` (never `500`), the database stays whole
//! (`PRAGMA integrity_check`), and once the other file is gone the same session goes
//! on and new sign-ins work, without a restart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::TestServer;
use serde_json::json;

use super::{login_body, post};

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a connection the server has not closed yet must not keep it mounted.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros to `path` until the filesystem has no byte left.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 4096];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = file.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_503_and_the_server_recovers_when_space_is_freed() {
    let disk = match SmallDisk::mount("8m") {
        Ok(disk) => disk,
        Err(e) => {
            eprintln!("skipping the disk-full test: cannot mount a small tmpfs here: {e}");
            return;
        }
    };
    let db_path = disk.path().join("latchkey.db");
    let url = format!("sqlite://{}", db_path.display());
    let srv = TestServer::bare_over(&url, |_| {}).await;
    let email = "full@corp.example";
    srv.add_user(email, PASSWORD).await;
    let session = srv.login(email, PASSWORD).await;
    let mut token = session.refresh_token.expose().to_owned();

    let filler: PathBuf = disk.path().join("filler");
    let filled = fill(&filler);
    eprintln!("filled the disk with {filled} bytes");

    // Refresh until a write fails: SQLite first reuses the room its files already have.
    let http = reqwest::Client::new();
    let base = srv.base();
    let start = Instant::now();
    let mut unavailable = 0;
    let mut tries = 0;
    while unavailable < 5 {
        tries += 1;
        assert!(tries < 5_000, "the disk never filled up");
        let body = json!({ "refresh_token": token });
        let (answer, value) = post(&http, &base, "/v1/auth/refresh", &body, start).await;
        match answer.status {
            Some(200) => {
                token = value["refresh_token"].as_str().expect("token").to_owned();
            }
            Some(503) => {
                assert_eq!(answer.code, "server_unavailable", "{value}");
                assert!(answer.retry_after.is_some(), "no Retry-After: {answer:?}");
                unavailable += 1;
            }
            _ => panic!("a full disk answered {answer:?}: {value}"),
        }
    }
    eprintln!("{tries} refreshes until 5 were refused");
    // Sign-ins meet the same full disk: each is written whole or refused the same way
    // (a failed write gives back the room it had taken, so some fit).
    for device in ["dev-2", "dev-3", "dev-4"] {
        let body = login_body(email, PASSWORD, device);
        let (answer, value) = post(&http, &base, "/v1/auth/login", &body, start).await;
        match answer.status {
            Some(200) => {}
            Some(503) => assert_eq!(answer.code, "server_unavailable", "{value}"),
            _ => panic!("a sign-in on a full disk answered {answer:?}: {value}"),
        }
    }

    // Room again: the same session goes on, without a restart.
    std::fs::remove_file(&filler).expect("free the disk");
    let freed = Instant::now();
    loop {
        let body = json!({ "refresh_token": token });
        let (answer, value) = post(&http, &base, "/v1/auth/refresh", &body, start).await;
        if answer.status == Some(200) {
            break;
        }
        assert_eq!(answer.status, Some(503), "{value}");
        assert!(
            freed.elapsed() < Duration::from_secs(5),
            "still refused 5 s after space was freed: {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("normal again {:?} after space was freed", freed.elapsed());
    let (answer, value) = post(
        &http,
        &base,
        "/v1/auth/login",
        &login_body(email, PASSWORD, "dev-5"),
        start,
    )
    .await;
    assert_eq!(answer.status, Some(200), "{value}");

    drop(srv);
    let db = latchkey_server::db::connect(&url)
        .await
        .expect("open the database");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
    db.close().await;
}
