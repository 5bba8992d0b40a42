//! `GET /healthz` and `GET /readyz` (issue 22), for load balancers and orchestrators.
//!
//! Neither takes a token, and neither says more than the names of its checks (see
//! [`crate::ops::health`]). They are operations endpoints beside the API, not part of
//! the v1 contract of `/v1/openapi.json`: `docs/operations.md` describes them, as it
//! does `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::ops::health;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process answers (nothing else is checked: a load balancer restarts on this).
async fn healthz() -> Response {
    no_store(Json(json!({ "status": "ok" })).into_response())
}

/// `200 {"status": "ready", "checks": {...}}`, or `503` with the error body of the
/// contract (`server_unavailable`) and the failing checks named.
async fn readyz(State(app): State<AppState>) -> Response {
    let report = health::check(&app).await;
    let checks: Map<String, Value> = report
        .checks
        .iter()
        .map(|(name, status)| ((*name).to_owned(), Value::from(status.as_str())))
        .collect();
    let response = if report.ready() {
        Json(json!({ "status": "ready", "checks": checks })).into_response()
    } else {
        let failing = report.failing();
        let body = json!({
            "code": latchkey_proto::ErrorCode::ServerUnavailable.as_str(),
            "message": format!("Not ready: {}.", failing.join(", ")),
            "status": "not_ready",
            "failing": failing,
            "checks": checks,
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    };
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
