//! The two-factor requirement of the policy (`[two_factor]`, set in the file or the
//! console; issue 18): for everyone, or for the accounts with a console role, with a
//! grace period.
//!
//! An account the requirement applies to and that has no TOTP may sign in during the
//! grace period (the app and `/v1/me` say until when); after it, its session may only
//! set TOTP up: every other call with its token answers `two_factor_setup_required`
//! (the app's required step), and the browser sign-in pages send it to the app. The
//! grace period counts from when the requirement began (recorded in the settings by
//! the first process to see it) or from the account's creation, whichever is later.

use crate::config::TwoFactorRequired;
use crate::db::Flag;
use crate::settings;
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

/// Where an account stands with the requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// When the grace period ends (ms).
    pub by: i64,
    /// The grace period is over: TOTP must be set up before anything else.
    pub now: bool,
}

/// `None` when the requirement does not apply to `user_id` (off, not an admin, or
/// TOTP already on).
pub async fn due(app: &AppState, user_id: &str, now: i64) -> Result<Option<Due>, sqlx::Error> {
    let config = app.config();
    let level = match config.two_factor.required {
        TwoFactorRequired::Off => return Ok(None),
        TwoFactorRequired::Admins => "admins",
        TwoFactorRequired::Everyone => "everyone",
    };
    let row: Option<(Flag, i64, i64)> = sqlx::query_as(
        "SELECT u.mfa_enabled, u.created_at, \
           (SELECT COUNT(*) FROM admin_roles r WHERE r.user_id = u.id) \
         FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&app.db)
    .await?;
    let Some((mfa, created_at, roles)) = row else {
        return Ok(None);
    };
    if mfa.is_set() || (level == "admins" && roles == 0) {
        return Ok(None);
    }
    let switches = app.switches().await?;
    let since = match &switches.two_factor_since {
        Some((recorded, at)) if recorded == level => *at,
        _ => {
            settings::mark_two_factor_since(&app.db, Some(level), now).await?;
            app.switches.invalidate();
            match &app.switches().await?.two_factor_since {
                Some((recorded, at)) if recorded == level => *at,
                _ => now,
            }
        }
    };
    let by = since.max(created_at) + i64::from(config.two_factor.grace_days) * DAY_MS;
    Ok(Some(Due { by, now: now >= by }))
}

/// The calls a session that must set TOTP up may still make: who it is, setting TOTP
/// up, and signing out.
pub fn allowed_while_due(path: &str) -> bool {
    matches!(
        path,
        "/v1/me" | "/v1/me/totp/enroll" | "/v1/me/totp/confirm" | "/v1/auth/logout"
    )
}
