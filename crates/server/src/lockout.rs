//! Lockout after repeated failed sign-ins, and the per-address throttle.
//!
//! A subject (an account, or an identifier no account has) is locked after
//! `threshold` failures for `base` (15 min); every further lock doubles, up to `max`
//! (24 h); a correct password resets it, `reset_after` (24 h) without a failure or a
//! lock forgets it, and an admin can unlock it. Locks are never permanent. Unknown identifiers lock exactly like
//! accounts, so the lock reveals nothing about who exists. All of it is in the
//! database, updated with single atomic statements, so several server processes share
//! one view.

use crate::config::LockoutConfig;
use crate::db::{seconds_until, secs, Db};

/// Seconds left on the subject's lock, if it is locked now.
pub async fn locked_for(db: &Db, subject: &str, now: i64) -> Result<Option<u64>, sqlx::Error> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM lockouts WHERE subject = $1")
            .bind(subject)
            .fetch_optional(db)
            .await?;
    Ok(until.filter(|&u| u > now).map(|u| seconds_until(u, now)))
}

/// Counts a failure; returns the lock's length in seconds if this failure locked it.
pub async fn record_failure(
    db: &Db,
    config: &LockoutConfig,
    subject: &str,
    now: i64,
) -> Result<Option<u64>, sqlx::Error> {
    let quiet_since = now.saturating_sub(secs(config.reset_after_seconds));
    let (failures, level): (i64, i64) = sqlx::query_as(
        "INSERT INTO lockouts (subject, failures, lock_level, locked_until, last_failure_at) \
         VALUES ($1, 1, 0, 0, $2) \
         ON CONFLICT (subject) DO UPDATE SET \
           failures = CASE WHEN lockouts.last_failure_at < $3 AND lockouts.locked_until < $3 \
                           THEN 1 ELSE lockouts.failures + 1 END, \
           lock_level = CASE WHEN lockouts.last_failure_at < $3 AND lockouts.locked_until < $3 \
                             THEN 0 ELSE lockouts.lock_level END, \
           last_failure_at = $2 \
         RETURNING failures, lock_level",
    )
    .bind(subject)
    .bind(now)
    .bind(quiet_since)
    .fetch_one(db)
    .await?;
    if failures < i64::from(config.threshold.max(1)) {
        return Ok(None);
    }
    let seconds = lock_seconds(config, level);
    let until = now.saturating_add(secs(seconds));
    // Only one of several concurrent failures turns the count into a lock.
    let locked = sqlx::query(
        "UPDATE lockouts SET failures = 0, lock_level = lock_level + 1, locked_until = $1 \
         WHERE subject = $2 AND failures >= $3",
    )
    .bind(until)
    .bind(subject)
    .bind(i64::from(config.threshold.max(1)))
    .execute(db)
    .await?;
    if locked.rows_affected() == 0 {
        return locked_for(db, subject, now).await;
    }
    tracing::info!(
        subject_kind = subject.split(':').next(),
        seconds,
        "sign-in locked"
    );
    Ok(Some(seconds))
}

/// The length of the lock at `level` (0 = first lock).
pub fn lock_seconds(config: &LockoutConfig, level: i64) -> u64 {
    let doublings = u32::try_from(level.clamp(0, 32)).unwrap_or(32);
    config
        .base_seconds
        .saturating_mul(1u64 << doublings)
        .min(config.max_seconds)
}

/// Forgets failures and locks (correct password, admin unlock, password reset).
pub async fn clear(db: &Db, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM lockouts WHERE subject = $1")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}

/// Seconds until the address may try again, if its failures used up the window.
pub async fn address_blocked(
    db: &Db,
    config: &LockoutConfig,
    address: &str,
    now: i64,
) -> Result<Option<u64>, sqlx::Error> {
    if config.address_limit == 0 {
        return Ok(None);
    }
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT window_start, hits FROM throttles WHERE bucket = $1")
            .bind(address_bucket(address))
            .fetch_optional(db)
            .await?;
    let window = secs(config.address_window_seconds);
    Ok(row.and_then(|(start, hits)| {
        let end = start.saturating_add(window);
        (end > now && hits >= i64::from(config.address_limit)).then(|| seconds_until(end, now))
    }))
}

/// Counts a failed sign-in from `address` in the current fixed window.
pub async fn record_address_failure(
    db: &Db,
    config: &LockoutConfig,
    address: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    if config.address_limit == 0 {
        return Ok(());
    }
    let window_opened_before = now.saturating_sub(secs(config.address_window_seconds));
    sqlx::query(
        "INSERT INTO throttles (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           hits = CASE WHEN throttles.window_start <= $3 THEN 1 ELSE throttles.hits + 1 END, \
           window_start = CASE WHEN throttles.window_start <= $3 THEN $2 \
                               ELSE throttles.window_start END",
    )
    .bind(address_bucket(address))
    .bind(now)
    .bind(window_opened_before)
    .execute(db)
    .await?;
    Ok(())
}

fn address_bucket(address: &str) -> String {
    format!("login-address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_the_maximum() {
        let c = LockoutConfig::default();
        assert_eq!(lock_seconds(&c, 0), 900);
        assert_eq!(lock_seconds(&c, 1), 1800);
        assert_eq!(lock_seconds(&c, 2), 3600);
        assert_eq!(lock_seconds(&c, 6), 57_600);
        assert_eq!(lock_seconds(&c, 7), 86_400);
        assert_eq!(lock_seconds(&c, 1_000), 86_400);
    }
}
