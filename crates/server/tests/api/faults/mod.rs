//! The server's own faults (issue 21, item 4): a server process killed under load, the
//! PostgreSQL server restarted under load, SQLite's disk full. What was answered is
//! kept; what could not be done is a `503 server_unavailable` with `Retry-After`, never
//! a `500`; and the server comes back by itself.

mod crash;
mod disk_full;
mod pages;
mod postgres_restart;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// One answer seen by a load task.
#[derive(Debug)]
struct Answer {
    /// When the request was sent, from the start of the load.
    sent: Duration,
    /// When its answer (or its failure) came.
    done: Duration,
    /// `None`: no HTTP answer (the connection failed).
    status: Option<u16>,
    code: String,
    retry_after: Option<String>,
}

/// POSTs `body` to `base` + `path`; the answer, or its failure, timed from `start`.
async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
    start: Instant,
) -> (Answer, Value) {
    let sent = start.elapsed();
    let result = http.post(format!("{base}{path}")).json(body).send().await;
    let (status, retry_after, value) = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let value = resp.json::<Value>().await.unwrap_or(Value::Null);
            (Some(status), retry_after, value)
        }
        Err(_) => (None, None, Value::Null),
    };
    let answer = Answer {
        sent,
        done: start.elapsed(),
        status,
        code: value["code"].as_str().unwrap_or_default().to_owned(),
        retry_after,
    };
    (answer, value)
}

fn login_body(email: &str, password: &str, device: &str) -> Value {
    json!({
        "identifier": email,
        "password": password,
        "device": {"id": device, "name": "fault test", "platform": "linux"},
        "client_version": "1.0.0",
    })
}
