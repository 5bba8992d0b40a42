//! The one path by which a user replaces their password: the forced change
//! (`POST /v1/auth/password`), the password reset (`POST /v1/recovery/complete`) and the
//! account page's change (`POST /v1/me/password`) all call [`replace`], so a fix lands
//! once.
//!
//! The order is what keeps a single-use token from becoming an oracle:
//! 1. the policy **without** the account's context (length, strength, blocklist): it
//!    tells nothing about the account, so a refusal here costs no try;
//! 2. one try of the flow's token is reserved (5 per token): from here on every
//!    refusal uses one up;
//! 3. the second factor, on an account with two-factor authentication (under its own
//!    lockout, [`crate::mfa::verify`]);
//! 4. only then the policy with the account's context, "same as the current password"
//!    and the history — answers that would otherwise let whoever holds a reset link
//!    test candidate passwords;
//! 5. in one transaction: the token used up, the password set, every reset link and
//!    code of the account voided, sessions revoked (all, or all but the caller's), and
//!    a new session when the flow signs in;
//! 6. the account's sign-in lockout cleared, the activity written, and the "your
//!    password was changed" notice queued.

use latchkey_proto::{Device, ErrorCode, MfaMethod, Secret};

use crate::account::{self, hash_error, NewPasswordError, Refusal};
use crate::challenge;
use crate::delivery::MessageKind;
use crate::directory::{api_error as directory_error, DirectoryError};
use crate::error::{ApiError, ApiResult};
use crate::mfa::{self, Factor};
use crate::session::{self, Issued};
use crate::state::AppState;
use crate::users::{self, UserRow};
use crate::{activity, lockout, notify};

/// Tries a reset or change token takes before it is used up.
pub const TOKEN_MAX_ATTEMPTS: u32 = 5;

/// A password replacement.
pub struct Replacement<'a> {
    pub user: &'a UserRow,
    pub new_password: &'a Secret,
    /// The current password, already confirmed (the account page's change): a
    /// directory account's change is then made as its owner.
    pub current_password: Option<&'a Secret>,
    /// The flow's single-use token (`reset`, `password_change`), checked and used up.
    pub token: Option<(&'a str, &'a Secret)>,
    /// `totp_code` / `recovery_code` of the request: required when the account has
    /// two-factor authentication and `token` is given.
    pub totp_code: Option<&'a Secret>,
    pub recovery_code: Option<&'a Secret>,
    /// The session that stays signed in (the account page's change); every other ends.
    pub keep_session: Option<&'a str>,
    /// Open a session on this device (the forced change signs in).
    pub sign_in: Option<&'a Device>,
    /// Activity kind: `password_changed` or `password_reset`.
    pub activity: &'static str,
    pub ip: Option<&'a str>,
}

/// Replaces the password (see the module's order); the new session if one was asked.
pub async fn replace(app: &AppState, r: Replacement<'_>, now: i64) -> ApiResult<Option<Issued>> {
    let policy = &app.config().password;
    let refused =
        |refusal: Refusal| ApiError::rejected("new_password", refusal.reasons, refusal.suggestions);
    if let Some(refusal) = context_free_refusal(app, r.new_password).await? {
        return Err(refused(refusal));
    }
    let invalid = || {
        ApiError::new(ErrorCode::TokenInvalid)
            .message("This link or code is no longer valid. Start again.")
    };
    if let Some((kind, token)) = r.token {
        challenge::reserve_attempt(&app.db, kind, token, TOKEN_MAX_ATTEMPTS, now)
            .await?
            .ok_or_else(invalid)?;
    }
    // From here a refusal counts against the token.
    let settle = |e: ApiError| async move {
        if let Some((kind, token)) = r.token {
            challenge::settle_attempt(&app.db, kind, token, TOKEN_MAX_ATTEMPTS, now).await?;
        }
        Err::<Option<Issued>, _>(e)
    };
    if r.token.is_some() && r.user.mfa_on() {
        let factor = match (r.totp_code, r.recovery_code) {
            (Some(code), _) => Factor {
                method: MfaMethod::Totp,
                code,
            },
            (None, Some(code)) => Factor {
                method: MfaMethod::RecoveryCode,
                code,
            },
            (None, None) => return settle(ApiError::new(ErrorCode::MfaRequired).message(
                "This account has two-factor authentication: give `totp_code` or `recovery_code`.",
            ))
            .await,
        };
        if let Err(e) = mfa::verify(app, &r.user.id, factor, now).await {
            return settle(e).await;
        }
    }
    // A directory account's password is written to the directory (its own policy and
    // history apply there); Latchkey's policy with the account's context first.
    let hash = if r.user.in_directory() {
        if let Some(refusal) = policy_refusal(app, r.new_password, r.user.context()).await? {
            return settle(refused(refusal)).await;
        }
        match write_to_directory(app, &r).await {
            Ok(()) => None,
            Err(e @ DirectoryError::PasswordRefused(_)) => return settle(directory_error(e)).await,
            Err(e) => return Err(directory_error(e)),
        }
    } else {
        match account::new_password_hash(
            &app.hasher,
            &app.db,
            policy,
            Some(r.user),
            r.user.context(),
            r.new_password,
        )
        .await
        {
            Ok(hash) => Some(hash),
            Err(NewPasswordError::Refused(refusal)) => return settle(refused(refusal)).await,
            Err(e) => return Err(e.into_api("new_password")),
        }
    };
    let user = r.user;
    let mut tx = app.db.begin().await?;
    if let Some((kind, token)) = r.token {
        if !challenge::consume(&mut tx, kind, token, now).await? {
            return Err(invalid());
        }
    }
    match &hash {
        Some(hash) => users::set_password(&mut tx, user, hash, false, now).await?,
        None => users::mark_password_changed(&mut tx, &user.id, false, now).await?,
    }
    void_resets(&mut tx, &user.id, now).await?;
    session::revoke_all(&mut tx, &user.id, r.keep_session, now).await?;
    let issued = match r.sign_in {
        Some(device) => Some(
            session::create(&mut tx, &app.config().sessions, &user.id, device, r.ip, now).await?,
        ),
        None => None,
    };
    tx.commit().await?;
    lockout::clear_account(&app.db, user, false).await?;
    let device = r.sign_in.cloned().unwrap_or_default();
    activity::record(
        &app.db,
        Some(&user.id),
        r.activity,
        "ok",
        &device,
        r.ip,
        now,
    )
    .await?;
    notify::notice(app, user, MessageKind::PasswordChanged).await;
    tracing::info!(user = %user.id, kind = r.activity, "password replaced; other sessions revoked");
    Ok(issued)
}

/// The policy's verdict without the account's context (what the client's meter shows
/// before anyone is signed in), or `None` if it passes.
async fn context_free_refusal(app: &AppState, password: &Secret) -> ApiResult<Option<Refusal>> {
    policy_refusal(app, password, Default::default()).await
}

/// Writes the new password of a directory account to the directory: as its owner
/// when the current password was given, else with the service account.
async fn write_to_directory(app: &AppState, r: &Replacement<'_>) -> Result<(), DirectoryError> {
    let (Some(dir), Some(dn)) = (&app.directory, r.user.directory_dn.as_deref()) else {
        return Err(DirectoryError::Unavailable(
            "a directory account, and no directory is configured".into(),
        ));
    };
    let normalized = Secret::new(latchkey_policy::normalize(r.new_password.expose()));
    let current = r
        .current_password
        .map(|c| Secret::new(latchkey_policy::normalize(c.expose())));
    dir.set_password(dn, current.as_ref(), &normalized).await
}

/// The policy's verdict with `context` (the account's details, or none).
async fn policy_refusal(
    app: &AppState,
    password: &Secret,
    context: latchkey_policy::UserContext,
) -> ApiResult<Option<Refusal>> {
    let policy = app.config().password.clone();
    let raw = password.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        latchkey_policy::evaluate(&policy, raw.expose(), &context)
    })
    .await
    .map_err(|e| hash_error(crate::hasher::HashError::Failed(e.to_string())))?;
    Ok((!verdict.reasons.is_empty()).then_some(Refusal {
        reasons: verdict.reasons,
        suggestions: verdict.suggestions,
    }))
}

/// Every reset link, reset token and reset code of the account stops working: after a
/// password change by any path, and when a newer reset is asked for.
pub async fn void_resets(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE challenges SET used_at = $1 WHERE user_id = $2 AND kind = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(RESET)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE recoveries SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Challenge kind of a reset token (from `verify` or from the e-mail's link).
pub const RESET: &str = "reset";
