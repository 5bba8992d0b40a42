//! Lockout after repeated failed tries, and the per-address throttle.
//!
//! A subject (an identifier as typed, an account, a remembered device, an account's
//! second factor) is locked after `threshold` failures for `base` (15 min); every
//! further lock doubles, up to `max` (24 h); a right answer resets it, `reset_after`
//! (24 h) without a failure or a lock forgets it, and an admin can unlock it. Locks are
//! never permanent.
//!
//! Every try is **reserved before the secret is checked** ([`reserve`]): one atomic
//! statement counts it as a failure and refuses it when the subject is locked or its
//! tries are used up, so a burst of parallel requests gets at most `threshold` checks,
//! on SQLite and PostgreSQL, from one process or many. A wrong answer then keeps the
//! failure and locks the subject when it was the last try ([`fail`]); a right answer
//! forgets the failures ([`clear`]). All of it lives in the database, so several server
//! processes share one view.

use crate::config::LockoutConfig;
use crate::db::{seconds_until, secs, Db};

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// One try is counted; check the secret, then [`fail`] or [`clear`].
    Granted,
    /// Locked: seconds to wait.
    Locked(u64),
    /// Not locked, but every try left is being checked right now (a burst): try again
    /// in a moment.
    Busy,
}

/// Seconds left on the subject's lock, if it is locked now.
pub async fn locked_for(db: &Db, subject: &str, now: i64) -> Result<Option<u64>, sqlx::Error> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM lockouts WHERE subject = $1")
            .bind(subject)
            .fetch_optional(db)
            .await?;
    Ok(until.filter(|&u| u > now).map(|u| seconds_until(u, now)))
}

/// Counts one try of `subject` as a failure before its secret is checked, unless the
/// subject is locked or `threshold` tries are already counted.
pub async fn reserve(
    db: &Db,
    config: &LockoutConfig,
    subject: &str,
    now: i64,
) -> Result<Reserved, sqlx::Error> {
    let threshold = i64::from(config.threshold.max(1));
    let quiet_since = now.saturating_sub(secs(config.reset_after_seconds));
    // `quiet`: no failure and no lock for `reset_after`: start from nothing. The WHERE
    // of the upsert is what makes it a reservation: a locked subject, or one whose
    // tries are all counted, is left as it is and nothing is returned.
    let granted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO lockouts (subject, failures, lock_level, locked_until, last_failure_at) \
         VALUES ($1, 1, 0, 0, $2) \
         ON CONFLICT (subject) DO UPDATE SET \
           failures = CASE WHEN lockouts.last_failure_at < $3 AND lockouts.locked_until < $3 \
                           THEN 1 ELSE lockouts.failures + 1 END, \
           lock_level = CASE WHEN lockouts.last_failure_at < $3 AND lockouts.locked_until < $3 \
                             THEN 0 ELSE lockouts.lock_level END, \
           last_failure_at = $2 \
         WHERE lockouts.locked_until <= $2 \
           AND (lockouts.failures < $4 \
                OR (lockouts.last_failure_at < $3 AND lockouts.locked_until < $3)) \
         RETURNING failures",
    )
    .bind(subject)
    .bind(now)
    .bind(quiet_since)
    .bind(threshold)
    .fetch_optional(db)
    .await?;
    if granted.is_some() {
        return Ok(Reserved::Granted);
    }
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT locked_until FROM lockouts WHERE subject = $1")
            .bind(subject)
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some((until,)) if until > now => Reserved::Locked(seconds_until(until, now)),
        _ => Reserved::Busy,
    })
}

/// The reserved try was wrong: it stays counted, and if the subject's tries are used
/// up it is locked now. Returns the lock's length in seconds if it is locked.
pub async fn fail(
    db: &Db,
    config: &LockoutConfig,
    subject: &str,
    now: i64,
) -> Result<Option<u64>, sqlx::Error> {
    Ok(fail_and_tell(db, config, subject, now).await?.locked)
}

/// What a wrong try did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// The lock's length in seconds if the subject is locked.
    pub locked: Option<u64>,
    /// This try is the one that locked it: true for one try per lock, however many
    /// arrive at once (the person is told once).
    pub locked_now: bool,
}

/// [`fail`], saying whether this try is the one that locked.
pub async fn fail_and_tell(
    db: &Db,
    config: &LockoutConfig,
    subject: &str,
    now: i64,
) -> Result<Failed, sqlx::Error> {
    let already = |locked| Failed {
        locked,
        locked_now: false,
    };
    let threshold = i64::from(config.threshold.max(1));
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT failures, lock_level, locked_until FROM lockouts WHERE subject = $1",
    )
    .bind(subject)
    .fetch_optional(db)
    .await?;
    let Some((failures, level, until)) = row else {
        return Ok(already(None));
    };
    if until > now {
        return Ok(already(Some(seconds_until(until, now))));
    }
    if failures < threshold {
        return Ok(already(None));
    }
    let seconds = lock_seconds(config, level);
    let until = now.saturating_add(secs(seconds));
    // Only one of several concurrent failures turns the count into a lock.
    let locked = sqlx::query(
        "UPDATE lockouts SET failures = 0, lock_level = lock_level + 1, locked_until = $1 \
         WHERE subject = $2 AND failures >= $3 AND lock_level = $4 AND locked_until <= $5",
    )
    .bind(until)
    .bind(subject)
    .bind(threshold)
    .bind(level)
    .bind(now)
    .execute(db)
    .await?;
    if locked.rows_affected() == 0 {
        return Ok(already(locked_for(db, subject, now).await?));
    }
    tracing::info!(
        subject_kind = subject.split(':').next(),
        seconds,
        "locked after too many failures"
    );
    metrics::counter!(crate::ops::metrics::LOCKOUTS).increment(1);
    Ok(Failed {
        locked: Some(seconds),
        locked_now: true,
    })
}

/// Gives back a reserved try that was never checked (the server could not check it).
pub async fn release(db: &Db, subject: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE lockouts SET failures = failures - 1 \
         WHERE subject = $1 AND failures > 0 AND locked_until <= $2",
    )
    .bind(subject)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Reserves a try of `subject`, asks `check` whether the secret is right, and settles
/// it (see [`Verdict`]); `check` is not run when no try is left.
pub async fn attempt<E: From<sqlx::Error>>(
    db: &Db,
    config: &LockoutConfig,
    subject: &str,
    now: i64,
    check: impl std::future::Future<Output = Result<bool, E>>,
) -> Result<Verdict, E> {
    match reserve(db, config, subject, now).await? {
        Reserved::Granted => {}
        Reserved::Locked(wait) => return Ok(Verdict::Locked(wait)),
        Reserved::Busy => return Ok(Verdict::Busy),
    }
    match check.await {
        Ok(true) => {
            clear(db, subject).await?;
            Ok(Verdict::Right)
        }
        Ok(false) => Ok(Verdict::Wrong(fail(db, config, subject, now).await?)),
        // Not checked (the hashing queue is full, the database failed): the try is
        // given back, as the caller gets an error and no verdict.
        Err(e) => {
            release(db, subject, now).await?;
            Err(e)
        }
    }
}

/// What [`attempt`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    /// Wrong; `Some(seconds)` if the subject is locked now.
    Wrong(Option<u64>),
    /// Not checked: locked.
    Locked(u64),
    /// Not checked: every try left is being checked by other requests.
    Busy,
}

impl Verdict {
    /// The answer to a try that was not checked because of a burst: `rate_limited`.
    pub fn busy() -> crate::error::ApiError {
        crate::error::ApiError::new(latchkey_proto::ErrorCode::RateLimited)
            .message("Too many tries at once. Try again in a moment.")
            .retry_after(1)
    }
}

/// The length of the lock at `level` (0 = first lock).
pub fn lock_seconds(config: &LockoutConfig, level: i64) -> u64 {
    let doublings = u32::try_from(level.clamp(0, 32)).unwrap_or(32);
    config
        .base_seconds
        .saturating_mul(1u64 << doublings)
        .min(config.max_seconds)
}

/// Forgets failures and locks (right answer, admin unlock, password reset).
pub async fn clear(db: &Db, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM lockouts WHERE subject = $1")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets every sign-in lock of an account: its identifiers, its own, and those of
/// its remembered devices (an admin unlock, a new password). The second factor's
/// lockout stays unless `second_factor`.
pub async fn clear_account(
    db: &Db,
    user: &crate::users::UserRow,
    second_factor: bool,
) -> Result<(), sqlx::Error> {
    for subject in user.lockout_subjects() {
        clear(db, &subject).await?;
    }
    if second_factor {
        clear(db, &crate::mfa::subject(&user.id)).await?;
    }
    // The remembered devices' budgets (`devices::subject`): every subject that starts
    // with `device:{id}:`, i.e. the byte range from `device:{id}:` up to `device:{id};`
    // (';' follows ':'). A LIKE read the whole table on both databases (issue 20,
    // `tests/plans.rs`): SQLite's is case insensitive, and PostgreSQL's cannot use an
    // index for a pattern given as a parameter. SQLite compares bytes (BINARY), so the
    // range is one of its primary key; PostgreSQL's key follows the database's
    // collation, in which that range is not the prefix, so the range is compared in
    // byte order ("C"), which the index `lockouts_subject_bytes` serves.
    let sql = match crate::db::Backend::of_pool(db) {
        crate::db::Backend::Sqlite => "DELETE FROM lockouts WHERE subject >= $1 AND subject < $2",
        crate::db::Backend::Postgres => {
            "DELETE FROM lockouts \
             WHERE subject COLLATE \"C\" >= $1 AND subject COLLATE \"C\" < $2"
        }
    };
    sqlx::query(sql)
        .bind(format!("device:{}:", user.id))
        .bind(format!("device:{};", user.id))
        .execute(db)
        .await?;
    Ok(())
}

/// Counts one request from `bucket` (an address, or an address and a flow) in the
/// current fixed window, before it is served; `Some(seconds)` refuses it when the
/// window's `address_limit` is used up (nothing is counted then).
pub async fn reserve_address(
    db: &Db,
    config: &LockoutConfig,
    bucket: &str,
    now: i64,
) -> Result<Option<u64>, sqlx::Error> {
    if config.address_limit == 0 {
        return Ok(None);
    }
    let window = secs(config.address_window_seconds);
    let window_opened_before = now.saturating_sub(window);
    let granted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO throttles (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           hits = CASE WHEN throttles.window_start <= $3 THEN 1 ELSE throttles.hits + 1 END, \
           window_start = CASE WHEN throttles.window_start <= $3 THEN $2 \
                               ELSE throttles.window_start END \
         WHERE throttles.window_start <= $3 OR throttles.hits < $4 \
         RETURNING hits",
    )
    .bind(bucket)
    .bind(now)
    .bind(window_opened_before)
    .bind(i64::from(config.address_limit))
    .fetch_optional(db)
    .await?;
    if granted.is_some() {
        return Ok(None);
    }
    let start: Option<i64> =
        sqlx::query_scalar("SELECT window_start FROM throttles WHERE bucket = $1")
            .bind(bucket)
            .fetch_optional(db)
            .await?;
    let end = start.unwrap_or(now).saturating_add(window);
    Ok(Some(seconds_until(end, now)))
}

/// Gives back a request counted by [`reserve_address`] that turned out not to count
/// (a right password: only failures use up an address's budget).
pub async fn release_address(
    db: &Db,
    config: &LockoutConfig,
    bucket: &str,
) -> Result<(), sqlx::Error> {
    if config.address_limit == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE throttles SET hits = hits - 1 WHERE bucket = $1 AND hits > 0")
        .bind(bucket)
        .execute(db)
        .await?;
    Ok(())
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
