//! `/v1/auth/*`: sign-in, the forced change, refresh and sign-out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_proto::{
    Device, ErrorBody, ErrorCode, ForcedChangeRequest, LoginRequest, LoginResponse, LogoutRequest,
    MfaMethod, PasswordChangeReason, RefreshRequest, Secret, Session,
};

use super::extract::{ApiJson, ClientIp, OptionalJson};
use super::{check_device, check_secret, guard};
use crate::account::{hash_error, password_expires_at, session_body};
use crate::activity;
use crate::challenge::{self, FORCED_CHANGE, MFA};
use crate::delivery::MessageKind;
use crate::devices;
use crate::directory;
use crate::error::{ApiError, ApiResult};
use crate::hasher::Verified;
use crate::identifier::{Identifier, IdentifierError};
use crate::lockout::{self, Reserved, Verdict};
use crate::mfa;
use crate::notify;
use crate::replacement::{self, Replacement};
use crate::session::{self, Authed, Refreshed};
use crate::signin;
use crate::state::AppState;
use crate::tokens::hash_token;
use crate::users::{self, UserRow};

/// Signs in with an identifier (e-mail, phone or username) and a password.
///
/// A wrong password and an unknown identifier get the same answer in the same time.
/// With two-factor authentication on, a right password answers `mfa_required` and an
/// `mfa_token` (5 minutes, 5 wrong codes) for `POST /v1/auth/mfa`.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`ok` with a session, or the next step", body = LoginResponse),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 423, description = "`account_locked` with `retry_after`", body = ErrorBody),
        (status = 426, description = "`client_outdated` with `min_version`", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after` (too many tries from this address), or `server_busy` with `retry_after`: the server cannot check a password in time now; nothing was counted, send it again after `Retry-After`", body = ErrorBody),
        (status = 503, description = "`maintenance` with `until`, or `server_unavailable` with `retry_after`: the database cannot be used right now, or `directory_unavailable` with `retry_after`: the company directory that checks this account cannot be used right now (nothing was counted)", body = ErrorBody),
    ))]
pub async fn login(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    check_secret("password", &req.password)?;
    check_device(&req.device)?;
    if let Some(v) = &req.client_version {
        if v.len() > 64 {
            return Err(ApiError::invalid(
                "client_version",
                "The client version is too long.",
            ));
        }
        guard::check(&*app.switches().await?, Some(v))?;
    }
    // A place in the hashing queue first: when the server cannot hash in time, the
    // answer is `server_busy` at once, before any database work and before anything is
    // counted (issue 20). A directory checks its own passwords: no place is taken then.
    let admission = match &app.directory {
        None => Some(app.hasher.admit().map_err(hash_error)?),
        Some(_) => None,
    };
    let now = app.now();
    let cfg = &app.config().lockout;
    // An empty or overlong identifier is refused before anything is counted.
    let (user, typed) = resolve(&app, &req.identifier).await?;
    // An account linked to the directory, or an identifier no Latchkey account has, is
    // checked by the directory (when one is configured) — after the tries below are
    // reserved, so a request Latchkey refuses never reaches it.
    let via_directory = match (&app.directory, &user) {
        (None, _) => None,
        (Some(_), Some(u)) if !u.in_directory() => None,
        (Some(dir), _) => Identifier::parse(&req.identifier, &app.config().default_region)
            .ok()
            .map(|id| (dir.clone(), id)),
    };
    let address = ip.bucket("login");
    if let Some(wait) = lockout::reserve_address(&app.db, cfg, &address, now).await? {
        return Err(ApiError::new(ErrorCode::RateLimited).retry_after(wait));
    }
    let user_id = user.as_ref().map(|u| u.id.clone());
    let record = |result: &'static str| {
        let user_id = user_id.as_deref();
        let (db, device, ip) = (&app.db, &req.device, ip.as_deref());
        async move { activity::record(db, user_id, "login", result, device, ip, now).await }
    };
    // The try is counted before the password is checked (see `lockout`), under budgets
    // that depend only on what the caller sent: a remembered device has its own; any
    // other device spends the identifier's as typed (the answer says when it is used
    // up) and, silently, the account's across all its identifiers.
    let known = devices::is_known(&app.db, user_id.as_deref(), &req.device.id).await?;
    let visible = match (&user, known) {
        (Some(u), true) => devices::subject(&u.id, &req.device.id),
        _ => typed,
    };
    match lockout::reserve(&app.db, cfg, &visible, now).await? {
        Reserved::Granted => {}
        refused => {
            lockout::release_address(&app.db, cfg, &address).await?;
            if let Reserved::Locked(wait) = refused {
                record("account_locked").await?;
                return Err(ApiError::new(ErrorCode::AccountLocked).retry_after(wait));
            }
            return Err(Verdict::busy());
        }
    }
    // An identifier without an account gets a stand-in account budget of its own, so
    // that both paths make the same database round trips (timing tells nothing).
    let account = match (&user, known) {
        (_, true) => None,
        (Some(u), false) => Some(u.subject()),
        (None, false) => Some(format!("user:none:{visible}")),
    };
    let account_open = match &account {
        Some(subject) => lockout::reserve(&app.db, cfg, subject, now).await? == Reserved::Granted,
        None => true,
    };
    let password = Secret::new(latchkey_policy::normalize(req.password.expose()));
    let checked = match via_directory {
        // The account's own limit refused the try: the directory is not asked either.
        Some(_) if !account_open => Ok((Verified::default(), user)),
        Some((dir, identifier)) => {
            let ip = ip.as_deref();
            directory::signin::check(
                &app,
                &dir,
                &identifier,
                user,
                &password,
                &req.device,
                ip,
                now,
            )
            .await
        }
        None => {
            let stored = user.as_ref().map(|u| u.password_hash.as_str());
            let verified = match admission {
                Some(admission) => {
                    app.hasher
                        .verify_admitted(admission, &password, stored)
                        .await
                }
                None => app.hasher.verify(&password, stored).await,
            };
            match verified {
                Ok(verified) => Ok((verified, user)),
                Err(e) => Err(hash_error(e)),
            }
        }
    };
    let (verified, user) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            // Not checked (the hashing queue is full, the directory cannot be used):
            // the tries are given back.
            lockout::release(&app.db, &visible, now).await?;
            if let (Some(subject), true) = (&account, account_open) {
                lockout::release(&app.db, subject, now).await?;
            }
            lockout::release_address(&app.db, cfg, &address).await?;
            return Err(e);
        }
    };
    let user = match user {
        Some(user) if verified.ok && account_open => user,
        user => {
            let failed = lockout::fail_and_tell(&app.db, cfg, &visible, now).await?;
            // The owner is told once per lock of the account (to them, not to whoever
            // typed: no oracle): the account-wide budget's lock when this device spends
            // it (its identifier's may lock by another request at the same moment), else
            // the remembered device's own.
            let telling = match (&account, account_open) {
                (Some(subject), true) => {
                    Some(lockout::fail_and_tell(&app.db, cfg, subject, now).await?)
                }
                (Some(_), false) => None,
                (None, _) => Some(failed),
            }
            .filter(|lock| lock.locked_now);
            let locked = failed.locked;
            if let (Some(owner), Some(lock)) = (&user, telling) {
                if cfg.notify_user {
                    // The length of the lock this try made. (The identifier's may have
                    // been made by a request that started later: from this one's `now`
                    // it is a little longer, and rounded up it read one minute more.)
                    let minutes = lock.locked.map_or(0, |s| s.div_ceil(60));
                    let minutes = u32::try_from(minutes).unwrap_or(u32::MAX);
                    notify::notice(&app, owner, MessageKind::AccountLocked { minutes }).await;
                }
            }
            // Answered as a wrong password when the account's own limit refused it: that
            // limit must not tell that this identifier and another are one person. The
            // account's activity (its owner's eyes only) says it was locked.
            let silently = user.is_some() && !account_open;
            return Err(match locked {
                Some(wait) => {
                    record("account_locked").await?;
                    ApiError::new(ErrorCode::AccountLocked).retry_after(wait)
                }
                None => {
                    record(if silently {
                        "account_locked"
                    } else {
                        "invalid_credentials"
                    })
                    .await?;
                    ApiError::new(ErrorCode::InvalidCredentials)
                }
            });
        }
    };
    // The account first: a burst's next try reserves the identifier, then the account.
    if let Some(subject) = &account {
        lockout::clear(&app.db, subject).await?;
    }
    lockout::clear(&app.db, &visible).await?;
    lockout::release_address(&app.db, cfg, &address).await?;
    if verified.needs_rehash {
        upgrade_hash(&app, &user, &password).await;
    }
    if user.is_disabled() {
        record("account_disabled").await?;
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    // Without two-factor authentication a new device is verified first, also before a
    // forced change (else a stolen, expired password would take the account over);
    // `device::verify` then goes on to the change. With it, the second factor (or the
    // code the forced change asks for) proves the person, and `check` passes.
    if let Some(answer) = super::device::check(&app, &user, &req.device, None, now).await? {
        record("device_verification_required").await?;
        return Ok(Json(answer));
    }
    let mfa_on = user.mfa_on();
    if let Some(reason) = forced_change_reason(&app, &user, now) {
        // With two-factor on, the change itself asks for a code (see
        // `forced_change`), so a temporary password does not bypass it.
        let (change_token, mfa_methods) = forced_change_challenge(&app, &user, now).await?;
        record("password_change_required").await?;
        return Ok(Json(LoginResponse::PasswordChangeRequired {
            change_token,
            reason,
            mfa_methods,
        }));
    }
    if mfa_on {
        // The device travels with the token so that the session made at the second
        // step names it.
        let device = serde_json::to_string(&req.device).map_err(ApiError::internal)?;
        let mfa_token = challenge::create_with_data(
            &app.db,
            MFA,
            &user.id,
            &device,
            mfa::TOKEN_TTL_SECONDS,
            now,
        )
        .await?;
        challenge::keep_newest(&app.db, MFA, &user.id, mfa::MAX_LIVE_TOKENS, now).await?;
        record("mfa_required").await?;
        return Ok(Json(LoginResponse::MfaRequired {
            mfa_token,
            methods: mfa::METHODS.to_vec(),
        }));
    }
    let issued = signin::complete(&app, &user, &req.device, ip.as_deref(), now, None).await?;
    record("ok").await?;
    tracing::info!(user = %user.id, session = %issued.session_id, "signed in");
    Ok(Json(LoginResponse::Ok {
        session: session_body(&app, issued, &user),
    }))
}

/// Why `user` must change the password before signing in, if they must.
pub(super) fn forced_change_reason(
    app: &AppState,
    user: &UserRow,
    now: i64,
) -> Option<PasswordChangeReason> {
    if user.has_temporary_password() {
        Some(PasswordChangeReason::Temporary)
    } else if password_expires_at(&app.config().password, user).is_some_and(|t| t <= now) {
        Some(PasswordChangeReason::Expired)
    } else {
        None
    }
}

/// A `change_token` for `POST /v1/auth/password`, and the second factors the change
/// must carry one of (none without two-factor authentication).
pub(super) async fn forced_change_challenge(
    app: &AppState,
    user: &UserRow,
    now: i64,
) -> ApiResult<(Secret, Vec<MfaMethod>)> {
    let ttl = app.config().sessions.change_token_ttl_seconds;
    let token = challenge::create(&app.db, FORCED_CHANGE, &user.id, ttl, now).await?;
    let methods = if user.mfa_on() {
        mfa::METHODS.to_vec()
    } else {
        vec![]
    };
    Ok((token, methods))
}

/// The account an identifier names, if any, and the lockout subject of the identifier
/// as typed (canonical form), whether or not an account has it. A malformed identifier
/// can name no account: it fails like an unknown one.
pub(super) async fn resolve(app: &AppState, raw: &str) -> ApiResult<(Option<UserRow>, String)> {
    let identifier = match Identifier::parse(raw, &app.config().default_region) {
        Ok(id) => Some(id),
        Err(IdentifierError::Empty) => {
            return Err(ApiError::invalid("identifier", "The identifier is empty."))
        }
        Err(IdentifierError::TooLong) => {
            return Err(ApiError::invalid(
                "identifier",
                "The identifier is too long.",
            ))
        }
        Err(_) => None,
    };
    let user = match &identifier {
        Some(id) => users::find(&app.db, id).await?,
        None => None,
    };
    let subject = match &identifier {
        Some(id) => id.subject(),
        None => format!("raw:{}", hash_token(&raw.trim().to_lowercase())),
    };
    Ok((user, subject))
}

/// Rehashes with the current argon2 parameters; a failure only costs a retry next time.
async fn upgrade_hash(app: &AppState, user: &UserRow, password: &Secret) {
    match app.hasher.hash(password).await {
        Ok(hash) => {
            if let Err(e) = users::upgrade_hash(&app.db, &user.id, &hash).await {
                tracing::warn!(user = %user.id, error = %e, "could not store upgraded hash");
            } else {
                tracing::info!(user = %user.id, "password hash upgraded to current parameters");
            }
        }
        Err(e) => tracing::warn!(user = %user.id, error = %e, "could not upgrade hash"),
    }
}

/// Sets a new password after `password_change_required` and signs in.
///
/// On an account with two-factor authentication the body must also carry a
/// `totp_code` or a `recovery_code` (else `mfa_required`), so that a temporary
/// password set by an administrator does not bypass the second factor.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth",
    // The published operation id keeps its first name.
    operation_id = "forced_password_change",
    request_body = ForcedChangeRequest,
    responses(
        (status = 200, description = "Password changed; signed in", body = Session),
        (status = 400, description = "`code_invalid`: the second factor is wrong", body = ErrorBody),
        (status = 401, description = "`token_invalid`: unknown, used, expired change token, or one that took 5 refused tries; `mfa_required`: the account has two-factor authentication and no code was given", body = ErrorBody),
        (status = 423, description = "`account_locked`: too many wrong second-factor codes", body = ErrorBody),
        (status = 422, description = "`password_rejected` with `reasons`: the context-free policy before anything else; the account's context, the current password and the history only after the second factor, and then a refusal counts as one of the token's 5 tries; for a directory account, then the directory's own policy (reason `directory_policy`, its words in `message`)", body = ErrorBody),
        (status = 503, description = "`directory_unavailable` with `retry_after`: the account's password is in the company directory, which cannot be used right now", body = ErrorBody),
        (status = 429, description = "`rate_limited` with `retry_after`: every try left is being checked by requests in flight (a burst); try again in a moment", body = ErrorBody),
    ))]
pub async fn forced_change(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<ForcedChangeRequest>,
) -> ApiResult<Json<Session>> {
    check_secret("change_token", &req.change_token)?;
    check_secret("new_password", &req.new_password)?;
    let now = app.now();
    let user_id = challenge::peek(&app.db, FORCED_CHANGE, &req.change_token, now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let user = users::by_id(&app.db, &user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    for code in [&req.totp_code, &req.recovery_code].into_iter().flatten() {
        check_secret("code", code)?;
    }
    // Names the session. A new device was verified before the change token was given
    // (see `login`); one that sends no device here stays unremembered.
    let device = req.device.clone().unwrap_or_default();
    let replacement = Replacement {
        user: &user,
        new_password: &req.new_password,
        current_password: None,
        token: Some((FORCED_CHANGE, &req.change_token)),
        totp_code: req.totp_code.as_ref(),
        recovery_code: req.recovery_code.as_ref(),
        keep_session: None,
        sign_in: Some(&device),
        activity: "password_changed",
        ip: ip.as_deref(),
    };
    let issued = replacement::replace(&app, replacement, now)
        .await?
        .ok_or_else(|| ApiError::internal("the forced change opened no session"))?;
    let user = users::by_id(&app.db, &user.id).await?.unwrap_or(user);
    Ok(Json(session_body(&app, issued, &user)))
}

/// Exchanges a refresh token for a new session pair. Each refresh token works once;
/// a second use revokes the whole session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Rotated session", body = Session),
        (status = 401, description = "`token_invalid` or `refresh_token_reused`", body = ErrorBody),
        (status = 403, description = "`account_disabled`: the company directory no longer lets this account sign in (disabled, out of the allowed group, or gone); every session of the account ended", body = ErrorBody),
        (status = 503, description = "`server_unavailable` with `retry_after`: the database cannot be used right now (send the same token again: within the grace period it gets the same answer)", body = ErrorBody),
    ))]
pub async fn refresh(
    State(app): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<Session>> {
    check_secret("refresh_token", &req.refresh_token)?;
    let now = app.now();
    match session::refresh(
        &app.db,
        &app.rotations,
        &app.config().sessions,
        &req.refresh_token,
        ip.as_deref(),
        now,
    )
    .await?
    {
        Refreshed::Rotated { issued, user } => {
            let user_id = user.id.clone();
            let user = match directory::signin::still_allowed(&app, *user, now).await? {
                Some(user) => user,
                None => {
                    let mut conn = app.db.acquire().await?;
                    session::revoke_all(&mut conn, &user_id, None, now).await?;
                    return Err(ApiError::new(ErrorCode::AccountDisabled));
                }
            };
            Ok(Json(session_body(&app, issued, &user)))
        }
        Refreshed::Reused { user_id } => {
            if let Some(user_id) = user_id {
                activity::record(
                    &app.db,
                    Some(&user_id),
                    "refresh_reuse",
                    "session_revoked",
                    &Device::default(),
                    ip.as_deref(),
                    now,
                )
                .await?;
            }
            Err(ApiError::new(ErrorCode::RefreshTokenReused))
        }
        Refreshed::Invalid => Err(ApiError::new(ErrorCode::TokenInvalid)),
    }
}

/// Ends this session, or with `{"all": true}` every session of the account.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional; empty body = this session"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthenticated` or `token_expired`", body = ErrorBody),
    ))]
pub async fn logout(
    State(app): State<AppState>,
    authed: Authed,
    ip: ClientIp,
    OptionalJson(req): OptionalJson<LogoutRequest>,
) -> ApiResult<StatusCode> {
    let now = app.now();
    if req.all {
        let mut conn = app.db.acquire().await?;
        session::revoke_all(&mut conn, &authed.user_id, None, now).await?;
    } else {
        session::revoke(&app.db, &authed.user_id, &authed.session_id, now).await?;
    }
    let kind = if req.all { "logout_all" } else { "logout" };
    activity::record(
        &app.db,
        Some(&authed.user_id),
        kind,
        "ok",
        &Device::default(),
        ip.as_deref(),
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
