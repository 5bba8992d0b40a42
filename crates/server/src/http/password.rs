//! `POST /v1/password/check`: the server's own verdict, from the same policy code the
//! desktop meter runs.

use axum::extract::State;
use axum::Json;
use latchkey_policy::UserContext;
use latchkey_proto::{ErrorBody, PasswordCheckRequest, PasswordVerdict};

use super::check_secret;
use super::extract::ApiJson;
use crate::error::{ApiError, ApiResult};
use crate::identifier::MAX_CHARS;
use crate::state::AppState;

/// Rates a candidate password. The identifier, if given, is used as context only; the
/// answer never depends on whether such an account exists.
#[utoipa::path(post, path = "/v1/password/check", tag = "password",
    request_body = PasswordCheckRequest,
    responses(
        (status = 200, description = "The verdict", body = PasswordVerdict),
        (status = 400, description = "`invalid_request`: empty, over 1024 characters, malformed", body = ErrorBody),
    ))]
pub async fn check(
    State(app): State<AppState>,
    ApiJson(req): ApiJson<PasswordCheckRequest>,
) -> ApiResult<Json<PasswordVerdict>> {
    check_secret("password", &req.password)?;
    if req
        .identifier
        .as_ref()
        .is_some_and(|i| i.chars().count() > MAX_CHARS)
    {
        return Err(ApiError::invalid(
            "identifier",
            "The identifier is too long.",
        ));
    }
    let context = UserContext {
        identifier: req.identifier.clone(),
        ..UserContext::default()
    };
    let policy = app.config().password.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        latchkey_policy::evaluate(&policy, req.password.expose(), &context)
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(verdict))
}
