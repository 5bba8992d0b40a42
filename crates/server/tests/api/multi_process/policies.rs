//! Policies set in the console (issue 18) reach two real server processes on one
//! PostgreSQL without a restart, and a key the configuration file sets keeps the file's
//! value there.

use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::Backend;
use reqwest::StatusCode;
use serde_json::json;

use super::{admin, spawn_server, Client, ServerProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_apply_the_consoles_policies_and_the_file_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(Backend::Postgres, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        "trust_forwarded_for = true\n\n[devices]\nverify_new = false\n\n[lockout]\nthreshold = 7\n",
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
                "fu@corp.example",
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

    // The console's store, as the admin API writes it.
    let pool = latchkey_server::db::connect(&url).await.expect("a pool");
    latchkey_server::settings::set_policy(
        &pool,
        Some(&json!({"password.min_length": 14, "lockout.threshold": 2}).to_string()),
    )
    .await
    .expect("store policies");

    // Both processes, within a second or two, with no restart.
    for server in [&a, &b] {
        wait_for_min_length(&c, server, 14).await;
    }
    // The file's lockout threshold (7) wins over the console's 2: the second and third
    // wrong passwords on B are still judged.
    for _ in 0..3 {
        let (s, body) = c
            .post(
                &b,
                "/v1/auth/login",
                "203.0.113.9",
                json!({"identifier": "fu@corp.example", "password": "Wrong-password-3"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "invalid_credentials");
    }
}

async fn wait_for_min_length(c: &Client, server: &ServerProcess, wanted: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, meta) = c.get(server, "/v1/meta", None).await;
        assert_eq!(s, StatusCode::OK);
        if meta["password_policy"]["min_length"] == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "still {meta}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
