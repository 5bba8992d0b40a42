//! A server process killed (`SIGKILL`, as `kill -9` or the out-of-memory killer does)
//! while it rotates refresh tokens and signs people in: after a restart on the same
//! database, every rotation and every sign-in it answered before it died is there —
//! the last refresh token each client was given still refreshes. On SQLite this rests
//! on WAL with `synchronous = NORMAL` (a commit is in the WAL file, in the operating
//! system's hands, before the answer goes out: a process crash cannot lose it; a power
//! cut may lose the last commits, which `docs/reliability.md` says); on PostgreSQL on
//! its own commit. The file is checked whole afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use serde_json::json;

use super::super::multi_process::{admin, spawn_server};
use super::{login_body, post};

on_both!(every_answered_rotation_and_sign_in_survives_a_kill);

/// Sessions refreshed in a loop, each by its own task, beside one task signing in.
const REFRESHERS: usize = 4;

async fn every_answered_rotation_and_sign_in_survives_a_kill(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(backend, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    let outbox = dir.path().join("outbox");
    std::fs::write(
        &config,
        format!(
            "[devices]\nverify_new = false\n\n[delivery]\noutbox_dir = {:?}\n",
            outbox.display().to_string()
        ),
    )
    .expect("config");
    let (u, c, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let first = tokio::task::spawn_blocking(move || spawn_server("first", &u, &c, &d))
        .await
        .expect("start");
    let email = "crash@corp.example";
    let (u, c) = (url.clone(), config.clone());
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

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let base = first.base.clone();
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    // The last refresh token each client was given, and how many it was given.
    let given: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..REFRESHERS {
        let (http, base, stop, given) = (http.clone(), base.clone(), stop.clone(), given.clone());
        tasks.push(tokio::spawn(async move {
            let body = login_body(email, PASSWORD, &format!("dev-{i}"));
            let (answer, value) = post(&http, &base, "/v1/auth/login", &body, start).await;
            assert_eq!(answer.status, Some(200), "{value}");
            let mut token = value["session"]["refresh_token"]
                .as_str()
                .expect("token")
                .to_owned();
            let mut rotations = 0;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({ "refresh_token": token });
                let (answer, value) = post(&http, &base, "/v1/auth/refresh", &body, start).await;
                match answer.status {
                    Some(200) => {
                        token = value["refresh_token"].as_str().expect("token").to_owned();
                        rotations += 1;
                    }
                    // The server died with the request: its answer is unknown.
                    None => break,
                    _ => panic!("refresh answered {answer:?}: {value}"),
                }
            }
            given.lock().expect("lock").push((token, rotations));
        }));
    }
    {
        let (http, base, stop, given) = (http.clone(), base.clone(), stop.clone(), given.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = login_body(email, PASSWORD, &format!("dev-sign-in-{n}"));
                let (answer, value) = post(&http, &base, "/v1/auth/login", &body, start).await;
                match answer.status {
                    Some(200) => {
                        let token = value["session"]["refresh_token"].as_str().expect("token");
                        given.lock().expect("lock").push((token.to_owned(), 0));
                    }
                    None => break,
                    _ => panic!("sign-in answered {answer:?}: {value}"),
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut first = first;
    first.child.kill().expect("SIGKILL the server");
    let _ = first.child.wait();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("load task");
    }
    drop(first);

    let (u, c, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let second = tokio::task::spawn_blocking(move || spawn_server("second", &u, &c, &d))
        .await
        .expect("restart");
    let given = std::mem::take(&mut *given.lock().expect("lock"));
    let rotations: usize = given.iter().map(|(_, n)| n).sum();
    let sign_ins = given.len().saturating_sub(REFRESHERS);
    eprintln!(
        "{backend:?}: {rotations} rotations and {sign_ins} more sign-ins answered before the kill"
    );
    assert!(rotations >= 10 && sign_ins >= 1, "too little load to tell");
    for (token, n) in &given {
        let body = json!({ "refresh_token": token });
        let (answer, value) = post(&http, &second.base, "/v1/auth/refresh", &body, start).await;
        assert_eq!(
            answer.status,
            Some(200),
            "the token given after {n} rotations is lost: {value}"
        );
    }
    drop(second);

    if backend == Backend::Sqlite {
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
    drop(database);
}
