//! Password reset, the forgot-password flow: `POST /v1/recovery/start`, `/verify`,
//! `/link` and `/complete`. The paths, their OpenAPI tag, the `recovery_id` field, the
//! `recoveries` table and the names stored by this flow ([`KEY`], the activity kinds)
//! keep the flow's first name, "recovery"; the code says *reset code* and *reset link*.
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
    Device, ErrorBody, ErrorCode, ResetCompleteRequest, ResetLinkAccount, ResetLinkRequest,
    ResetStartRequest, ResetStarted, ResetVerified, ResetVerifyRequest, Secret,
};

use super::auth::resolve;
use super::check_secret;
use super::extract::{ApiJson, ClientIp};
use crate::challenge;
use crate::db::secs;
use crate::delivery::{self, MessageKind, Outgoing};
use crate::error::{ApiError, ApiResult};
use crate::mfa;
use crate::replacement::{self, Replacement};
use crate::state::AppState;
use crate::tokens::{hash_token, new_id, new_token};
use crate::users;
use crate::{activity, lockout, notify, sends};

pub use crate::replacement::RESET;

/// The flow's stored name: the prefix of its send-limit keys and of its code hashes,
/// and its per-address bucket. Kept from its first name, so that an upgrade neither
/// resets the counts nor voids the codes in flight.
const KEY: &str = "recovery";

/// What the `recoveries` row of reset `reset_id` stores for `code`.
fn code_hash(reset_id: &str, code: &str) -> String {
    hash_token(&format!("{KEY}:{reset_id}:{code}"))
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
    request_body = ResetStartRequest,
    responses(
        (status = 202, description = "If the account exists, a code is on its way", body = ResetStarted),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: wait before asking for another code", body = ErrorBody),
        (status = 503, description = "`maintenance`", body = ErrorBody),
    ))]
pub async fn start(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<ResetStartRequest>,
) -> ApiResult<(StatusCode, Json<ResetStarted>)> {
    if let Some(l) = &req.locale {
        if l.chars().count() > 35 {
            return Err(ApiError::invalid("locale", "The locale is too long."));
        }
    }
    let cfg = &app.config().password_reset;
    let now = app.now();
    let lock_cfg = &app.config().lockout;
    if let Some(wait) = lockout::reserve_address(&app.db, lock_cfg, &ip.bucket(KEY), now).await? {
        return Err(ApiError::new(ErrorCode::RateLimited).retry_after(wait));
    }
    let (user, subject) = resolve(&app, &req.identifier).await?;
    let caps = sends::Caps {
        resend_after_seconds: cfg.resend_after_seconds,
        max_per_hour: cfg.max_sends_per_hour,
    };
    let mut tx = app.db.begin().await?;
    // The limits the answer shows count the identifier as typed, whether or not it has
    // an account, so they tell nothing about which identifiers are one account.
    if let Err(refused) = sends::reserve(&mut tx, &format!("{KEY}:{subject}"), caps, now).await? {
        return Err(ApiError::new(ErrorCode::RateLimited)
            .message(match refused.cap {
                sends::Cap::Resend => "A code was just sent. Wait before asking for another one.",
                sends::Cap::Hourly => "Too many codes were asked for. Try again later.",
            })
            .retry_after(refused.wait));
    }
    let id = new_id();
    let code = notify::six_digits();
    let mut target = user
        .as_ref()
        .filter(|u| !u.is_disabled())
        .and_then(|u| notify::destination(u, req.channel.map(channel_of)).map(|d| (u, d)));
    // The account's own cap, across all its identifiers, is kept silently: 202 as
    // always, nothing sent.
    let account_subject = match &target {
        Some((u, _)) => format!("{KEY}:{}", u.subject()),
        None => format!("{KEY}:decoy:{}", new_id()),
    };
    // Its hourly cap only: a resend wait across identifiers would silently drop the
    // SMS someone asks for right after an e-mail that did not come.
    let account_caps = sends::Caps {
        resend_after_seconds: 0,
        ..caps
    };
    let account_cap = sends::reserve(&mut tx, &account_subject, account_caps, now).await?;
    if account_cap.is_err() {
        if let Some((u, _)) = &target {
            tracing::info!(user = %u.id, "reset code not sent: the account's hourly cap is used up");
        }
        target = None;
    }
    let code_ttl = cfg.code_ttl_seconds;
    // A newer reset voids the account's older links and codes (of any identifier).
    let account_id = target.as_ref().map(|(u, _)| u.id.as_str()).unwrap_or("");
    replacement::void_resets(&mut tx, account_id, now).await?;
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
            kind: MessageKind::ResetCode {
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
    // Both paths write one activity row, so timing tells nothing. (The activity kinds
    // `recovery_start` and `recovery_verify` are shown by `GET /v1/me/activity`.)
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
        Json(ResetStarted {
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

/// A `recoveries` row: one reset code.
#[derive(sqlx::FromRow)]
struct ResetCodeRow {
    user_id: Option<String>,
    code_hash: String,
    attempts: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Checks the code sent by `start`; a right code answers a `reset_token`.
#[utoipa::path(post, path = "/v1/recovery/verify", tag = "recovery",
    request_body = ResetVerifyRequest,
    responses(
        (status = 200, description = "The code is right", body = ResetVerified),
        (status = 400, description = "`code_invalid` or `code_expired` (ask for a new code)", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown or already used password reset (start again)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 5 wrong codes; start again", body = ErrorBody),
    ))]
pub async fn verify(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<ResetVerifyRequest>,
) -> ApiResult<Json<ResetVerified>> {
    check_secret("code", &req.code)?;
    if req.recovery_id.is_empty() || req.recovery_id.len() > 64 {
        return Err(ApiError::invalid(
            "recovery_id",
            "The recovery id is empty or too long.",
        ));
    }
    let cfg = &app.config().password_reset;
    let now = app.now();
    let gone = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .message("This password reset is no longer valid. Ask for a new code.")
    };
    let row: ResetCodeRow = sqlx::query_as(
        "SELECT user_id, code_hash, attempts, expires_at, used_at FROM recoveries WHERE id = $1",
    )
    .bind(&req.recovery_id)
    .fetch_optional(&app.db)
    .await?
    .ok_or_else(gone)?;
    let max = i64::from(cfg.max_attempts.max(1));
    let too_many = || {
        ApiError::new(ErrorCode::TooManyAttempts)
            .message("Too many wrong codes. Ask for a new code.")
    };
    if row.used_at.is_some() {
        return Err(if row.attempts >= max {
            too_many()
        } else {
            gone()
        });
    }
    if row.expires_at <= now {
        return Err(ApiError::new(ErrorCode::CodeExpired)
            .message("The code has expired. Ask for a new one.")
            .field("code"));
    }
    // The try is counted before the code is compared, so a burst of parallel guesses
    // gets `max` comparisons at most.
    let reserved: Option<i64> = sqlx::query_scalar(
        "UPDATE recoveries SET attempts = attempts + 1 \
         WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3 \
         RETURNING attempts",
    )
    .bind(&req.recovery_id)
    .bind(now)
    .bind(max)
    .fetch_optional(&app.db)
    .await?;
    if reserved.is_none() {
        return Err(too_many());
    }
    let right = crate::totp::normalize_code(req.code.expose())
        .is_some_and(|c| code_hash(&req.recovery_id, &c) == row.code_hash);
    let user_id = match (right, row.user_id) {
        (true, Some(user_id)) => user_id,
        _ => {
            let used_up = sqlx::query(
                "UPDATE recoveries SET used_at = $1 \
                 WHERE id = $2 AND used_at IS NULL AND attempts >= $3",
            )
            .bind(now)
            .bind(&req.recovery_id)
            .bind(max)
            .execute(&app.db)
            .await?;
            return Err(if used_up.rows_affected() > 0 {
                too_many()
            } else {
                ApiError::new(ErrorCode::CodeInvalid).field("code")
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
    let mfa_on = user.mfa_on();
    Ok(Json(ResetVerified {
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

/// Which account an e-mail's reset link resets, masked as the mail is, so that the app
/// can name it before it asks the user anything. The token is not used up (whoever
/// holds it already has the mailbox).
#[utoipa::path(post, path = "/v1/recovery/link", tag = "recovery",
    request_body = ResetLinkRequest,
    responses(
        (status = 200, description = "The account the link resets", body = ResetLinkAccount),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown, used or expired link", body = ErrorBody),
    ))]
pub async fn link(
    State(app): State<AppState>,
    ApiJson(req): ApiJson<ResetLinkRequest>,
) -> ApiResult<Json<ResetLinkAccount>> {
    check_secret("reset_token", &req.reset_token)?;
    let now = app.now();
    let invalid = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .message("This password reset is no longer valid. Ask for a new code.")
    };
    let live: Option<(String, i64)> = sqlx::query_as(
        "SELECT user_id, expires_at FROM challenges WHERE token_hash = $1 AND kind = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(req.reset_token.expose()))
    .bind(RESET)
    .bind(now)
    .fetch_optional(&app.db)
    .await?;
    let (user_id, expires_at) = live.ok_or_else(invalid)?;
    let user = users::by_id(&app.db, &user_id)
        .await?
        .filter(|u| !u.is_disabled())
        .ok_or_else(invalid)?;
    let account_hint = match (&user.email, &user.phone) {
        (Some(email), _) => notify::hint(delivery::Channel::Email, email),
        (None, Some(phone)) => notify::hint(delivery::Channel::Sms, phone),
        (None, None) => user.username.clone().unwrap_or_default(),
    };
    let mfa_on = user.mfa_on();
    Ok(Json(ResetLinkAccount {
        account_hint,
        expires_in: crate::db::seconds_until(expires_at, now),
        second_factor_required: mfa_on,
        mfa_methods: if mfa_on {
            mfa::METHODS.to_vec()
        } else {
            vec![]
        },
    }))
}

/// Sets the new password ([`crate::replacement::replace`]). Every session of the
/// account ends, every other reset link and code is voided, its sign-in lockout is
/// cleared, and a "your password was changed" notice goes out. A reset token takes 5
/// refused tries.
#[utoipa::path(post, path = "/v1/recovery/complete", tag = "recovery",
    request_body = ResetCompleteRequest,
    responses(
        (status = 204, description = "Password changed; sign in with it"),
        (status = 400, description = "`code_invalid`: the second factor is wrong", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown, used or expired reset token, or one that took 5 refused tries; `mfa_required`: give `totp_code` or `recovery_code`", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 422, description = "`password_rejected` with `reasons`: the context-free policy before anything else; the account's context, the current password and the history only after the second factor, and then a refusal counts as one of the token's 5 tries; for a directory account, then the directory's own policy (reason `directory_policy`, its words in `message`)", body = ErrorBody),
        (status = 503, description = "`directory_unavailable` with `retry_after`: the account's password is in the company directory, which cannot be used right now", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong second-factor codes", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: every try left is being checked by requests in flight (a burst); try again in a moment", body = ErrorBody),
    ))]
pub async fn complete(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<ResetCompleteRequest>,
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
    if user.is_disabled() {
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    for code in [&req.totp_code, &req.recovery_code].into_iter().flatten() {
        check_secret("code", code)?;
    }
    let replacement = Replacement {
        user: &user,
        new_password: &req.new_password,
        current_password: None,
        token: Some((RESET, &req.reset_token)),
        totp_code: req.totp_code.as_ref(),
        recovery_code: req.recovery_code.as_ref(),
        keep_session: None,
        sign_in: None,
        activity: "password_reset",
        ip: ip.as_deref(),
    };
    replacement::replace(&app, replacement, now).await?;
    Ok(StatusCode::NO_CONTENT)
}
