//! Send caps of the messages that carry a code (reset codes, device codes): at
//! most one per resend window and `max_per_hour` per subject, whatever arrives at once.
//!
//! [`reserve`] runs inside the transaction that queues the message. Its first statement
//! upserts the subject's `send_limits` row, which locks that row on PostgreSQL until
//! the transaction ends (and on SQLite takes the database's write lock), so the
//! requests of a burst count one after the other: each sees the sends the earlier ones
//! committed. The log of sends (`sends`) is kept for an hour by the janitor, apart from
//! the challenges a send made, which may be deleted sooner.

use sqlx::AnyConnection;

use crate::db::{seconds_until, secs};

/// A subject's caps.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub resend_after_seconds: u64,
    pub max_per_hour: u32,
}

/// Which cap refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    Resend,
    Hourly,
}

/// A refused send: which cap, and the seconds until it allows one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub cap: Cap,
    pub wait: u64,
}

/// Counts a send for `subject` in the caller's transaction, or answers why not and
/// how long to wait (nothing is counted then).
pub async fn reserve(
    tx: &mut AnyConnection,
    subject: &str,
    caps: Caps,
    now: i64,
) -> Result<Result<(), Refused>, sqlx::Error> {
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO send_limits (subject, last_sent_at) VALUES ($1, 0) \
         ON CONFLICT (subject) DO UPDATE SET last_sent_at = send_limits.last_sent_at \
         RETURNING last_sent_at",
    )
    .bind(subject)
    .fetch_one(&mut *tx)
    .await?;
    let resend_at = last.saturating_add(secs(caps.resend_after_seconds));
    if caps.resend_after_seconds > 0 && resend_at > now {
        return Ok(Err(Refused {
            cap: Cap::Resend,
            wait: seconds_until(resend_at, now),
        }));
    }
    let hour = secs(3600);
    let recent: Vec<i64> = sqlx::query_scalar(
        "SELECT sent_at FROM sends WHERE subject = $1 AND sent_at > $2 ORDER BY sent_at",
    )
    .bind(subject)
    .bind(now.saturating_sub(hour))
    .fetch_all(&mut *tx)
    .await?;
    if recent.len() >= caps.max_per_hour.max(1) as usize {
        let free_at = recent.first().copied().unwrap_or(now).saturating_add(hour);
        return Ok(Err(Refused {
            cap: Cap::Hourly,
            wait: seconds_until(free_at, now),
        }));
    }
    sqlx::query("INSERT INTO sends (subject, sent_at) VALUES ($1, $2)")
        .bind(subject)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE send_limits SET last_sent_at = $1 WHERE subject = $2")
        .bind(now)
        .bind(subject)
        .execute(&mut *tx)
        .await?;
    Ok(Ok(()))
}
