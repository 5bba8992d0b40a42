//! Locks, refresh tokens, maintenance and the throttle, shared by two processes.

use std::time::Duration;

use latchkey_testkit::api::{OTHER_PASSWORD, PASSWORD};
use latchkey_testkit::Backend;
use reqwest::StatusCode;
use serde_json::json;

use super::{admin, code, settings_reach_both, spawn_server, Client};

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
         # Device codes are tested in devices.rs; here the password is enough.\n\
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
    // at A at once is a retry (the grace period: the same successor), and once the
    // successor was used, a reuse, which ends the session everywhere.
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
    assert_eq!(
        status,
        StatusCode::OK,
        "a retry at the other process: {body}"
    );
    assert_eq!(body["refresh_token"], rotated["refresh_token"]);
    assert_eq!(body["access_token"], rotated["access_token"]);
    let (status, newer) = c
        .post(
            &a,
            "/v1/auth/refresh",
            "10.3.0.1",
            json!({"refresh_token": rotated["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{newer}");
    let (status, body) = c
        .post(
            &b,
            "/v1/auth/refresh",
            "10.3.0.1",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "refresh_token_reused", "{body}");
    for server in [&a, &b] {
        let (status, body) = c
            .get(server, "/v1/me", newer["access_token"].as_str())
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
