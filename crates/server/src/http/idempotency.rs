//! The `Idempotency-Key` header on the calls that must not run twice (issue 21): the
//! sign-in steps (`/v1/auth/login`, `/mfa`, `/device/verify`, `/password`), the
//! password reset (`/v1/recovery/start`, `/verify`, `/complete`) and every account
//! action (`POST`, `PUT`, `PATCH`, `DELETE` under `/v1/me/`, answering a browser's
//! sign-in at `/v1/approvals/{id}`, `POST /v1/launch`). Elsewhere the header is
//! ignored; without it a request runs as before.
//!
//! The first request with a key runs the action and its answer is stored (sealed, see
//! [`crate::idempotency`]) for `sessions.idempotency_ttl_seconds`; the same request sent
//! again with the same key gets that answer, marked `Idempotent-Replayed: true`, and
//! nothing runs again. The key is the client's per route and, on account actions, per
//! account: sent with another body, to another account or route's row, it answers 422
//! `idempotency_key_reused`. A copy that arrives while the first is still running waits
//! for its answer up to [`WAIT`], then answers 409 `idempotency_key_in_use` with
//! `Retry-After: 1`. A bad key is a 400 `invalid_request` naming `Idempotency-Key`.
//!
//! Answers that say the action did not happen — 5xx, 429 (busy or throttled) and 409 —
//! are not stored: a retry runs the action. The action runs in a task of its own, so a
//! client that goes away mid-request (the very fault this is for) does not cut it
//! short: its answer is stored for the retry.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_proto::{ErrorCode, Secret, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER};
use subtle::ConstantTimeEq;

use super::MAX_BODY_BYTES;
use crate::db::secs;
use crate::error::ApiError;
use crate::idempotency::{self, Answer, Claim, IdempotencyKey, KeyError, Keys};
use crate::session::{self, Lookup};
use crate::state::AppState;

/// How long a copy waits for the first request's answer before it answers
/// `idempotency_key_in_use`.
pub const WAIT: Duration = Duration::from_secs(5);
/// How often a waiting copy looks again.
const POLL: Duration = Duration::from_millis(50);
/// The largest answer stored (the answers of these routes are a few KiB at most).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The sign-in and reset routes that take the header (all `POST`).
const SIGN_IN: [&str; 7] = [
    "/v1/auth/login",
    "/v1/auth/mfa",
    "/v1/auth/device/verify",
    "/v1/auth/password",
    "/v1/recovery/start",
    "/v1/recovery/verify",
    "/v1/recovery/complete",
];

/// Whether `method path` takes an `Idempotency-Key` (also for the OpenAPI document,
/// whose paths are templates: `/v1/me/sessions/{id}`).
pub fn covered(method: &Method, path: &str) -> bool {
    if *method == Method::POST && SIGN_IN.contains(&path) {
        return true;
    }
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && is_account_route(path)
}

/// Account actions (the account page, approving a browser sign-in, opening an
/// application from the launcher) are scoped to the account.
fn is_account_route(path: &str) -> bool {
    path.starts_with("/v1/me/") || path.starts_with("/v1/approvals/") || path == "/v1/launch"
}

pub async fn layer(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if !covered(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let key = {
        let mut values = req.headers().get_all(IDEMPOTENCY_KEY_HEADER).iter();
        match (values.next(), values.next()) {
            (None, _) => None,
            (Some(_), Some(_)) => Some(Err(KeyError::Repeated)),
            (Some(value), None) => Some(IdempotencyKey::parse(value.as_bytes())),
        }
    };
    let key = match key {
        None => return next.run(req).await,
        Some(Ok(key)) => key,
        Some(Err(e)) => return ApiError::invalid("Idempotency-Key", e.to_string()).into_response(),
    };
    let path = req.uri().path().to_owned();
    // The caller of an account action is its account; a request without a valid
    // session runs as it would (and is refused with nothing stored).
    let caller = if is_account_route(&path) {
        let token = bearer(&req);
        match caller(&app, token).await {
            Ok(Some(user_id)) => user_id,
            Ok(None) => return next.run(req).await,
            Err(e) => return e.into_response(),
        }
    } else {
        String::new()
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX)) {
        // Refused by the handler's extractor, which reads nothing of it.
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        // http-body-util's `LengthLimitError`, as axum's own `Bytes` extractor tells it.
        Err(e) if e.to_string().contains("length limit exceeded") => {
            return ApiError::new(ErrorCode::PayloadTooLarge).into_response()
        }
        Err(_) => {
            return ApiError::new(ErrorCode::InvalidRequest)
                .message("The request body could not be read.")
                .into_response()
        }
    };
    let route = format!("{} {}", parts.method, path);
    let Some(keys) = Keys::derive(&key, &route) else {
        return ApiError::internal("cannot derive the keys of an Idempotency-Key").into_response();
    };
    let fingerprint = keys.fingerprint(&route, &caller, &bytes);
    let ttl = secs(app.config().sessions.idempotency_ttl_seconds);
    let started = tokio::time::Instant::now();
    loop {
        let claim = idempotency::claim(&app.db, &keys.lookup, &fingerprint, app.now(), ttl).await;
        let row = match claim {
            Ok(Claim::Mine { attempt }) => {
                let req = Request::from_parts(parts, Body::from(bytes));
                return run(app, keys, attempt, req, next).await;
            }
            Ok(Claim::Taken(row)) => row,
            Err(e) => return ApiError::from(e).into_response(),
        };
        if !bool::from(row.fingerprint.as_bytes().ct_eq(fingerprint.as_bytes())) {
            tracing::info!(%route, "Idempotency-Key sent again with another request");
            return ApiError::new(ErrorCode::IdempotencyKeyReused).into_response();
        }
        if let (false, Some(sealed)) = (row.running, &row.answer) {
            return match keys.open(sealed) {
                Some(answer) => replay(answer),
                None => {
                    ApiError::internal("a stored answer does not open with its key").into_response()
                }
            };
        }
        if started.elapsed() >= WAIT {
            return ApiError::new(ErrorCode::IdempotencyKeyInUse)
                .retry_after(1)
                .into_response();
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The bearer token of a request, if it has one of a sensible form.
fn bearer(req: &Request) -> Option<Secret> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .map(Secret::from)
}

/// The account of a bearer token, if it is a valid one.
async fn caller(app: &AppState, token: Option<Secret>) -> Result<Option<String>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match session::authenticate(&app.db, token.expose(), app.now()).await? {
        Lookup::Valid(authed) => Ok(Some(authed.user_id)),
        Lookup::Expired | Lookup::Unknown => Ok(None),
    }
}

/// Runs the action in a task of its own and stores its answer (or gives the key back).
async fn run(app: AppState, keys: Keys, attempt: String, req: Request, next: Next) -> Response {
    let db = app.db.clone();
    let lookup = keys.lookup.clone();
    let again = attempt.clone();
    let task = tokio::spawn(async move {
        let response = next.run(req).await;
        let (parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_ANSWER_BYTES).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = idempotency::release(&app.db, &keys.lookup, &attempt).await;
                return ApiError::internal(format_args!("an answer could not be read: {e}"))
                    .into_response();
            }
        };
        let status = parts.status;
        let stored = if keeps(status, &bytes) {
            let answer = Answer {
                status: status.as_u16(),
                content_type: header(&parts.headers, CONTENT_TYPE),
                retry_after: header(&parts.headers, RETRY_AFTER),
                body: bytes.to_vec(),
            };
            match keys.seal(&answer) {
                Some(sealed) => idempotency::finish(&app.db, &keys.lookup, &attempt, &sealed)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err("the answer could not be sealed".to_owned()),
            }
        } else {
            idempotency::release(&app.db, &keys.lookup, &attempt)
                .await
                .map_err(|e| e.to_string())
        };
        if let Err(e) = stored {
            // The answer still goes out; a retry may run the action again.
            tracing::warn!(error = %e, "the answer of an Idempotency-Key was not stored");
            let _ = idempotency::release(&app.db, &keys.lookup, &attempt).await;
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    match task.await {
        Ok(response) => response,
        Err(e) => {
            let _ = idempotency::release(&db, &lookup, &again).await;
            ApiError::internal(format_args!("a request task failed: {e}")).into_response()
        }
    }
}

/// Whether an answer is stored: not when it says the action did not happen (a server
/// failure, `rate_limited`: throttled, `server_busy`: refused before any work): a
/// retry should run it. Every
/// other answer is the action's, refusals included (a wrong password was counted).
fn keeps(status: StatusCode, body: &[u8]) -> bool {
    if status.is_server_error() {
        return false;
    }
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::CONFLICT {
        return true;
    }
    let code = serde_json::from_slice::<latchkey_proto::ErrorBody>(body).map(|b| b.code);
    !matches!(
        code,
        Ok(ErrorCode::RateLimited | ErrorCode::ServerBusy | ErrorCode::IdempotencyKeyInUse)
            | Err(_)
    )
}

fn header(headers: &axum::http::HeaderMap, name: axum::http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A stored answer, sent again.
fn replay(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(Bytes::from(answer.body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (CONTENT_TYPE, answer.content_type),
        (RETRY_AFTER, answer.retry_after),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    headers.insert(IDEMPOTENT_REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Adds the header, and the answers it brings, to every operation that takes it in the
/// OpenAPI document (from [`covered`], so the two cannot drift).
pub fn describe(doc: &mut utoipa::openapi::OpenApi) {
    use std::collections::btree_map::Entry;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{
        ContentBuilder, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Type,
    };
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "One key per action (random, 128 bits or more; printable ASCII without \
             spaces, 16 to 128 characters). A retry with the same key within \
             `sessions.idempotency_ttl_seconds` (300 s) gets the first answer, marked \
             `Idempotent-Replayed: true`, and the action is not done again. Scoped to \
             the route and, on account actions, the account. A bad key: 400 \
             `invalid_request` naming `Idempotency-Key`.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(latchkey_proto::IDEMPOTENCY_KEY_MIN_CHARS))
                .max_length(Some(latchkey_proto::IDEMPOTENCY_KEY_MAX_CHARS))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    let error = |text: &str| {
        ResponseBuilder::new()
            .description(text)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in [
            (Method::POST, item.post.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::PATCH, item.patch.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
        ] {
            let Some(operation) = operation else { continue };
            if !covered(&method, path) {
                continue;
            }
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(parameter.clone());
            let responses = &mut operation.responses.responses;
            for (status, text) in [
                ("409", "`idempotency_key_in_use` with `retry_after`: the first request with this key is still running"),
                ("422", "`idempotency_key_reused`: the key was sent with another request"),
            ] {
                match responses.entry(status.into()) {
                    Entry::Vacant(v) => {
                        v.insert(error(text).into());
                    }
                    Entry::Occupied(mut o) => {
                        if let RefOr::T(response) = o.get_mut() {
                            response.description = format!("{}; or {text}", response.description);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_that_take_a_key() {
        for path in SIGN_IN {
            assert!(covered(&Method::POST, path), "{path}");
        }
        assert!(covered(&Method::POST, "/v1/me/password"));
        assert!(covered(&Method::DELETE, "/v1/me/sessions/{id}"));
        assert!(covered(&Method::DELETE, "/v1/me/sessions/abc"));
        assert!(!covered(&Method::GET, "/v1/me/sessions"));
        assert!(covered(&Method::POST, "/v1/approvals/{id}"));
        assert!(!covered(&Method::GET, "/v1/approvals/{id}"));
        assert!(covered(&Method::POST, "/v1/launch"));
        assert!(!covered(&Method::GET, "/v1/launcher"));
        assert!(!covered(&Method::POST, "/v1/auth/refresh"));
        assert!(!covered(&Method::POST, "/v1/recovery/link"));
        assert!(!covered(&Method::GET, "/v1/auth/login"));
    }

    #[test]
    fn answers_that_say_nothing_happened_are_not_kept() {
        let error = |code: ErrorCode| {
            serde_json::to_vec(&latchkey_proto::ErrorBody::new(code, "m")).unwrap()
        };
        assert!(keeps(StatusCode::OK, b"{}"));
        assert!(keeps(StatusCode::NO_CONTENT, b""));
        let wrong = error(ErrorCode::InvalidCredentials);
        assert!(keeps(StatusCode::UNAUTHORIZED, &wrong));
        assert!(keeps(StatusCode::LOCKED, &error(ErrorCode::AccountLocked)));
        let spent = error(ErrorCode::TooManyAttempts);
        assert!(keeps(StatusCode::TOO_MANY_REQUESTS, &spent));
        assert!(keeps(StatusCode::CONFLICT, &error(ErrorCode::Conflict)));
        let busy = error(ErrorCode::RateLimited);
        assert!(!keeps(StatusCode::TOO_MANY_REQUESTS, &busy));
        let overloaded = error(ErrorCode::ServerBusy);
        assert!(!keeps(StatusCode::TOO_MANY_REQUESTS, &overloaded));
        let in_use = error(ErrorCode::IdempotencyKeyInUse);
        assert!(!keeps(StatusCode::CONFLICT, &in_use));
        assert!(!keeps(StatusCode::INTERNAL_SERVER_ERROR, b""));
        assert!(!keeps(
            StatusCode::SERVICE_UNAVAILABLE,
            &error(ErrorCode::Maintenance)
        ));
    }
}
