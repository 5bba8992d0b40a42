//! SIGTERM during a burst of sign-ins, on a real server process: `/readyz` answers
//! `503` (`shutdown`) while the port stays open for `shutdown.delay_seconds`, then the
//! port closes, the sign-ins in flight are answered, and the process exits 0. Every
//! request gets a whole answer or a refused connection — nothing else — and every
//! sign-in the server recorded was answered in full (the activity rows equal the
//! answers).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use serde_json::{json, Value};

use super::super::multi_process::spawn_server_with;
use super::{add_user, signal, write_config};

on_both!(sigterm_answers_every_request_in_flight);

/// Clients signing in at once, each on a new connection for every request.
const CLIENTS: usize = 8;

/// What one request got.
#[derive(Debug)]
enum Outcome {
    /// A whole answer: status and a JSON body read to its end.
    Answered(u16),
    /// The connection was refused (the port was closed).
    Refused,
    /// Anything else: a reset, a cut answer, a timeout.
    Broken(String),
}

async fn sign_in(http: &reqwest::Client, base: &str, email: &str, device: &str) -> Outcome {
    let body = json!({
        "identifier": email,
        "password": PASSWORD,
        "device": {"id": device, "name": "burst", "platform": "linux"},
    });
    match http
        .post(format!("{base}/v1/auth/login"))
        .json(&body)
        .send()
        .await
    {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.json::<Value>().await {
                Ok(_) => Outcome::Answered(status),
                Err(e) => Outcome::Broken(format!("body of a {status}: {e:?}")),
            }
        }
        Err(e) if e.is_connect() => Outcome::Refused,
        Err(e) => Outcome::Broken(format!("{e:?}")),
    }
}

async fn sigterm_answers_every_request_in_flight(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(database) = latchkey_testkit::database(backend, &dir).await else {
        return;
    };
    let url = database.url.clone();
    let config = write_config(
        dir.path(),
        // One account for every client: tries in flight at once must not hit the
        // lockout's concurrency limit.
        "[devices]\nverify_new = false\n\n[lockout]\nthreshold = 1000\n\n\
         [shutdown]\ndelay_seconds = 1\ntimeout_seconds = 20\n",
    );
    let email = "burst@corp.example";
    add_user(&url, &config, email).await;
    let (u, c, d) = (url.clone(), config.clone(), dir.path().to_owned());
    let mut server = tokio::task::spawn_blocking(move || {
        spawn_server_with("burst", &u, &c, &d, &[("LATCHKEY_LOG", "info")])
    })
    .await
    .expect("start");
    let base = server.base.clone();

    // No connection is kept: each request connects anew, as the burst of many
    // clients does, so that requests arrive at every moment of the shutdown.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let refused = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (http, base, outcomes, refused) = (
            http.clone(),
            base.clone(),
            outcomes.clone(),
            refused.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let device = format!("burst-{i}");
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                let outcome = sign_in(&http, &base, email, &device).await;
                let done = matches!(outcome, Outcome::Refused);
                outcomes.lock().expect("lock").push(outcome);
                if done {
                    refused.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answered_before = outcomes.lock().expect("lock").len();
    assert!(
        answered_before > 0,
        "no sign-in was answered before SIGTERM"
    );

    let term = Instant::now();
    signal(server.child.id(), "TERM");
    // While the port is open, readiness says the process is going away.
    let mut draining_seen = false;
    while term.elapsed() < Duration::from_millis(900) {
        match http.get(format!("{base}/readyz")).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or_default();
                if status == 503 {
                    assert_eq!(body["failing"], json!(["shutdown"]), "{body}");
                    draining_seen = true;
                }
            }
            Err(e) => panic!("/readyz failed during the shutdown delay: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(draining_seen, "/readyz never answered 503 after SIGTERM");

    for t in tasks {
        t.await.expect("client task");
    }
    assert!(refused.load(Ordering::Relaxed), "the port never closed");
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().expect("wait");
        (status, server)
    })
    .await
    .expect("wait");
    let (status, server) = status;
    assert!(
        status.success(),
        "exit status {status}: {}",
        server.log_text()
    );
    assert!(
        term.elapsed() < Duration::from_secs(15),
        "the process took {:?} to exit",
        term.elapsed()
    );

    let outcomes = std::mem::take(&mut *outcomes.lock().expect("lock"));
    let broken: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Broken(e) => Some(e),
            _ => None,
        })
        .collect();
    assert!(
        broken.is_empty(),
        "requests broken by the shutdown: {broken:?}"
    );
    let ok = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Answered(200)))
        .count();
    let other: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Answered(s) if *s != 200))
        .collect();
    assert!(other.is_empty(), "{other:?}");
    assert!(
        ok > answered_before,
        "no sign-in was answered after SIGTERM"
    );
    // Every sign-in the server did was answered in full.
    let db = latchkey_server::db::connect(&url).await.expect("connect");
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM activity WHERE kind = 'login' AND result = 'ok'")
            .fetch_one(&db)
            .await
            .expect("count");
    db.close().await;
    assert_eq!(
        usize::try_from(recorded).expect("count"),
        ok,
        "sign-ins recorded vs answered"
    );
    let log = server.log_text();
    assert!(log.contains("draining"), "{log}");
    drop(database);
}
