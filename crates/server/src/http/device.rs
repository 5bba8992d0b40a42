//! New-device verification: a right password from a device id the account never
//! completed a sign-in from (on an account without TOTP) answers
//! `device_verification_required` and sends a 6-digit device code by e-mail or SMS;
//! `POST /v1/auth/device/verify` takes the code and opens the session.
//!
//! Decisions:
//! - the code lives in the challenge row as SHA-256 of the user id and the code, beside
//!   the device the sign-in started on; 10 minutes, 5 wrong codes, then sign in again;
//! - at most `devices.max_sends_per_hour` (5) codes an hour per account; more sign-ins
//!   from new devices get `rate_limited` with `retry_after` (the password was right, so
//!   this reveals nothing the caller does not know);
//! - an account with neither e-mail nor phone cannot receive a code: its sign-in goes
//!   through unverified (and is logged), since refusing it would lock the user out for
//!   good; IT can add an address with `user add`-time fields;
//! - accounts with TOTP skip this step: the second factor already proves the person;
//! - a sign-in that must change its password (temporary or expired) verifies a new
//!   device first, then answers `password_change_required` with the `change_token`
//!   (an error, so a client that does not know it signs in again, from a device that
//!   is now known); the forced change alone never opens a session on an unverified
//!   device.

use axum::extract::State;
use axum::Json;
use latchkey_proto::{
    Device, DeviceVerifyRequest, ErrorBody, ErrorCode, LoginResponse, Secret, Session,
};
use serde::{Deserialize, Serialize};

use super::check_secret;
use super::extract::{ApiJson, ClientIp};
use crate::account::session_body;
use crate::challenge;
use crate::db::secs;
use crate::delivery::{self, MessageKind, Outgoing};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tokens::hash_token;
use crate::users::{self, UserRow};
use crate::{activity, devices, notify, sends, signin};

/// The challenge kind of a device code.
pub const DEVICE: &str = "device";

/// What the challenge row keeps beside the token.
#[derive(Serialize, Deserialize)]
struct Pending {
    device: Device,
    code_hash: String,
}

fn code_hash(user_id: &str, code: &str) -> String {
    hash_token(&format!("device:{user_id}:{code}"))
}

/// After a right password: `Some(answer)` when the device must be verified first.
pub(super) async fn check(
    app: &AppState,
    user: &UserRow,
    device: &Device,
    locale: Option<&str>,
    now: i64,
) -> ApiResult<Option<LoginResponse>> {
    let cfg = &app.config().devices;
    if !cfg.verify_new || user.mfa_on() {
        return Ok(None);
    }
    if devices::is_known(&app.db, Some(&user.id), &device.id).await? {
        return Ok(None);
    }
    let Some((channel, recipient)) = notify::destination(user, None) else {
        tracing::warn!(user = %user.id, "new device, but no e-mail or phone to verify it: signing in");
        return Ok(None);
    };
    let ttl = cfg.code_ttl_seconds;
    let code = notify::six_digits();
    let pending = Pending {
        device: device.clone(),
        code_hash: code_hash(&user.id, &code),
    };
    let data = serde_json::to_string(&pending).map_err(ApiError::internal)?;
    let msg = Outgoing {
        channel,
        recipient: recipient.clone(),
        locale: notify::locale(app, user, locale),
        kind: MessageKind::DeviceCode {
            code: Secret::new(code),
            minutes: u32::try_from(ttl / 60).unwrap_or(u32::MAX).max(1),
        },
    };
    let (token, token_hash) = crate::tokens::new_token("lkc");
    let mut tx = app.db.begin().await?;
    let caps = sends::Caps {
        resend_after_seconds: cfg.resend_after_seconds,
        max_per_hour: cfg.max_sends_per_hour,
    };
    if let Err(refused) = sends::reserve(&mut tx, &format!("device:{}", user.id), caps, now).await?
    {
        return Err(ApiError::new(ErrorCode::RateLimited)
            .message("Too many codes were sent for new devices. Try again later.")
            .retry_after(refused.wait));
    }
    sqlx::query(
        "INSERT INTO challenges (token_hash, kind, user_id, data, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(DEVICE)
    .bind(&user.id)
    .bind(data)
    .bind(now.saturating_add(secs(ttl)))
    .execute(&mut *tx)
    .await?;
    delivery::insert(&mut tx, &msg, now).await?;
    tx.commit().await?;
    delivery::wake(app);
    Ok(Some(LoginResponse::DeviceVerificationRequired {
        challenge_token: token,
        destination: notify::hint(channel, &recipient),
        channel: channel_proto(channel),
        expires_in: ttl,
    }))
}

fn too_many_codes() -> ApiError {
    ApiError::new(ErrorCode::TooManyAttempts)
        .message("Too many wrong codes. Sign in again to get a new one.")
}

fn channel_proto(c: delivery::Channel) -> latchkey_proto::Channel {
    match c {
        delivery::Channel::Email => latchkey_proto::Channel::Email,
        delivery::Channel::Sms => latchkey_proto::Channel::Sms,
    }
}

/// Completes a sign-in from a new device with the code that was sent for it; the
/// device is remembered, so its next sign-in needs only the password.
#[utoipa::path(post, path = "/v1/auth/device/verify", tag = "auth",
    request_body = DeviceVerifyRequest,
    responses(
        (status = 200, description = "Signed in; the device is now known", body = Session),
        (status = 400, description = "`code_invalid` or `invalid_request`", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown, used or expired challenge (sign in again)", body = ErrorBody),
        (status = 403, description = "`account_disabled`; or `password_change_required` with `change_token`, `reason` and `mfa_methods`: the code was right and the device is now known, but the password must be changed first (`POST /v1/auth/password`); no session yet", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 5 wrong codes; sign in again", body = ErrorBody),
    ))]
pub async fn verify(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<DeviceVerifyRequest>,
) -> ApiResult<Json<Session>> {
    check_secret("challenge_token", &req.challenge_token)?;
    check_secret("code", &req.code)?;
    let now = app.now();
    let max = app.config().devices.max_attempts.max(1);
    let live = challenge::peek_live(&app.db, DEVICE, &req.challenge_token, now)
        .await?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::TokenInvalid)
                .message("This sign-in has expired or was already used. Sign in again.")
        })?;
    let pending: Pending = serde_json::from_str(&live.data).map_err(ApiError::internal)?;
    let user = users::by_id(&app.db, &live.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let record = |result: &'static str| {
        let (db, device, ip, id) = (&app.db, &pending.device, ip.as_deref(), &user.id);
        async move { activity::record(db, Some(id), "device_verify", result, device, ip, now).await }
    };
    if user.is_disabled() {
        record("account_disabled").await?;
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    // The try is counted before the code is compared: a burst gets `max` comparisons.
    let token = &req.challenge_token;
    if challenge::reserve_attempt(&app.db, DEVICE, token, max, now)
        .await?
        .is_none()
    {
        record("too_many_attempts").await?;
        return Err(too_many_codes());
    }
    let right = crate::totp::normalize_code(req.code.expose())
        .is_some_and(|c| code_hash(&user.id, &c) == pending.code_hash);
    if !right {
        if challenge::settle_attempt(&app.db, DEVICE, token, max, now).await? {
            record("too_many_attempts").await?;
            return Err(too_many_codes());
        }
        record("code_invalid").await?;
        return Err(ApiError::new(ErrorCode::CodeInvalid).field("code"));
    }
    if let Some(reason) = super::auth::forced_change_reason(&app, &user, now) {
        // The code proved the device; the password still has to change before any
        // session (the sign-in came here from `password_change_required`).
        signin::verify_device_only(
            &app,
            &user,
            &pending.device,
            ip.as_deref(),
            now,
            (DEVICE, &req.challenge_token),
        )
        .await?;
        let (change_token, mfa_methods) =
            super::auth::forced_change_challenge(&app, &user, now).await?;
        record("password_change_required").await?;
        tracing::info!(user = %user.id, "new device verified; the password must be changed");
        return Err(ApiError::change_required(change_token, reason, mfa_methods));
    }
    let issued = signin::complete(
        &app,
        &user,
        &pending.device,
        ip.as_deref(),
        now,
        Some((DEVICE, &req.challenge_token)),
    )
    .await?;
    record("ok").await?;
    tracing::info!(user = %user.id, session = %issued.session_id, "signed in on a verified new device");
    Ok(Json(session_body(&app, issued, &user)))
}
