//! What operations plugs in (issue 22): readiness and draining ([`health`]), Prometheus
//! metrics ([`metrics`]), the request id of every log line and record ([`request_id`]),
//! and the log format ([`logging`]). The HTTP side — `/healthz`, `/readyz` — is
//! `http/health.rs`; `docs/operations.md` is the operator's guide.

pub mod health;
pub mod logging;
pub mod metrics;
pub mod request_id;

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Counts and times every request by its route template, with the request id readable
/// by the records the handler writes ([`request_id::current`]).
pub async fn observe(req: Request, next: Next) -> Response {
    if !metrics::enabled() {
        return request_id::scope(req, next).await;
    }
    let start = Instant::now();
    let method = metrics::method_label(req.method());
    let route = route_of(&req);
    let response = request_id::scope(req, next).await;
    let status = response.status().as_u16().to_string();
    ::metrics::counter!(metrics::HTTP_REQUESTS,
        "method" => method, "route" => route.clone(), "status" => status)
    .increment(1);
    ::metrics::histogram!(metrics::HTTP_DURATION, "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The matched route template (`/v1/me/sessions/{id}`), never the path itself; a path
/// that matched no route is `unmatched`.
pub fn route_of<B>(req: &axum::http::Request<B>) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned())
}
