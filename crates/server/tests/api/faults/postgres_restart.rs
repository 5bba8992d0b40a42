//! PostgreSQL restarted under load (a private server of this test's own, not the
//! shared one): the requests it breaks are answered `503 server_unavailable` with
//! `Retry-After`, never `500`; the pool reconnects by itself; within 5 s of the database
//! accepting connections again every answer is normal; and a client that sends a
//! refresh again after a 503, as the app does, is never signed out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::postgres::PrivatePostgres;
use latchkey_testkit::TestServer;
use serde_json::json;

use super::{login_body, post, Answer};

/// Sessions refreshed in a loop, each by its own task, beside one task signing in.
const REFRESHERS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_is_a_503_then_normal_within_5_s() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .expect("start postgres")
    else {
        return;
    };
    let srv = TestServer::bare_over(&pg.url(), |_| {}).await;
    let email = "restart@corp.example";
    srv.add_user(email, PASSWORD).await;
    let mut tokens = Vec::new();
    for i in 0..REFRESHERS {
        let (status, body) = srv.login_device(email, PASSWORD, &format!("dev-{i}")).await;
        assert_eq!(status, 200, "{body}");
        let token = body["session"]["refresh_token"]
            .as_str()
            .expect("refresh token");
        tokens.push(token.to_owned());
    }

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let base = srv.base();
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let answers: Arc<Mutex<Vec<(&'static str, Answer)>>> = Arc::default();
    let mut tasks = Vec::new();
    for mut token in tokens {
        let (http, base, stop, answers) =
            (http.clone(), base.clone(), stop.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let body = json!({ "refresh_token": token });
                let (answer, value) = post(&http, &base, "/v1/auth/refresh", &body, start).await;
                if answer.status == Some(200) {
                    token = value["refresh_token"].as_str().expect("token").to_owned();
                } else {
                    // As the app does: the same token again after a pause.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                answers.lock().expect("lock").push(("refresh", answer));
            }
        }));
    }
    {
        let (http, base, stop, answers) =
            (http.clone(), base.clone(), stop.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let body = login_body(email, PASSWORD, "dev-0");
                let (answer, _) = post(&http, &base, "/v1/auth/login", &body, start).await;
                answers.lock().expect("lock").push(("login", answer));
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarting = start.elapsed();
    let (pg, down) = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        let down = pg.restart();
        (pg, down)
    })
    .await
    .expect("restart");
    let ready = start.elapsed();
    tokio::time::sleep(Duration::from_secs(7)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("load task");
    }
    drop(srv);
    drop(pg);

    let answers = std::mem::take(&mut *answers.lock().expect("lock"));
    let unavailable: Vec<_> = answers
        .iter()
        .filter(|(_, a)| a.status == Some(503))
        .collect();
    let wrong: Vec<_> = answers
        .iter()
        .filter(|(_, a)| !matches!(a.status, Some(200 | 503)))
        .collect();
    let last_abnormal = answers
        .iter()
        .filter(|(_, a)| a.status != Some(200))
        .map(|(_, a)| a.done)
        .max();
    let normal_after = last_abnormal.map_or(Duration::ZERO, |t| t.saturating_sub(ready));
    eprintln!(
        "{} answers; restart began at {restarting:?}, the database was down {down:?} and \
         accepted connections at {ready:?}; {} answered 503; the last abnormal answer \
         came {normal_after:?} after that",
        answers.len(),
        unavailable.len()
    );
    assert!(
        wrong.is_empty(),
        "answers other than 200 and 503: {wrong:?}"
    );
    assert!(
        !unavailable.is_empty(),
        "the restart broke no request: nothing was tested"
    );
    for (what, a) in &unavailable {
        assert_eq!(a.code, "server_unavailable", "{what}: {a:?}");
        assert!(
            a.retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().is_ok()),
            "{what}: no Retry-After: {a:?}"
        );
    }
    assert!(
        normal_after <= Duration::from_secs(5),
        "abnormal answers went on {normal_after:?} after the database was back"
    );
    let late = answers
        .iter()
        .filter(|(_, a)| a.sent > ready + Duration::from_secs(5))
        .count();
    assert!(
        late >= 10,
        "too few requests after the restart ({late}) to tell"
    );
}
