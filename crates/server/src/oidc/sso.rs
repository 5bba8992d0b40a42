//! A browser's single sign-on: after the sign-in pages, the browser holds a cookie
//! (`lks_…`, `HttpOnly`, `SameSite=Lax`, `Secure` over https) whose SHA-256 names a
//! row here. The row stands on a Latchkey session made by the same sign-in (it is in
//! the person's list of sessions, as "Web browser"): revoking that session — sign out
//! everywhere, a password change, an administrator — ends the single sign-on too.

use latchkey_proto::Secret;
use sqlx::Row;

use super::Amr;
use crate::db::Db;
use crate::tokens::{hash_token, new_token};

pub const PREFIX: &str = "lks";

/// A live single sign-on.
#[derive(Clone, Debug)]
pub struct Sso {
    pub token_hash: String,
    pub session_id: String,
    pub user_id: String,
    pub auth_time: i64,
    pub amr: Amr,
}

/// Opens a single sign-on on `session_id`; returns the cookie's value.
pub async fn create(
    db: &Db,
    session_id: &str,
    user_id: &str,
    amr: &Amr,
    ttl_seconds: u64,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    let (token, hash) = new_token(PREFIX);
    sqlx::query(
        "INSERT INTO sso_sessions (token_hash, session_id, user_id, auth_time, amr, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $4, $6)",
    )
    .bind(hash)
    .bind(session_id)
    .bind(user_id)
    .bind(now)
    .bind(amr.stored())
    .bind(now + (ttl_seconds as i64) * 1000)
    .execute(db)
    .await?;
    Ok(token)
}

/// The single sign-on a cookie names, if it and its session are live and the account
/// is enabled.
pub async fn find(db: &Db, cookie: &str, now: i64) -> Result<Option<Sso>, sqlx::Error> {
    if !cookie.starts_with("lks_") || cookie.len() > 100 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT o.token_hash, o.session_id, o.user_id, o.auth_time, o.amr \
         FROM sso_sessions o JOIN sessions s ON s.id = o.session_id \
         JOIN users u ON u.id = o.user_id \
         WHERE o.token_hash = $1 AND o.revoked_at IS NULL AND o.expires_at > $2 \
         AND s.revoked_at IS NULL AND (s.absolute_expires_at = 0 OR s.absolute_expires_at > $2) \
         AND u.disabled = 0",
    )
    .bind(hash_token(cookie))
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Sso {
        token_hash: r.get("token_hash"),
        session_id: r.get("session_id"),
        user_id: r.get("user_id"),
        auth_time: r.get("auth_time"),
        amr: Amr::parse(&r.get::<String, _>("amr")),
    }))
}

/// Ends a single sign-on (end-session): the row, the session it stands on, and the
/// grants it made that were not given `offline_access`.
pub async fn end(db: &Db, sso: &Sso, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sso_sessions SET revoked_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(&sso.token_hash)
        .execute(db)
        .await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(&sso.session_id)
        .execute(db)
        .await?;
    super::grants::revoke_for_sso(db, &sso.token_hash, now).await
}

/// A new sign-in in a browser that had a single sign-on: the old one ends (its row and
/// its session). The same person's grants move to the new one, so that end-session
/// still ends them; another person's end with the old one.
pub async fn supersede(
    db: &Db,
    old: &Sso,
    new_token_hash: &str,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    if old.user_id == user_id {
        sqlx::query("UPDATE oidc_grants SET sso_token = $1 WHERE sso_token = $2")
            .bind(new_token_hash)
            .bind(&old.token_hash)
            .execute(db)
            .await?;
    }
    end(db, old, now).await
}

/// The janitor: single sign-ons expired or ended. An ended one has `revoked_at` set to
/// the time it ended, which is not after now: `revoked_at <= now` (rather than `IS NOT
/// NULL`) lets both halves use an index (migration 0015).
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM sso_sessions WHERE expires_at <= $1 OR revoked_at <= $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
