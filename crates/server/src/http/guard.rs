//! The guard in front of every route: during maintenance the sign-in and account routes
//! answer `maintenance`, and a client older than the minimum version (sent in the
//! `latchkey-client-version` header, or in the login body) answers `client_outdated`.
//! `/v1/meta`, `/v1/openapi.json` and `/v1/password/check` stay open so that a client
//! can always learn why, and so does the update manifest (`/v1/client/update/…`), so
//! that an outdated client can always update.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_proto::{ErrorCode, CLIENT_VERSION_HEADER};

use crate::error::ApiError;
use crate::settings::{self, Switches};
use crate::state::AppState;

const OPEN: &[&str] = &["/v1/meta", "/v1/openapi.json", "/v1/password/check"];
/// Routes under this prefix are open too (the update manifest).
const OPEN_PREFIX: &str = "/v1/client/update/";

pub async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/v1/") || OPEN.contains(&path) || path.starts_with(OPEN_PREFIX) {
        return next.run(req).await;
    }
    let switches = match app.switches().await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let version = req
        .headers()
        .get(CLIENT_VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Err(e) = check(&switches, version.as_deref()) {
        return e.into_response();
    }
    next.run(req).await
}

/// Maintenance first (nothing works), then the client version.
pub fn check(switches: &Switches, client_version: Option<&str>) -> Result<(), ApiError> {
    if let Some(m) = &switches.maintenance {
        let mut e = ApiError::new(ErrorCode::Maintenance).message(m.message.clone());
        e.body.until = m.until.clone();
        return Err(e);
    }
    if let (Some(min), Some(client)) = (&switches.min_client_version, client_version) {
        if settings::is_outdated(client, min) {
            let mut e = ApiError::new(ErrorCode::ClientOutdated);
            e.body.min_version = Some(min.clone());
            e.body.download_url = switches.download_url.clone();
            return Err(e);
        }
    }
    Ok(())
}
