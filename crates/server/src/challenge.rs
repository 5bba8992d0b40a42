//! Short-lived single-use tokens that join two steps of a flow, such as the
//! `change_token` between `password_change_required` and `POST /v1/auth/password`.

use latchkey_proto::Secret;
use sqlx::AnyConnection;

use crate::db::{secs, Db};
use crate::tokens::{hash_token, new_token};

/// The forced change's `change_token` (the stored kind keeps its first name).
pub const FORCED_CHANGE: &str = "password_change";

pub async fn create(
    db: &Db,
    kind: &str,
    user_id: &str,
    ttl_seconds: u64,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    let (token, hash) = new_token("lkc");
    sqlx::query(
        "INSERT INTO challenges (token_hash, kind, user_id, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(kind)
    .bind(user_id)
    .bind(now.saturating_add(secs(ttl_seconds)))
    .execute(db)
    .await?;
    Ok(token)
}

/// The user a live (unused, unexpired) token of `kind` belongs to.
pub async fn peek(
    db: &Db,
    kind: &str,
    token: &Secret,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM challenges WHERE token_hash = $1 AND kind = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(token.expose()))
    .bind(kind)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Marks the token used; false if someone else used it first (or it expired).
pub async fn consume(
    conn: &mut AnyConnection,
    kind: &str,
    token: &Secret,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE challenges SET used_at = $1 WHERE token_hash = $2 AND kind = $3 \
         AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(hash_token(token.expose()))
    .bind(kind)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The second step of a sign-in with two-factor authentication (`mfa_token`).
pub const MFA: &str = "mfa";

/// Like [`create`], with `data` kept beside the token (such as the device a sign-in
/// started on, so that the session made at the next step names it).
pub async fn create_with_data(
    db: &Db,
    kind: &str,
    user_id: &str,
    data: &str,
    ttl_seconds: u64,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    let (token, hash) = new_token("lkc");
    sqlx::query(
        "INSERT INTO challenges (token_hash, kind, user_id, data, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(kind)
    .bind(user_id)
    .bind(data)
    .bind(now.saturating_add(secs(ttl_seconds)))
    .execute(db)
    .await?;
    Ok(token)
}

/// A live token's owner and data.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Live {
    pub user_id: String,
    pub data: String,
}

/// The owner and data of a live (unused, unexpired) token of `kind`.
pub async fn peek_live(
    db: &Db,
    kind: &str,
    token: &Secret,
    now: i64,
) -> Result<Option<Live>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, data FROM challenges WHERE token_hash = $1 AND kind = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(token.expose()))
    .bind(kind)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Uses up all but the `keep` newest live tokens of `kind` of an account, so that the
/// live ones stay bounded however many are asked for (a right password mints an
/// `mfa_token` each time).
pub async fn keep_newest(
    db: &Db,
    kind: &str,
    user_id: &str,
    keep: u32,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE challenges SET used_at = $1 \
         WHERE kind = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $1 \
         AND token_hash NOT IN (SELECT token_hash FROM challenges \
           WHERE kind = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $1 \
           ORDER BY expires_at DESC, token_hash LIMIT $4)",
    )
    .bind(now)
    .bind(kind)
    .bind(user_id)
    .bind(i64::from(keep))
    .execute(db)
    .await?;
    Ok(())
}

/// Counts a try against a live token before its code is checked: `Some(count)` if it
/// had tries left (at `max` the token is used up unless the code is right: see
/// [`settle_attempt`]), `None` if it is no longer live or its tries are used up.
pub async fn reserve_attempt(
    db: &Db,
    kind: &str,
    token: &Secret,
    max: u32,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE challenges SET attempts = attempts + 1 \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3 \
         AND attempts < $4 RETURNING attempts",
    )
    .bind(hash_token(token.expose()))
    .bind(kind)
    .bind(now)
    .bind(i64::from(max))
    .fetch_optional(db)
    .await
}

/// After a wrong code on a reserved try: a token whose tries are all used is used up.
/// True if it is.
pub async fn settle_attempt(
    db: &Db,
    kind: &str,
    token: &Secret,
    max: u32,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE challenges SET used_at = $1 \
         WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND attempts >= $4",
    )
    .bind(now)
    .bind(hash_token(token.expose()))
    .bind(kind)
    .bind(i64::from(max))
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}
