//! Prometheus metrics (issue 22): the names, the recorder, and the `/metrics` listener.
//!
//! The code counts through the `metrics` facade (`counter!`, `histogram!`, `gauge!`);
//! `metrics-exporter-prometheus` keeps the values and renders the text format. Nothing
//! is recorded until a listener is configured (`LATCHKEY_METRICS_BIND`, `[metrics]
//! bind`): without a recorder the facade's calls do nothing. The recorder is one per
//! process (the facade's is global), so servers sharing a process — the tests' — share
//! their counts.
//!
//! No label carries an identifier, an address or anything a person typed: routes are
//! the matched templates (`/admin/v1/users/{id}`), methods and statuses come from small
//! fixed sets, channels and outcomes are the server's own words. `docs/operations.md`
//! lists every metric.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

pub const HTTP_REQUESTS: &str = "latchkey_http_requests_total";
pub const HTTP_DURATION: &str = "latchkey_http_request_duration_seconds";
pub const SIGN_INS: &str = "latchkey_sign_ins_total";
pub const SECOND_STEPS: &str = "latchkey_sign_in_second_steps_total";
pub const LOCKOUTS: &str = "latchkey_lockouts_total";
pub const HASH_RUNNING: &str = "latchkey_hash_running";
pub const HASH_WAITING: &str = "latchkey_hash_queue_depth";
pub const HASH_WAIT: &str = "latchkey_hash_queue_wait_seconds";
pub const HASH_REJECTED: &str = "latchkey_hash_rejected_total";
pub const MESSAGES_QUEUED: &str = "latchkey_messages_queued_total";
pub const MESSAGES_SENT: &str = "latchkey_messages_sent_total";
pub const MESSAGES_RETRIED: &str = "latchkey_messages_retried_total";
pub const MESSAGES_GIVEN_UP: &str = "latchkey_messages_given_up_total";
pub const MESSAGES_WAITING: &str = "latchkey_messages_waiting";
pub const DB_CONNECTIONS: &str = "latchkey_db_connections";
pub const DB_MAX_CONNECTIONS: &str = "latchkey_db_max_connections";
pub const REFRESH_ROTATIONS: &str = "latchkey_refresh_rotations_total";
pub const REFRESH_REUSE: &str = "latchkey_refresh_reuse_detected_total";
pub const READY: &str = "latchkey_ready";
pub const BUILD_INFO: &str = "latchkey_build_info";

/// Seconds: from a cached answer (milliseconds) to the hashing queue's timeout.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot set up the metrics recorder: {0}")]
    Recorder(String),
}

/// The process's recorder, installed on first use.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .map_err(|e| MetricsError::Recorder(e.to_string()))?
        .install_recorder()
        .map_err(|e| MetricsError::Recorder(e.to_string()))?;
    describe();
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Whether metrics are recorded in this process (to skip building labels otherwise).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route template"
    );
    describe_counter!(
        SIGN_INS,
        "Sign-ins with a password (API and browser pages), by outcome"
    );
    describe_counter!(
        SECOND_STEPS,
        "Second steps of a sign-in (second factor, device code), by step and outcome"
    );
    describe_counter!(
        LOCKOUTS,
        "Locks started after too many failures (identifier, account or device budget)"
    );
    describe_gauge!(HASH_RUNNING, "argon2 hashes running now");
    describe_gauge!(HASH_WAITING, "Requests waiting for a hashing slot now");
    describe_histogram!(
        HASH_WAIT,
        Unit::Seconds,
        "Time a request waited for a hashing slot"
    );
    describe_counter!(
        HASH_REJECTED,
        "Requests answered rate_limited because hashing was saturated"
    );
    describe_counter!(MESSAGES_QUEUED, "Messages queued, by channel");
    describe_counter!(MESSAGES_SENT, "Messages sent by this process, by channel");
    describe_counter!(
        MESSAGES_RETRIED,
        "Failed sends that will be retried, by channel"
    );
    describe_counter!(
        MESSAGES_GIVEN_UP,
        "Messages given up (rejected, or still failing when their time ran out), by channel"
    );
    describe_gauge!(
        MESSAGES_WAITING,
        "Messages in the queue not yet sent nor given up (all processes)"
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Database connections of this process's pool, by state (idle, in_use)"
    );
    describe_gauge!(DB_MAX_CONNECTIONS, "Largest size of the database pool");
    describe_counter!(REFRESH_ROTATIONS, "Refresh tokens rotated");
    describe_counter!(
        REFRESH_REUSE,
        "Refresh tokens used twice: the session was revoked"
    );
    describe_gauge!(
        READY,
        "1 while /readyz answers 200, else 0 (as of the last scrape)"
    );
    describe_gauge!(BUILD_INFO, "Always 1; the server's version as a label");
}

/// An HTTP method as a label: the standard ones, else `other` (a client may send any
/// token as a method).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// An activity record, counted as a sign-in outcome when it is one.
pub fn activity(kind: &str, result: &str) {
    if !enabled() {
        return;
    }
    match kind {
        "login" => {
            let outcome = match result {
                "ok" => "ok",
                "invalid_credentials" => "wrong_password",
                "account_locked" => "locked",
                "mfa_required" => "second_factor",
                "device_verification_required" => "device_code",
                "password_change_required" => "password_change",
                "account_disabled" => "disabled",
                _ => "other",
            };
            counter!(SIGN_INS, "outcome" => outcome).increment(1);
        }
        "mfa" | "device_verify" => {
            let step = if kind == "mfa" {
                "second_factor"
            } else {
                "device_code"
            };
            let outcome = match result {
                "ok" => "ok",
                "code_invalid" | "invalid_credentials" => "wrong_code",
                "too_many_attempts" => "too_many_attempts",
                "account_disabled" => "disabled",
                "password_change_required" => "password_change",
                _ => "other",
            };
            counter!(SECOND_STEPS, "step" => step, "outcome" => outcome).increment(1);
        }
        _ => {}
    }
}

/// The `/metrics` listener: only that path, on its own address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    app: AppState,
) -> std::io::Result<()> {
    let router = Router::new().route(
        "/metrics",
        get(move || {
            let (handle, app) = (handle.clone(), app.clone());
            async move { render(&handle, &app).await }
        }),
    );
    axum::serve(listener, router).await
}

/// Binds the metrics address, so that a wrong one stops the start.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {addr} for metrics: {e}"),
        )
    })
}

/// Sets the gauges read at scrape time, then renders every metric.
async fn render(handle: &PrometheusHandle, app: &AppState) -> Response {
    let size = app.db.size();
    let idle = u32::try_from(app.db.num_idle()).unwrap_or(u32::MAX);
    gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    gauge!(DB_CONNECTIONS, "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    gauge!(DB_MAX_CONNECTIONS).set(f64::from(app.db.options().get_max_connections()));
    // One cheap query, bounded: a database that does not answer leaves the last value.
    let waiting = tokio::time::timeout(
        Duration::from_secs(1),
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM messages WHERE status = 'pending'")
            .fetch_one(&app.db),
    )
    .await;
    if let Ok(Ok(n)) = waiting {
        #[allow(clippy::cast_precision_loss)]
        gauge!(MESSAGES_WAITING).set(n as f64);
    }
    let ready = super::health::check(app).await.ready();
    gauge!(READY).set(if ready { 1.0 } else { 0.0 });
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
