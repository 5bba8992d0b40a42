//! Load: a saturated password hasher refuses with `server_busy` and a `Retry-After` —
//! at once, before anything is counted — and the server serves normally afterwards
//! (issue 20: overload that degrades gracefully).

use std::time::Duration;

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend, TestServer};
use reqwest::header::RETRY_AFTER;
use serde_json::{json, Value};

use super::{send, Answer};

on_both!(
    hash_queue_saturation,
    a_burst_far_above_capacity_gets_answers_and_nothing_is_counted,
);

fn login_body(email: &str) -> Value {
    json!({
        "identifier": email,
        "password": PASSWORD,
        "device": {"id": "dev-1", "name": "dev-1 name", "platform": "linux"},
        "client_version": "1.0.0",
    })
}

/// Asserts a `server_busy` answer: 429, the code, and a `Retry-After` header equal to
/// the body's `retry_after`, at least a second.
fn assert_busy(a: &Answer) -> u64 {
    let e = a.error(429, "server_busy");
    let retry = e.retry_after.expect("retry_after");
    assert!(retry >= 1, "{}", a.text);
    let header = a
        .headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("Retry-After header");
    assert_eq!(header, retry);
    retry
}

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
    let body = login_body(email);
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
                assert_busy(&a);
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", a.text),
        }
    }
    assert!(
        limited >= 1,
        "no login was refused with server_busy ({ok} ok)"
    );
    assert!(ok >= 1, "every login was refused");
    // Saturation is not a failure: no lock, and a single sign-in succeeds at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    srv.login(email, PASSWORD).await;
}

/// People in a burst: far more than one hashing slot serves within the bound.
const BURST: usize = 48;

/// A Monday-morning burst: 48 people sign in at the same moment on a server with one
/// hashing slot that admits a predicted wait of at most 200 ms (a few hashes). Every
/// request gets an answer — a session or `server_busy` with `Retry-After`, no timeout,
/// no other error — and the refused ones left nothing behind: each of those people
/// then signs in at once, and their activity shows that one sign-in only (a refused
/// try is neither counted against the lockout nor recorded).
async fn a_burst_far_above_capacity_gets_answers_and_nothing_is_counted(b: Backend) {
    let Some(srv) = TestServer::bare_with(b, |c| {
        c.argon2.max_concurrent = 1;
        c.argon2.max_wait_ms = 200;
        c.lockout.address_limit = 0;
    })
    .await
    else {
        return;
    };
    let emails: Vec<String> = (0..BURST)
        .map(|i| format!("rush.{i}@corp.example"))
        .collect();
    for email in &emails {
        srv.add_user(email, PASSWORD).await;
    }
    let tasks: Vec<_> = emails
        .iter()
        .map(|email| {
            let req = srv
                .http
                .post(srv.url("/v1/auth/login"))
                .json(&login_body(email));
            tokio::spawn(send(req))
        })
        .collect();
    let mut refused = Vec::new();
    let mut served = 0;
    for (t, email) in tasks.into_iter().zip(&emails) {
        // `send` fails the test on a request that gets no answer in time.
        let a = t.await.expect("task");
        match a.status.as_u16() {
            200 => {
                assert_eq!(a.json()["status"], "ok", "{}", a.text);
                served += 1;
            }
            429 => {
                assert_busy(&a);
                refused.push(email.clone());
            }
            other => panic!("unexpected {other} for {email}: {}", a.text),
        }
    }
    assert!(
        !refused.is_empty(),
        "a burst of {BURST} on one hashing slot was all admitted"
    );
    assert!(served >= 1, "every sign-in of the burst was refused");
    // After the burst the server serves normally: everyone refused signs in now, and
    // the refused try is nowhere in their activity.
    for email in &refused {
        let session = srv.login(email, PASSWORD).await;
        let (status, activity) = srv
            .get("/v1/me/activity", session.access_token.expose())
            .await;
        assert_eq!(status.as_u16(), 200, "{activity}");
        let logins: Vec<&Value> = activity["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["kind"] == "login")
            .collect();
        assert_eq!(logins.len(), 1, "{email}: {activity}");
        assert_eq!(logins[0]["result"], "ok", "{email}: {activity}");
    }
}
