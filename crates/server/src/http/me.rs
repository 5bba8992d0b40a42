//! `/v1/me/*`: the signed-in user's profile, password, devices and activity.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_proto::{
    ActivityList, ChangePasswordRequest, Device, ErrorBody, ErrorCode, Profile, SessionList,
};
use serde::Deserialize;

use super::check_secret;
use super::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::account::{self, password_expires_at};
use crate::activity;
use crate::db::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::replacement::{self, Replacement};
use crate::session::{self, Authed};
use crate::state::AppState;
use crate::users::{self, UserRow};

async fn current_user(app: &AppState, authed: &Authed) -> ApiResult<UserRow> {
    users::by_id(&app.db, &authed.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))
}

/// The signed-in user's profile, password dates and, with two-factor authentication,
/// how many recovery codes are left.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = Profile),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
    ))]
pub async fn me(State(app): State<AppState>, authed: Authed) -> ApiResult<Json<Profile>> {
    let user = current_user(&app, &authed).await?;
    let recovery_codes_left = if user.mfa_on() {
        Some(crate::recovery_codes::left(&app.db, &user.id).await?)
    } else {
        None
    };
    let due = crate::two_factor::due(&app, &user.id, app.now()).await?;
    Ok(Json(Profile {
        password_changed_at: rfc3339(user.password_changed_at),
        password_expires_at: password_expires_at(&app.config().password, &user).map(rfc3339),
        recovery_codes_left,
        two_factor_required_by: due.map(|d| rfc3339(d.by)),
        user: user.to_proto(),
    }))
}

/// Changes the password; every other session of the account is signed out.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "`current_password_invalid`", body = ErrorBody),
        (status = 422, description = "`password_rejected` with `reasons`; for a directory account, then the directory's own policy (reason `directory_policy`, its words in `message`)", body = ErrorBody),
        (status = 503, description = "`directory_unavailable` with `retry_after`: the account's password is in the company directory, which cannot be used right now", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong current passwords", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: every try left is being checked by requests in flight (a burst); try again in a moment", body = ErrorBody),
    ))]
pub async fn change_password(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    check_secret("current_password", &req.current_password)?;
    check_secret("new_password", &req.new_password)?;
    let user = current_user(&app, &authed).await?;
    let now = app.now();
    account::confirm_password(&app, &user, &req.current_password, "current_password", now).await?;
    let replacement = Replacement {
        user: &user,
        new_password: &req.new_password,
        current_password: Some(&req.current_password),
        token: None,
        totp_code: None,
        recovery_code: None,
        keep_session: Some(&authed.session_id),
        sign_in: None,
        activity: "password_changed",
        ip: ip.as_deref(),
    };
    replacement::replace(&app, replacement, now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account's signed-in devices.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn sessions(State(app): State<AppState>, authed: Authed) -> ApiResult<Json<SessionList>> {
    let sessions = session::list(&app.db, &authed.user_id, &authed.session_id, app.now()).await?;
    Ok(Json(SessionList { sessions }))
}

/// Signs one device out.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id from `GET /v1/me/sessions`")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`resource_not_found`: not one of this account's live sessions", body = ErrorBody),
    ))]
pub async fn revoke_session(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let now = app.now();
    // Session ids are hex; anything else (NUL, which PostgreSQL refuses in text, or
    // absurd lengths) cannot name a session and never reaches the database.
    let plausible =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !plausible || !session::revoke(&app.db, &authed.user_id, &id, now).await? {
        return Err(ApiError::new(ErrorCode::ResourceNotFound));
    }
    activity::record(
        &app.db,
        Some(&authed.user_id),
        "session_revoked",
        "ok",
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// How many entries, newest first (1–500, default 50).
    limit: Option<u32>,
}

/// Recent sign-ins and security events of the account.
#[utoipa::path(get, path = "/v1/me/activity", tag = "me", security(("bearer" = [])),
    params(ActivityQuery),
    responses((status = 200, body = ActivityList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn activity(
    State(app): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<ActivityList>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "`limit` must be between 1 and 500.",
        ));
    }
    let entries = activity::recent(&app.db, &authed.user_id, limit).await?;
    Ok(Json(ActivityList { entries }))
}
