//! Bursts split across two processes still get no more than the limit (issue 13).

use std::time::Duration;

use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::Backend;
use reqwest::StatusCode;
use serde_json::json;

use super::{admin, code, spawn_server, Client};

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
