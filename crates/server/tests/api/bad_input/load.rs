//! Load: a saturated password hasher refuses with `rate_limited` and a `Retry-After`,
//! then recovers.

use std::time::Duration;

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::header::RETRY_AFTER;
use serde_json::json;

use super::send;

on_both!(hash_queue_saturation,);

async fn hash_queue_saturation(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.argon2.max_concurrent = 1;
        c.argon2.queue = 0;
    })
    .await
    else {
        return;
    };
    let email = "busy.user@corp.example";
    srv.add_user(email, PASSWORD).await;
    let body = json!({
        "identifier": email,
        "password": PASSWORD,
        "device": {"id": "dev-1", "name": "dev-1 name", "platform": "linux"},
        "client_version": "1.0.0",
    });
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let req = srv.http.post(srv.url("/v1/auth/login")).json(&body);
        tasks.push(tokio::spawn(send(req)));
    }
    let mut limited = 0;
    let mut ok = 0;
    for t in tasks {
        let a = t.await.expect("task");
        match a.status.as_u16() {
            200 => {
                assert_eq!(a.json()["status"], "ok", "{}", a.text);
                ok += 1;
            }
            429 => {
                let e = a.error(429, "rate_limited");
                let retry = e.retry_after.expect("retry_after");
                assert!(retry >= 1, "{}", a.text);
                let header = a
                    .headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .expect("Retry-After header");
                assert_eq!(header, retry);
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", a.text),
        }
    }
    assert!(
        limited >= 1,
        "no login was refused with rate_limited ({ok} ok)"
    );
    assert!(ok >= 1, "every login was refused");
    // Saturation is not a failure: no lock, and a single sign-in succeeds at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    srv.login(email, PASSWORD).await;
}
