//! Two-factor authentication over HTTP: TOTP enrolment, confirmation and removal, the
//! recovery codes, and the second step of sign-in (`POST /v1/auth/mfa`).
//!
//! Decisions worth knowing:
//! - enrolling answers a new secret that stays pending (TOTP off) until a first valid
//!   code confirms it; enrolling again replaces a pending secret, and enrolling while
//!   TOTP is on is a `conflict` (turn it off first);
//! - confirmation answers ten recovery codes, the only time they are shown;
//! - turning TOTP off takes the password and a current TOTP code *or* an unused
//!   recovery code (someone who lost the phone can still turn it off and set up anew);
//! - wrong passwords count towards the sign-in lockout, wrong codes towards the second
//!   factor's own lockout ([`crate::mfa`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_proto::{
    Device, ErrorBody, ErrorCode, MfaMethod, MfaRequest, RecoveryCodes, RecoveryCodesRequest,
    Session, TotpConfirmRequest, TotpDisableRequest, TotpEnrollRequest, TotpEnrollment,
};

use super::check_secret;
use super::extract::{ApiJson, ClientIp};
use crate::account::{self, session_body};
use crate::challenge::{self, MFA};
use crate::error::{ApiError, ApiResult};
use crate::mfa::{self, Factor};
use crate::session::{self, Authed};
use crate::state::AppState;
use crate::users::{self, UserRow};
use crate::{activity, recovery_codes, totp};

async fn current_user(app: &AppState, authed: &Authed) -> ApiResult<UserRow> {
    users::by_id(&app.db, &authed.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))
}

fn already_on() -> ApiError {
    ApiError::new(ErrorCode::Conflict)
        .message("Two-factor authentication is already on. Turn it off first to set it up anew.")
}

fn too_many_codes() -> ApiError {
    ApiError::new(ErrorCode::TooManyAttempts).message("Too many wrong codes. Sign in again.")
}

fn not_on() -> ApiError {
    ApiError::new(ErrorCode::Conflict).message("Two-factor authentication is not on.")
}

async fn record(
    app: &AppState,
    user_id: &str,
    kind: &str,
    result: &str,
    device: &Device,
    ip: &ClientIp,
    now: i64,
) -> ApiResult<()> {
    activity::record(
        &app.db,
        Some(user_id),
        kind,
        result,
        device,
        ip.as_deref(),
        now,
    )
    .await?;
    Ok(())
}

/// Starts TOTP setup: a new secret and its `otpauth://` URI, pending until confirmed.
/// Takes the account's password again (wrong ones count towards the sign-in lockout).
#[utoipa::path(post, path = "/v1/me/totp/enroll", tag = "mfa", security(("bearer" = [])),
    request_body = TotpEnrollRequest,
    responses(
        (status = 200, description = "A pending secret; confirm it with a first code", body = TotpEnrollment),
        (status = 400, description = "`invalid_request`: no `password`", body = ErrorBody),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`current_password_invalid`", body = ErrorBody),
        (status = 409, description = "`conflict`: two-factor authentication is already on", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: a JSON body with `password` is required", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong passwords", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: every try left is being checked by requests in flight (a burst); try again in a moment", body = ErrorBody),
        (status = 503, description = "`totp_unavailable`: no `LATCHKEY_SECRET_KEY` on this server", body = ErrorBody),
    ))]
pub async fn enroll(
    State(app): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<TotpEnrollRequest>,
) -> ApiResult<Json<TotpEnrollment>> {
    check_secret("password", &req.password)?;
    let user = current_user(&app, &authed).await?;
    let key = app
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::TotpUnavailable))?;
    if user.mfa_on() {
        return Err(already_on());
    }
    account::confirm_password(&app, &user, &req.password, "password", app.now()).await?;
    let secret = totp::new_secret();
    let sealed = key.seal(&user.id, &secret).map_err(ApiError::internal)?;
    if !totp::store_pending(&app.db, &user.id, &sealed, app.now()).await? {
        return Err(already_on());
    }
    Ok(Json(totp::enrollment(
        &app.config().server_name,
        &user,
        &secret,
    )))
}

/// Confirms TOTP setup with a first code: two-factor authentication is on, every other
/// session of the account ends, and the answer holds the ten recovery codes (shown
/// this once).
#[utoipa::path(post, path = "/v1/me/totp/confirm", tag = "mfa", security(("bearer" = [])),
    request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "On; save the recovery codes", body = RecoveryCodes),
        (status = 400, description = "`code_invalid`", body = ErrorBody),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 409, description = "`conflict`: no setup in progress, or already on", body = ErrorBody),
        (status = 503, description = "`totp_unavailable`", body = ErrorBody),
    ))]
pub async fn confirm(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiJson(req): ApiJson<TotpConfirmRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    check_secret("code", &req.code)?;
    let user = current_user(&app, &authed).await?;
    if user.mfa_on() {
        return Err(already_on());
    }
    let now = app.now();
    let row = totp::load(&app.db, &user.id)
        .await?
        .filter(|r| r.confirmed_at.is_none())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Conflict)
                .message("No two-factor setup is in progress. Start with /v1/me/totp/enroll.")
        })?;
    let secret = mfa::open_secret(&app, &user.id, &row.secret)?;
    let step = totp::accepted_step(&secret, req.code.expose(), now, row.last_step)
        .ok_or_else(|| ApiError::new(ErrorCode::CodeInvalid).field("code"))?;
    let codes = recovery_codes::generate();
    let mut tx = app.db.begin().await?;
    if !totp::confirm(&mut tx, &user.id, step, now).await? {
        return Err(already_on());
    }
    recovery_codes::replace(&mut tx, &user.id, &codes, now).await?;
    // Whoever else was signed in signed in without the second factor: they sign in
    // again, with it.
    session::revoke_all(&mut tx, &user.id, Some(&authed.session_id), now).await?;
    tx.commit().await?;
    record(
        &app,
        &user.id,
        "totp_enabled",
        "ok",
        &Device::default(),
        &ip,
        now,
    )
    .await?;
    mfa::notify_totp_change(&app, &user, true).await;
    tracing::info!(user = %user.id, "two-factor authentication turned on");
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turns two-factor authentication off, with the password and a current TOTP code or
/// an unused recovery code. The secret and every recovery code are deleted.
#[utoipa::path(post, path = "/v1/me/totp/disable", tag = "mfa", security(("bearer" = [])),
    request_body = TotpDisableRequest,
    responses(
        (status = 204, description = "Off"),
        (status = 400, description = "`code_invalid`", body = ErrorBody),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`current_password_invalid`", body = ErrorBody),
        (status = 409, description = "`conflict`: two-factor authentication is not on", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong passwords or codes", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: every try left is being checked by requests in flight (a burst); try again in a moment", body = ErrorBody),
        (status = 503, description = "`totp_unavailable`: use a recovery code", body = ErrorBody),
    ))]
pub async fn disable(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiJson(req): ApiJson<TotpDisableRequest>,
) -> ApiResult<StatusCode> {
    check_secret("password", &req.password)?;
    check_secret("code", &req.code)?;
    let user = current_user(&app, &authed).await?;
    if !user.mfa_on() {
        return Err(not_on());
    }
    let now = app.now();
    account::confirm_password(&app, &user, &req.password, "password", now).await?;
    mfa::verify(&app, &user.id, Factor::guess(&req.code), now).await?;
    let mut tx = app.db.begin().await?;
    totp::remove(&mut tx, &user.id).await?;
    tx.commit().await?;
    record(
        &app,
        &user.id,
        "totp_disabled",
        "ok",
        &Device::default(),
        &ip,
        now,
    )
    .await?;
    mfa::notify_totp_change(&app, &user, false).await;
    tracing::info!(user = %user.id, "two-factor authentication turned off");
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the recovery codes with ten new ones; the old ones stop working.
#[utoipa::path(post, path = "/v1/me/recovery-codes", tag = "mfa", security(("bearer" = [])),
    request_body = RecoveryCodesRequest,
    responses(
        (status = 200, description = "The new codes, shown this once", body = RecoveryCodes),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
        (status = 403, description = "`current_password_invalid`", body = ErrorBody),
        (status = 409, description = "`conflict`: two-factor authentication is not on", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong passwords", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: every try left is being checked by requests in flight (a burst); try again in a moment", body = ErrorBody),
    ))]
pub async fn regenerate_recovery_codes(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    ApiJson(req): ApiJson<RecoveryCodesRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    check_secret("password", &req.password)?;
    let user = current_user(&app, &authed).await?;
    if !user.mfa_on() {
        return Err(not_on());
    }
    let now = app.now();
    account::confirm_password(&app, &user, &req.password, "password", now).await?;
    let codes = recovery_codes::generate();
    let mut tx = app.db.begin().await?;
    recovery_codes::replace(&mut tx, &user.id, &codes, now).await?;
    tx.commit().await?;
    record(
        &app,
        &user.id,
        "recovery_codes_regenerated",
        "ok",
        &Device::default(),
        &ip,
        now,
    )
    .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// The second step of sign-in after `mfa_required`: a TOTP code or a recovery code.
///
/// An `mfa_token` lives 5 minutes and takes at most 5 wrong codes; wrong codes also
/// count towards the account's second-factor lockout (not its password lockout).
#[utoipa::path(post, path = "/v1/auth/mfa", tag = "auth",
    request_body = MfaRequest,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 400, description = "`code_invalid` or `invalid_request`", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown, used or expired `mfa_token`", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong codes, `retry_after`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: this token took 5 wrong codes; or `rate_limited` with `retry_after`: every try left is being checked by requests in flight", body = ErrorBody),
        (status = 503, description = "`totp_unavailable`: use a recovery code", body = ErrorBody),
    ))]
pub async fn second_factor(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<MfaRequest>,
) -> ApiResult<Json<Session>> {
    check_secret("mfa_token", &req.mfa_token)?;
    check_secret("code", &req.code)?;
    let now = app.now();
    let live = challenge::peek_live(&app.db, MFA, &req.mfa_token, now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let device: Device = serde_json::from_str(&live.data).unwrap_or_default();
    let user = users::by_id(&app.db, &live.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    if user.is_disabled() {
        record(&app, &user.id, "mfa", "account_disabled", &device, &ip, now).await?;
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    // The token's own tries are reserved first (5 per token), then the account's
    // second-factor lockout inside `mfa::verify`.
    let max = mfa::TOKEN_MAX_ATTEMPTS;
    if challenge::reserve_attempt(&app.db, MFA, &req.mfa_token, max, now)
        .await?
        .is_none()
    {
        record(
            &app,
            &user.id,
            "mfa",
            "too_many_attempts",
            &device,
            &ip,
            now,
        )
        .await?;
        return Err(too_many_codes());
    }
    let factor = Factor {
        method: req.method,
        code: &req.code,
    };
    if let Err(mut e) = mfa::verify(&app, &user.id, factor, now).await {
        if e.code() == ErrorCode::CodeInvalid
            && challenge::settle_attempt(&app.db, MFA, &req.mfa_token, max, now).await?
        {
            e = too_many_codes();
        }
        record(&app, &user.id, "mfa", e.code().as_str(), &device, &ip, now).await?;
        return Err(e);
    }
    let issued = crate::signin::complete(
        &app,
        &user,
        &device,
        ip.as_deref(),
        now,
        Some((MFA, &req.mfa_token)),
    )
    .await?;
    record(&app, &user.id, "mfa", "ok", &device, &ip, now).await?;
    if req.method == MfaMethod::RecoveryCode {
        // Shown under recent activity: a used code is one fewer left.
        record(
            &app,
            &user.id,
            "recovery_code_used",
            "ok",
            &device,
            &ip,
            now,
        )
        .await?;
    }
    tracing::info!(user = %user.id, session = %issued.session_id, "signed in with a second factor");
    Ok(Json(session_body(&app, issued, &user)))
}
