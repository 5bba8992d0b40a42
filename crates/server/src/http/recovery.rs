//! Forgot password: `POST /v1/recovery/start`, `/verify` and `/complete`.
//!
//! How it behaves, and why:
//! - `start` writes a `recoveries` row for every identifier, known or not, and answers
//!   202 with the same body shape; only a known, enabled account with an address gets
//!   a message (queued, so the answer never waits for the mail server). The resend
//!   wait (60 s) and the hourly cap (5) therefore apply to unknown identifiers too, and
//!   their `rate_limited` answers look the same;
//! - a new `start` voids the identifier's earlier codes: only the newest code works;
//! - the code is 6 digits, valid 10 minutes, single use, 5 wrong tries; it is stored
//!   as SHA-256 of the row id and the code. The row of an unknown identifier holds the
//!   hash of a code nobody was sent, and even a lucky guess of it is answered
//!   `code_invalid`;
//! - an e-mail also carries `latchkey://reset?token=…`: a 256-bit token, valid 30
//!   minutes, that `complete` takes as its `reset_token` (the code skipped);
//! - `complete` needs a TOTP or recovery code on an account with two-factor
//!   authentication (checked by [`crate::mfa::verify`], under its own lockout), checks
//!   the policy, then in one transaction sets the password, voids every reset token and
//!   code of the account and revokes every session; then it clears the sign-in lockout
//!   and sends "your password was changed";
//! - starts from one address count towards a per-address throttle (the sign-in one's
//!   numbers, its own bucket), so one machine cannot spray codes at many accounts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_proto::{
    Device, ErrorBody, ErrorCode, MfaMethod, RecoveryCompleteRequest, RecoveryStartRequest,
    RecoveryStarted, RecoveryVerified, RecoveryVerifyRequest, Secret,
};

use super::auth::resolve;
use super::check_secret;
use super::extract::{ApiJson, ClientIp};
use crate::account;
use crate::challenge;
use crate::db::{seconds_until, secs};
use crate::delivery::{self, MessageKind, Outgoing};
use crate::error::{ApiError, ApiResult};
use crate::mfa::{self, Factor};
use crate::state::AppState;
use crate::tokens::{hash_token, new_id, new_token};
use crate::users;
use crate::{activity, lockout, notify, session};

/// Challenge kind of a reset token (from `verify` or from the e-mail's link).
pub const RESET: &str = "reset";

fn code_hash(recovery_id: &str, code: &str) -> String {
    hash_token(&format!("recovery:{recovery_id}:{code}"))
}

fn channel_of(c: latchkey_proto::Channel) -> delivery::Channel {
    match c {
        latchkey_proto::Channel::Email => delivery::Channel::Email,
        latchkey_proto::Channel::Sms => delivery::Channel::Sms,
    }
}

/// Sends a password-reset code by e-mail or SMS.
///
/// Answers the same, in the same time, whether or not the identifier belongs to an
/// account and whether or not the message is later delivered.
#[utoipa::path(post, path = "/v1/recovery/start", tag = "recovery",
    request_body = RecoveryStartRequest,
    responses(
        (status = 202, description = "If the account exists, a code is on its way", body = RecoveryStarted),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: wait before asking for another code", body = ErrorBody),
        (status = 503, description = "`maintenance`", body = ErrorBody),
    ))]
pub async fn start(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RecoveryStartRequest>,
) -> ApiResult<(StatusCode, Json<RecoveryStarted>)> {
    if let Some(l) = &req.locale {
        if l.chars().count() > 35 {
            return Err(ApiError::invalid("locale", "The locale is too long."));
        }
    }
    let cfg = &app.config.recovery;
    let now = app.now();
    let bucket = format!("recovery:{}", ip.bucket());
    let lock_cfg = &app.config.lockout;
    if let Some(wait) = lockout::address_blocked(&app.db, lock_cfg, &bucket, now).await? {
        return Err(ApiError::new(ErrorCode::RateLimited).retry_after(wait));
    }
    let (user, subject) = resolve(&app, &req.identifier).await?;
    // Limits, counted per identifier whether or not it has an account.
    let hour = secs(3600);
    let recent: Vec<i64> = sqlx::query_scalar(
        "SELECT created_at FROM recoveries WHERE subject = $1 AND created_at > $2 \
         ORDER BY created_at",
    )
    .bind(&subject)
    .bind(now.saturating_sub(hour))
    .fetch_all(&app.db)
    .await?;
    if let Some(&last) = recent.last() {
        let resend_at = last.saturating_add(secs(cfg.resend_after_seconds));
        if resend_at > now {
            return Err(ApiError::new(ErrorCode::RateLimited)
                .message("A code was just sent. Wait before asking for another one.")
                .retry_after(seconds_until(resend_at, now)));
        }
    }
    if recent.len() >= cfg.max_sends_per_hour.max(1) as usize {
        let free_at = recent.first().copied().unwrap_or(now).saturating_add(hour);
        return Err(ApiError::new(ErrorCode::RateLimited)
            .message("Too many codes were asked for this account. Try again later.")
            .retry_after(seconds_until(free_at, now)));
    }
    lockout::record_address_failure(&app.db, lock_cfg, &bucket, now).await?;

    let id = new_id();
    let code = notify::six_digits();
    let target = user
        .as_ref()
        .filter(|u| u.disabled == 0)
        .and_then(|u| notify::destination(u, req.channel.map(channel_of)).map(|d| (u, d)));
    let code_ttl = cfg.code_ttl_seconds;
    let mut tx = app.db.begin().await?;
    // Only the newest code of an identifier works.
    sqlx::query("UPDATE recoveries SET used_at = $1 WHERE subject = $2 AND used_at IS NULL")
        .bind(now)
        .bind(&subject)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO recoveries (id, subject, user_id, code_hash, attempts, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(&id)
    .bind(&subject)
    .bind(target.as_ref().map(|(u, _)| u.id.clone()))
    .bind(code_hash(&id, &code))
    .bind(now)
    .bind(now.saturating_add(secs(code_ttl)))
    .execute(&mut *tx)
    .await?;
    if let Some((user, (channel, recipient))) = &target {
        let link = if *channel == delivery::Channel::Email {
            let (token, token_hash) = new_token("lkc");
            sqlx::query(
                "INSERT INTO challenges (token_hash, kind, user_id, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(RESET)
            .bind(&user.id)
            .bind(now.saturating_add(secs(cfg.link_ttl_seconds)))
            .execute(&mut *tx)
            .await?;
            Some(Secret::new(format!(
                "latchkey://reset?token={}",
                token.expose()
            )))
        } else {
            decoy(&mut tx, "challenges", "token_hash").await?;
            None
        };
        let msg = Outgoing {
            channel: *channel,
            recipient: recipient.clone(),
            locale: notify::locale(&app, user, req.locale.as_deref()),
            kind: MessageKind::RecoveryCode {
                code: Secret::new(code),
                link,
                minutes: u32::try_from(code_ttl / 60).unwrap_or(u32::MAX).max(1),
            },
        };
        delivery::insert(&mut tx, &msg, now).await?;
    } else {
        // Decoys for the link and the message rows: the same number of round trips
        // to the database as above, so that the time of the answer does not tell a
        // known account from an unknown one (on a loaded PostgreSQL server each round
        // trip costs a few milliseconds).
        decoy(&mut tx, "challenges", "token_hash").await?;
        decoy(&mut tx, "messages", "id").await?;
    }
    tx.commit().await?;
    // Both paths write one activity row, so timing tells nothing.
    let (user_id, result) = match &target {
        Some((user, _)) => (Some(user.id.as_str()), "code_sent"),
        None => (None, "no_account"),
    };
    activity::record(
        &app.db,
        user_id,
        "recovery_start",
        result,
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    if target.is_some() {
        // Last, so that the dispatcher's work does not delay this answer (which would
        // tell a known account from an unknown one by its timing).
        delivery::wake(&app);
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(RecoveryStarted {
            recovery_id: id,
            resend_after: cfg.resend_after_seconds,
            expires_in: code_ttl,
        }),
    ))
}

/// A look-up that finds nothing, standing in for a write the other path makes.
async fn decoy(conn: &mut sqlx::AnyConnection, table: &str, column: &str) -> ApiResult<()> {
    let (_, random) = new_token("lkc");
    // Table and column are constants of this file, never input.
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    let _: i64 = sqlx::query_scalar(&sql)
        .bind(random)
        .fetch_one(&mut *conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RecoveryRow {
    user_id: Option<String>,
    code_hash: String,
    attempts: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Checks the code sent by `start`; a right code answers a `reset_token`.
#[utoipa::path(post, path = "/v1/recovery/verify", tag = "recovery",
    request_body = RecoveryVerifyRequest,
    responses(
        (status = 200, description = "The code is right", body = RecoveryVerified),
        (status = 400, description = "`code_invalid` or `code_expired` (ask for a new code)", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown or already used recovery (start again)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 5 wrong codes; start again", body = ErrorBody),
    ))]
pub async fn verify(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RecoveryVerifyRequest>,
) -> ApiResult<Json<RecoveryVerified>> {
    check_secret("code", &req.code)?;
    if req.recovery_id.is_empty() || req.recovery_id.len() > 64 {
        return Err(ApiError::invalid(
            "recovery_id",
            "The recovery id is empty or too long.",
        ));
    }
    let cfg = &app.config.recovery;
    let now = app.now();
    let gone = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .message("This password reset is no longer valid. Ask for a new code.")
    };
    let row: RecoveryRow = sqlx::query_as(
        "SELECT user_id, code_hash, attempts, expires_at, used_at FROM recoveries WHERE id = $1",
    )
    .bind(&req.recovery_id)
    .fetch_optional(&app.db)
    .await?
    .ok_or_else(gone)?;
    let max = i64::from(cfg.max_attempts.max(1));
    if row.used_at.is_some() {
        return Err(if row.attempts >= max {
            ApiError::new(ErrorCode::TooManyAttempts)
                .message("Too many wrong codes. Ask for a new code.")
        } else {
            gone()
        });
    }
    if row.expires_at <= now {
        return Err(ApiError::new(ErrorCode::CodeExpired)
            .message("The code has expired. Ask for a new one.")
            .field("code"));
    }
    let right = crate::totp::normalize_code(req.code.expose())
        .is_some_and(|c| code_hash(&req.recovery_id, &c) == row.code_hash);
    let user_id = match (right, row.user_id) {
        (true, Some(user_id)) => user_id,
        _ => {
            let attempts: Option<i64> = sqlx::query_scalar(
                "UPDATE recoveries SET attempts = attempts + 1, \
                   used_at = CASE WHEN attempts + 1 >= $1 THEN $2 ELSE used_at END \
                 WHERE id = $3 AND used_at IS NULL RETURNING attempts",
            )
            .bind(max)
            .bind(now)
            .bind(&req.recovery_id)
            .fetch_optional(&app.db)
            .await?;
            return Err(match attempts {
                Some(n) if n < max => ApiError::new(ErrorCode::CodeInvalid).field("code"),
                Some(_) => ApiError::new(ErrorCode::TooManyAttempts)
                    .message("Too many wrong codes. Ask for a new code."),
                None => gone(),
            });
        }
    };
    let done = sqlx::query("UPDATE recoveries SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(&req.recovery_id)
        .execute(&app.db)
        .await?;
    if done.rows_affected() != 1 {
        return Err(gone());
    }
    let user = users::by_id(&app.db, &user_id).await?.ok_or_else(gone)?;
    let ttl = cfg.reset_token_ttl_seconds;
    let reset_token = challenge::create(&app.db, RESET, &user.id, ttl, now).await?;
    activity::record(
        &app.db,
        Some(&user.id),
        "recovery_verify",
        "ok",
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    let mfa_on = user.mfa_enabled != 0;
    Ok(Json(RecoveryVerified {
        reset_token,
        expires_in: ttl,
        second_factor_required: mfa_on,
        mfa_methods: if mfa_on {
            mfa::METHODS.to_vec()
        } else {
            vec![]
        },
    }))
}

/// Sets the new password. Every session of the account ends, its sign-in lockout is
/// cleared, and a "your password was changed" notice goes out.
#[utoipa::path(post, path = "/v1/recovery/complete", tag = "recovery",
    request_body = RecoveryCompleteRequest,
    responses(
        (status = 204, description = "Password changed; sign in with it"),
        (status = 400, description = "`code_invalid`: the second factor is wrong", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown, used or expired reset token; `mfa_required`: give `totp_code` or `recovery_code`", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 422, description = "`password_rejected` with `reasons`", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong second-factor codes", body = ErrorBody),
    ))]
pub async fn complete(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RecoveryCompleteRequest>,
) -> ApiResult<StatusCode> {
    check_secret("reset_token", &req.reset_token)?;
    check_secret("new_password", &req.new_password)?;
    let now = app.now();
    let invalid = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .message("This password reset is no longer valid. Ask for a new code.")
    };
    let user_id = challenge::peek(&app.db, RESET, &req.reset_token, now)
        .await?
        .ok_or_else(invalid)?;
    let user = users::by_id(&app.db, &user_id).await?.ok_or_else(invalid)?;
    if user.disabled != 0 {
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    let hash = account::new_password_hash(
        &app.hasher,
        &app.db,
        &app.config.password,
        Some(&user),
        user.context(),
        &req.new_password,
    )
    .await
    .map_err(|e| e.into_api("new_password"))?;
    if user.mfa_enabled != 0 {
        // After the policy, so that a refused password does not use up a code.
        let factor = match (&req.totp_code, &req.recovery_code) {
            (Some(code), _) => Factor {
                method: MfaMethod::Totp,
                code,
            },
            (None, Some(code)) => Factor {
                method: MfaMethod::RecoveryCode,
                code,
            },
            (None, None) => return Err(ApiError::new(ErrorCode::MfaRequired).message(
                "This account has two-factor authentication: give `totp_code` or `recovery_code`.",
            )),
        };
        check_secret("code", factor.code)?;
        mfa::verify(&app, &user.id, factor, now).await?;
    }
    let mut tx = app.db.begin().await?;
    if !challenge::consume(&mut tx, RESET, &req.reset_token, now).await? {
        return Err(invalid());
    }
    users::set_password(&mut tx, &user, &hash, false, now).await?;
    // Every other way into this reset is closed: links, reset tokens, pending codes.
    sqlx::query(
        "UPDATE challenges SET used_at = $1 WHERE user_id = $2 AND kind = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&user.id)
    .bind(RESET)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE recoveries SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    session::revoke_all(&mut tx, &user.id, None, now).await?;
    tx.commit().await?;
    lockout::clear(&app.db, &user.subject()).await?;
    activity::record(
        &app.db,
        Some(&user.id),
        "password_reset",
        "ok",
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    notify::notice(&app, &user, MessageKind::PasswordChanged).await;
    tracing::info!(user = %user.id, "password reset; every session revoked");
    Ok(StatusCode::NO_CONTENT)
}
