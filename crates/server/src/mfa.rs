//! The second factor: checking a TOTP or recovery code for an account, under its own
//! failure counter, and the notice sent when two-factor authentication changes.
//!
//! Failures count against the lockout subject `mfa:{user_id}` with the same thresholds
//! as sign-in (5 → 15 min, doubling), never against the password's `user:{user_id}`:
//! someone who has stolen the password cannot lock the owner out of password sign-in
//! by guessing codes, and the owner's password step keeps working while the second
//! factor is locked. Every place that takes a code — the sign-in step, disabling TOTP,
//! the forced change and a password reset — goes through [`verify`].

use latchkey_proto::{ErrorCode, MfaMethod, Secret};

use crate::delivery::MessageKind;
use crate::error::{ApiError, ApiResult};
use crate::lockout::{self, Verdict};
use crate::state::AppState;
use crate::users::UserRow;
use crate::{recovery_codes, totp};

/// How long an `mfa_token` lives, and how many wrong codes it takes.
pub const TOKEN_TTL_SECONDS: u64 = 5 * 60;
pub const TOKEN_MAX_ATTEMPTS: u32 = 5;
/// Live `mfa_token`s per account: a newer one voids the oldest beyond this.
pub const MAX_LIVE_TOKENS: u32 = 5;

/// The methods an account with TOTP offers.
pub const METHODS: [MfaMethod; 2] = [MfaMethod::Totp, MfaMethod::RecoveryCode];

/// The lockout subject of an account's second factor.
pub fn subject(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// A code and what kind it is.
#[derive(Debug, Clone, Copy)]
pub struct Factor<'a> {
    pub method: MfaMethod,
    pub code: &'a Secret,
}

impl<'a> Factor<'a> {
    /// Where a field takes either kind (disabling TOTP): six digits are a TOTP code,
    /// anything else is tried as a recovery code.
    pub fn guess(code: &'a Secret) -> Self {
        let method = if totp::normalize_code(code.expose()).is_some() {
            MfaMethod::Totp
        } else {
            MfaMethod::RecoveryCode
        };
        Self { method, code }
    }
}

/// Checks a second factor of `user_id`. The try is reserved under the account's
/// second-factor lockout before the code is looked at ([`lockout::attempt`]), so a
/// burst across any number of `mfa_token`s gets at most `threshold` codes checked. A
/// wrong code answers `code_invalid`, or `account_locked` once it locks the second
/// factor; a locked second factor answers `account_locked` unchecked. Success uses the
/// code up (a TOTP step or a recovery code) and clears the failure count.
pub async fn verify(app: &AppState, user_id: &str, factor: Factor<'_>, now: i64) -> ApiResult<()> {
    let locked = |wait| {
        ApiError::new(ErrorCode::AccountLocked)
            .message("Too many wrong codes. Two-factor sign-in is locked for a while.")
            .retry_after(wait)
    };
    let check = async {
        app.second_factor_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match factor.method {
            MfaMethod::Totp => check_totp(app, user_id, factor.code, now).await,
            MfaMethod::RecoveryCode => {
                Ok(recovery_codes::consume(&app.db, user_id, factor.code.expose(), now).await?)
            }
        }
    };
    match lockout::attempt(
        &app.db,
        &app.config().lockout,
        &subject(user_id),
        now,
        check,
    )
    .await?
    {
        Verdict::Right => Ok(()),
        Verdict::Wrong(None) => Err(ApiError::new(ErrorCode::CodeInvalid).field("code")),
        Verdict::Busy => Err(Verdict::busy()),
        Verdict::Wrong(Some(wait)) | Verdict::Locked(wait) => Err(locked(wait)),
    }
}

/// Whether `code` is a current, unused TOTP code of the account's confirmed secret;
/// an accepted code's step is recorded so the code never works again.
async fn check_totp(app: &AppState, user_id: &str, code: &Secret, now: i64) -> ApiResult<bool> {
    let Some(row) = totp::load(&app.db, user_id).await? else {
        return Ok(false);
    };
    if row.confirmed_at.is_none() {
        return Ok(false);
    }
    let secret = open_secret(app, user_id, &row.secret)?;
    match totp::accepted_step(&secret, code.expose(), now, row.last_step) {
        Some(step) => Ok(totp::use_step(&app.db, user_id, step).await?),
        None => Ok(false),
    }
}

/// Decrypts a stored secret; without a key, or with one that does not open it, TOTP
/// is unavailable (recovery codes still work).
pub fn open_secret(app: &AppState, user_id: &str, sealed: &str) -> ApiResult<Vec<u8>> {
    let key = app
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::TotpUnavailable))?;
    key.open(user_id, sealed).map_err(|e| {
        tracing::error!(user = %user_id, error = %e, "TOTP secret unreadable: was LATCHKEY_SECRET_KEY changed?");
        ApiError::new(ErrorCode::TotpUnavailable)
            .message("Two-factor codes cannot be checked on this server right now; use a recovery code.")
    })
}

/// Tells the user that two-factor authentication was turned on or off (e-mail, else
/// SMS, in the user's language). Every enable and disable passes through here.
pub async fn notify_totp_change(app: &AppState, user: &UserRow, enabled: bool) {
    let kind = if enabled {
        MessageKind::TotpEnabled
    } else {
        MessageKind::TotpDisabled
    };
    crate::notify::notice(app, user, kind).await;
}
