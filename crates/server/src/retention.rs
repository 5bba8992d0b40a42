//! The janitor's work: deleting what can no longer matter, so that the tables an
//! unauthenticated caller can grow (`lockouts`, `throttles`, `recoveries`, `activity`,
//! `messages`, the send log, the answers kept for `Idempotency-Key`s) stay bounded by time. Runs every ten minutes in every
//! server process ([`crate::serve`]); each statement is idempotent, so several
//! processes may run it at once.

use crate::db::{secs, Db};
use crate::state::AppState;

/// How long the janitor keeps rows that only history needs.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Sign-ins and security events shown under "recent activity".
    pub activity_days: u64,
    /// Sent or given-up messages (their codes are blanked already).
    pub messages_days: u64,
    /// Used or expired password-reset codes.
    pub recoveries_days: u64,
    /// The admins' audit trail; 0 (default): kept for good.
    pub audit_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            activity_days: 180,
            messages_days: 7,
            recoveries_days: 1,
            audit_days: 0,
        }
    }
}

const DAY: u64 = 24 * 3600;

/// Deletes every expired row; returns how many.
pub async fn prune(app: &AppState, now: i64) -> Result<u64, sqlx::Error> {
    let c = &app.config();
    let db = &app.db;
    let mut deleted = crate::session::prune(db, &c.sessions, now).await?;
    let ago = |s: u64| now.saturating_sub(secs(s));
    // A lockout quiet for `reset_after` and not locked is forgotten by `reserve` anyway.
    let quiet = ago(c.lockout.reset_after_seconds);
    deleted += run(
        db,
        "DELETE FROM lockouts WHERE last_failure_at < $1 AND locked_until < $2",
        &[quiet, now],
    )
    .await?;
    deleted += run(
        db,
        "DELETE FROM throttles WHERE window_start < $1",
        &[ago(c.lockout.address_window_seconds)],
    )
    .await?;
    deleted += run(db, "DELETE FROM sends WHERE sent_at < $1", &[ago(3600)]).await?;
    let longest_resend = c
        .password_reset
        .resend_after_seconds
        .max(c.devices.resend_after_seconds)
        .max(3600);
    deleted += run(
        db,
        "DELETE FROM send_limits WHERE last_sent_at < $1",
        &[ago(longest_resend)],
    )
    .await?;
    deleted += run(
        db,
        "DELETE FROM recoveries WHERE created_at < $1 AND (used_at IS NOT NULL OR expires_at < $2)",
        &[ago(c.retention.recoveries_days.saturating_mul(DAY)), now],
    )
    .await?;
    deleted += run(
        db,
        "DELETE FROM activity WHERE created_at < $1",
        &[ago(c.retention.activity_days.saturating_mul(DAY))],
    )
    .await?;
    if c.retention.audit_days > 0 {
        deleted += run(
            db,
            "DELETE FROM audit WHERE at < $1",
            &[ago(c.retention.audit_days.saturating_mul(DAY))],
        )
        .await?;
    }
    deleted += run(
        db,
        "DELETE FROM messages WHERE status <> 'pending' AND created_at < $1",
        &[ago(c.retention.messages_days.saturating_mul(DAY))],
    )
    .await?;
    deleted += crate::idempotency::prune(db, now).await?;
    deleted += crate::oidc::grants::prune(db, now).await?;
    deleted += crate::oidc::sso::prune(db, now).await?;
    deleted += crate::oidc::keys::prune(app, now).await?;
    deleted += crate::oidc::approvals::prune(db, now).await?;
    Ok(deleted)
}

async fn run(db: &Db, sql: &str, params: &[i64]) -> Result<u64, sqlx::Error> {
    let mut q = sqlx::query(sql);
    for p in params {
        q = q.bind(*p);
    }
    Ok(q.execute(db).await?.rows_affected())
}
