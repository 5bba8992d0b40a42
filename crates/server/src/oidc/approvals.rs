//! The desktop app approves a browser sign-in (number matching), and opens an
//! application in the browser signed in (launch tickets).
//!
//! An approval is made by the browser's sign-in page for one authorization request;
//! its id travels to the app in `latchkey://approve?id=…`. The app, signed in, reads
//! it and answers once, within 2 minutes, with the number the browser shows (one try:
//! a wrong number cancels it). The browser, polling, then uses it once. An approval
//! made after the browser typed an identifier is for that account only.
//!
//! The sign-in the browser gets is as strong as the app's session. A live session of
//! an account with two-step verification on has passed it: every sign-in of such an
//! account asks for the second factor, and turning it on ends every other session. So
//! the approval counts as two-factor exactly when the account has it on.

use latchkey_proto::Secret;
use rand::seq::SliceRandom;
use rand::Rng;
use sqlx::Row;

use crate::db::Db;
use crate::tokens::{hash_token, new_id, new_token};

/// How long an approval waits for the app.
pub const APPROVAL_TTL_MS: i64 = 2 * 60 * 1000;
/// How long a launch ticket lives.
pub const TICKET_TTL_SECONDS: u64 = 30;
pub const TICKET_PREFIX: &str = "lkt";

pub const PENDING: &str = "pending";
pub const ALLOWED: &str = "allowed";
pub const DENIED: &str = "denied";
pub const MISMATCH: &str = "mismatch";
pub const USED: &str = "used";

#[derive(Clone, Debug)]
pub struct Approval {
    pub id: String,
    pub request_id: String,
    pub user_id: Option<String>,
    pub number: u8,
    pub browser: String,
    pub ip: Option<String>,
    pub status: String,
    pub session_id: Option<String>,
    pub expires_at: i64,
}

/// A new approval for the authorization request `request_id`.
pub async fn create(
    db: &Db,
    request_id: &str,
    user_id: Option<&str>,
    browser: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<Approval, sqlx::Error> {
    let number: u8 = rand::rngs::OsRng.gen_range(10..=99);
    let id = new_id();
    sqlx::query(
        "INSERT INTO approvals (id, request_id, user_id, number, browser, ip, status, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(user_id)
    .bind(i64::from(number))
    .bind(browser)
    .bind(ip)
    .bind(PENDING)
    .bind(now)
    .bind(now + APPROVAL_TTL_MS)
    .execute(db)
    .await?;
    Ok(Approval {
        id,
        request_id: request_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        number,
        browser: browser.to_owned(),
        ip: ip.map(str::to_owned),
        status: PENDING.into(),
        session_id: None,
        expires_at: now + APPROVAL_TTL_MS,
    })
}

/// The approval `id`, whatever its state.
pub async fn get(db: &Db, id: &str) -> Result<Option<Approval>, sqlx::Error> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT id, request_id, user_id, number, browser, ip, status, session_id, expires_at \
         FROM approvals WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Approval {
        id: r.get("id"),
        request_id: r.get("request_id"),
        user_id: r.get("user_id"),
        number: u8::try_from(r.get::<i64, _>("number")).unwrap_or(0),
        browser: r.get("browser"),
        ip: r.get("ip"),
        status: r.get("status"),
        session_id: r.get("session_id"),
        expires_at: r.get("expires_at"),
    }))
}

/// Three numbers for the app: the browser's and two others, shuffled.
pub fn choices(number: u8) -> Vec<u8> {
    let mut rng = rand::rngs::OsRng;
    let mut v = vec![number];
    while v.len() < 3 {
        let n: u8 = rng.gen_range(10..=99);
        if !v.contains(&n) {
            v.push(n);
        }
    }
    v.shuffle(&mut rng);
    v
}

/// Records the app's answer, once: `status` is [`ALLOWED`], [`DENIED`] or
/// [`MISMATCH`]. False when it was answered already, expired, or is for another
/// account.
pub async fn decide(
    db: &Db,
    id: &str,
    user_id: &str,
    session_id: &str,
    status: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE approvals SET status = $1, user_id = $2, session_id = $3, decided_at = $4 \
         WHERE id = $5 AND status = 'pending' AND expires_at > $4 \
         AND (user_id IS NULL OR user_id = $2)",
    )
    .bind(status)
    .bind(user_id)
    .bind(session_id)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The browser takes an allowed approval, once.
pub async fn take(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE approvals SET status = 'used' WHERE id = $1 AND status = 'allowed'")
            .bind(id)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A launch ticket for `client_id`, made by the app's session.
pub async fn ticket(
    db: &Db,
    client_id: &str,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    let (ticket, hash) = new_token(TICKET_PREFIX);
    sqlx::query(
        "INSERT INTO launch_tickets (ticket_hash, client_id, user_id, session_id, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(client_id)
    .bind(user_id)
    .bind(session_id)
    .bind(now + (TICKET_TTL_SECONDS as i64) * 1000)
    .execute(db)
    .await?;
    Ok(ticket)
}

/// A used ticket: the application, the account and the app's session, if the ticket
/// was live and its session still is. Used once, whatever the outcome.
pub async fn use_ticket(
    db: &Db,
    ticket: &str,
    now: i64,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    if !ticket.starts_with("lkt_") || ticket.len() > 100 {
        return Ok(None);
    }
    let hash = hash_token(ticket);
    let used = sqlx::query(
        "UPDATE launch_tickets SET used_at = $1 WHERE ticket_hash = $2 AND used_at IS NULL \
         AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .execute(db)
    .await?
    .rows_affected();
    if used != 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT t.client_id, t.user_id, t.session_id FROM launch_tickets t \
         JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = t.user_id \
         WHERE t.ticket_hash = $1 AND s.revoked_at IS NULL AND u.disabled = 0",
    )
    .bind(&hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.get("client_id"), r.get("user_id"), r.get("session_id"))))
}

/// The janitor: approvals and tickets past their time.
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    // An approval is kept a while after it expires, so the browser can still be told.
    for (sql, at) in [
        (
            "DELETE FROM approvals WHERE expires_at < $1",
            now - 3_600_000,
        ),
        ("DELETE FROM launch_tickets WHERE expires_at < $1", now),
    ] {
        n += sqlx::query(sql).bind(at).execute(db).await?.rows_affected();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_different_numbers_one_of_them_the_browsers() {
        for _ in 0..200 {
            let n = rand::rngs::OsRng.gen_range(10..=99);
            let c = choices(n);
            assert_eq!(c.len(), 3);
            assert!(c.contains(&n));
            assert!(c[0] != c[1] && c[1] != c[2] && c[0] != c[2]);
            assert!(c.iter().all(|x| (10..=99).contains(x)));
        }
    }
}
