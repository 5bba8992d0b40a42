//! The request id (issue 22): every request gets one, made here (128 random bits in
//! hex) unless a trusted proxy sent a well-formed `X-Request-Id`. It is returned in the
//! `X-Request-Id` header, named by the request's log span (so every log line of the
//! request carries it), and stored in the audit and activity records the request
//! writes, so that IT can go from a user's "recent activity" to the server's log.
//!
//! tower-http's `SetRequestIdLayer` and `PropagateRequestIdLayer` put it on the request
//! and the answer; [`scope`] makes it readable by [`current`] for the whole of the
//! handler, which is where the records are written.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::state::AppState;

pub const HEADER: &str = "x-request-id";

/// Longest request id accepted from a proxy.
const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: Option<String>;
}

/// The id of the request this task is answering, if it is answering one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// Makes a fresh id for a request that has none.
#[derive(Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::tokens::new_id())
            .ok()
            .map(RequestId::new)
    }
}

/// Whether an id from a proxy may be kept: short, and of characters that need no
/// escaping anywhere (letters, digits, `-`, `_`, `.`, `:`).
pub fn acceptable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Drops an `X-Request-Id` the request came with, unless the server is behind its own
/// proxy (`trust_forwarded_for`) and the id is well formed: a client must not choose
/// the id that IT later searches the log and the records for.
pub async fn screen(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let keep = app.config().trust_forwarded_for
        && req
            .headers()
            .get(HEADER)
            .is_some_and(|v| acceptable(v.as_bytes()))
        && req.headers().get_all(HEADER).iter().count() == 1;
    if !keep {
        req.headers_mut().remove(HEADER);
    }
    next.run(req).await
}

/// Runs the rest of the request with its id readable through [`current`].
pub async fn scope(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    CURRENT.scope(id, next.run(req)).await
}

/// The id of a request, for its log span.
pub fn of<B>(req: &axum::http::Request<B>) -> &str {
    req.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_accepted() {
        assert!(acceptable(b"0f3a-77:lb.1_x"));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"a b"));
        assert!(!acceptable(b"x\"y"));
        assert!(!acceptable("é".as_bytes()));
        assert!(!acceptable(&[b'a'; 65]));
    }

    #[tokio::test]
    async fn the_id_is_readable_inside_the_scope_only() {
        assert_eq!(current(), None);
        let inside = CURRENT.scope(Some("abc".into()), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("abc"));
    }
}
