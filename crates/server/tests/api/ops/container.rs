//! The container image (`scripts/container-image.sh`: `FROM scratch`, the static server
//! binary, a non-root user, `/readyz` as its health check) run with podman: on SQLite
//! in a named volume, and on PostgreSQL; it answers `/readyz`, its health check
//! passes, its process is not root, an account added with the image's own command
//! line signs in, and `podman stop` (SIGTERM) ends it with status 0.
//!
//! Needs podman and the image's name in `LATCHKEY_TEST_IMAGE` (scripts/test.sh builds
//! it); skipped with a note without them, unless `LATCHKEY_TEST_REQUIRE_CONTAINER` is
//! set. The containers share the host's network (the test's PostgreSQL is on
//! loopback) and use runc when it is installed, with limits no higher than the
//! machine's own: on a machine without `CAP_SYS_RESOURCE` or with hybrid cgroups
//! (this project's), podman's defaults (crun, a raised `RLIMIT_NOFILE`) cannot start
//! a container.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use serde_json::{json, Value};

use super::{free_port, on_path};

on_both!(the_image_starts_answers_readyz_and_stops);

/// A container and its volume, removed when dropped.
struct Container {
    name: String,
    volume: Option<String>,
}

impl Drop for Container {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(out) = podman(&["logs", &self.name]) {
                eprintln!(
                    "--- container log ---\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // -v: also the anonymous volume of the image's `VOLUME /data`.
        let _ = podman(&["rm", "-f", "-v", &self.name]);
        if let Some(v) = &self.volume {
            let _ = podman(&["volume", "rm", "-f", v]);
        }
    }
}

fn podman(args: &[&str]) -> std::io::Result<Output> {
    Command::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args).expect("run podman");
    assert!(
        out.status.success(),
        "podman {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The image to test, or `None` to skip.
fn image() -> Option<String> {
    let required = std::env::var_os("LATCHKEY_TEST_REQUIRE_CONTAINER").is_some();
    let image = std::env::var("LATCHKEY_TEST_IMAGE").ok();
    let podman = on_path("podman");
    match (image, podman) {
        (Some(image), Some(_)) => Some(image),
        (image, podman) => {
            assert!(
                !required,
                "LATCHKEY_TEST_REQUIRE_CONTAINER is set, but {}",
                if podman.is_none() {
                    "podman is not installed"
                } else {
                    "LATCHKEY_TEST_IMAGE names no image (scripts/container-image.sh builds one)"
                }
            );
            eprintln!("skipping the container image: image {image:?}, podman {podman:?}");
            None
        }
    }
}

async fn the_image_starts_answers_readyz_and_stops(backend: Backend) {
    let Some(image) = image() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(backend, &dir).await else {
        return;
    };
    let port = free_port();
    let suffix = latchkey_server::tokens::new_id();
    let mut container = Container {
        name: format!("latchkey-test-{}", &suffix[..12]),
        volume: None,
    };
    let bind = format!("LATCHKEY_BIND=127.0.0.1:{port}");
    let mut args: Vec<String> = vec!["run".into(), "-d".into()];
    if on_path("runc").is_some() {
        args.splice(0..0, ["--runtime".to_owned(), "runc".to_owned()]);
    }
    args.extend(
        [
            "--name",
            &container.name,
            "--network",
            "host",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "-e",
            &bind,
            "-e",
            "LATCHKEY_VERIFY_NEW_DEVICES=false",
        ]
        .map(str::to_owned),
    );
    match backend {
        Backend::Sqlite => {
            let volume = format!("latchkey-test-{}", &suffix[..12]);
            podman_ok(&["volume", "create", &volume]);
            args.extend(["-v".to_owned(), format!("{volume}:/data")]);
            container.volume = Some(volume);
        }
        Backend::Postgres => {
            args.extend([
                "-e".to_owned(),
                format!("LATCHKEY_DATABASE_URL={}", database.url),
            ]);
        }
    }
    args.push(image.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    podman_ok(&args);

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(resp) = http.get(format!("{base}/readyz")).send().await {
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or_default();
            if status == 200 {
                assert_eq!(body["status"], "ready");
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the container never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The image's own health check (`latchkey-server health`, no shell in the image).
    podman_ok(&["healthcheck", "run", &container.name]);
    // Not root: the server's process on this machine.
    let pid = podman_ok(&["inspect", "--format", "{{.State.Pid}}", &container.name]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("uid");
    assert_ne!(uid, "0", "the server runs as root");

    // The image's command line reaches the same database.
    let mut add = Command::new("podman")
        .args([
            "exec",
            "-i",
            &container.name,
            "/latchkey-server",
            "user",
            "add",
            "--email",
            "container@corp.example",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podman exec");
    {
        use std::io::Write;
        let mut stdin = add.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .expect("password");
    }
    let out = add.wait_with_output().expect("user add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({
            "identifier": "container@corp.example",
            "password": PASSWORD,
            "device": {"id": "container-device", "name": "test", "platform": "linux"},
        }))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);

    podman_ok(&["stop", "-t", "20", &container.name]);
    let code = podman_ok(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}}",
        &container.name,
    ]);
    assert_eq!(code, "0", "exit code after SIGTERM");
    drop(container);
    drop(database);
}
