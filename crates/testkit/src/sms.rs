//! A real HTTP receiver for the SMS webhook: a tiny axum app on 127.0.0.1:0 that keeps
//! every JSON body it is sent and answers with a status the test chooses.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::Value;
use tokio::sync::Notify;

/// One request the gateway received.
#[derive(Clone, Debug)]
pub struct Sms {
    pub body: Value,
    pub idempotency_key: Option<String>,
    /// The status it was answered with.
    pub status: u16,
}

impl Sms {
    pub fn code(&self) -> Option<String> {
        crate::smtp::six_digits(self.body["text"].as_str().unwrap_or_default())
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Sms>>,
    status: AtomicU16,
    arrived: Notify,
}

pub struct SmsGateway {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmsGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let status = shared.status.load(Ordering::SeqCst);
    let sms = Sms {
        body,
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        status,
    };
    shared.received.lock().expect("gateway").push(sms);
    shared.arrived.notify_waiters();
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl SmsGateway {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            status: AtomicU16::new(200),
            ..Shared::default()
        });
        let app = axum::Router::new()
            .route("/sms/send", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let url = format!(
            "http://{}/sms/send?key=gw-secret",
            listener.local_addr().expect("addr")
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// The status the next requests are answered with.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far, answered successfully or not.
    pub fn requests(&self) -> Vec<Sms> {
        self.shared.received.lock().expect("gateway").clone()
    }

    /// The requests answered with a 2xx.
    pub fn delivered(&self) -> Vec<Sms> {
        self.requests()
            .into_iter()
            .filter(|s| (200..300).contains(&s.status))
            .collect()
    }

    /// Waits until at least `n` requests arrived (at most 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Sms> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} SMS requests, got {}", self.requests().len());
            }
        }
    }
}
