//! Sessions: an opaque access token (15 min) and a refresh token (30 days) per
//! signed-in device, stored only as SHA-256 hashes.
//!
//! Every refresh rotates both tokens. The used refresh token is kept (marked used)
//! until it expires: presenting it again means it was copied, so the whole session —
//! the token family — is revoked.

use latchkey_proto::{Device, Secret, SessionInfo};
use sqlx::{AnyConnection, Connection};

use crate::config::SessionConfig;
use crate::db::{rfc3339, secs, Backend, Db};
use crate::tokens::{hash_token, new_id, new_token};
use crate::users::{self, UserRow};

/// Freshly issued tokens of a session.
#[derive(Debug)]
pub struct Issued {
    pub session_id: String,
    pub access: Secret,
    pub refresh: Secret,
}

/// Starts a session for `user_id` on `device`.
pub async fn create(
    conn: &mut AnyConnection,
    config: &SessionConfig,
    user_id: &str,
    device: &Device,
    ip: Option<&str>,
    now: i64,
) -> Result<Issued, sqlx::Error> {
    let session_id = new_id();
    let (access, access_hash) = new_token("lka");
    let (refresh, refresh_hash) = new_token("lkr");
    let refresh_expires = now.saturating_add(secs(config.refresh_ttl_seconds));
    sqlx::query(
        "INSERT INTO sessions (id, user_id, access_hash, access_expires_at, \
         refresh_expires_at, device_id, device_name, device_platform, ip, created_at, \
         last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&session_id)
    .bind(user_id)
    .bind(&access_hash)
    .bind(now.saturating_add(secs(config.access_ttl_seconds)))
    .bind(refresh_expires)
    .bind(&device.id)
    .bind(&device.name)
    .bind(&device.platform)
    .bind(ip)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    insert_refresh(conn, &refresh_hash, &session_id, refresh_expires).await?;
    Ok(Issued {
        session_id,
        access,
        refresh,
    })
}

async fn insert_refresh(
    conn: &mut AnyConnection,
    hash: &str,
    session_id: &str,
    expires: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash)
    .bind(session_id)
    .bind(expires)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug)]
pub enum Refreshed {
    Rotated {
        issued: Issued,
        user: Box<UserRow>,
    },
    /// A used token came back: its session is now revoked.
    Reused {
        user_id: Option<String>,
    },
    /// Unknown, expired, revoked, or the account is disabled.
    Invalid,
}

/// The claim of a refresh token: it is marked used only if it is unused, unexpired,
/// and its session is live and its account enabled. At most one of several concurrent
/// claims of the same token matches (the row lock, or SQLite's single writer, orders
/// them; the later ones see `used_at` set).
const CLAIM: &str = "UPDATE refresh_tokens SET used_at = $1 \
     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
     AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL AND u.disabled = 0)";

static CLAIM_SQLITE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{CLAIM} RETURNING session_id"));

/// PostgreSQL: the whole rotation in one statement and one round trip — claim the
/// token, move the session to the new access token, store the new refresh token, and
/// return the account for the answer. A statement is atomic on its own, so no
/// transaction is opened. No row: the claim failed.
static ROTATE_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH claimed AS ({CLAIM} RETURNING session_id), \
         sess AS (UPDATE sessions SET access_hash = $3, access_expires_at = $4, \
           refresh_expires_at = $5, last_used_at = $1, ip = $6 \
           WHERE id = (SELECT session_id FROM claimed) RETURNING id, user_id), \
         fresh AS (INSERT INTO refresh_tokens (token_hash, session_id, expires_at) \
           SELECT $7, id, $5 FROM sess) \
         SELECT sess.id AS session_id, {} FROM sess JOIN users u ON u.id = sess.user_id",
        user_columns("u.")
    )
});

/// SQLite, after the claim and in its transaction: the rest of the rotation as one
/// call to the connection's worker thread (SQLite runs the statements of one query in
/// turn, binding `$n` across them; each call is a hand-off between threads, and
/// those hand-offs, not the statements, were most of the cost). The account comes
/// back as the one row.
static ROTATE_SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE sessions SET access_hash = $3, access_expires_at = $4, \
           refresh_expires_at = $5, last_used_at = $1, ip = $6 WHERE id = $2; \
         INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($7, $2, $5); \
         SELECT s.id AS session_id, {} FROM sessions s JOIN users u ON u.id = s.user_id \
           WHERE s.id = $2",
        user_columns("u.")
    )
});

fn user_columns(prefix: &str) -> String {
    users::COLUMNS
        .split(',')
        .map(|c| format!("{prefix}{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow)]
struct RotatedRow {
    session_id: String,
    #[sqlx(flatten)]
    user: UserRow,
}

/// Rotates a refresh token: marks it used and issues a new pair, atomically, and
/// returns the account. The rotation is committed before this returns.
pub async fn refresh(
    db: &Db,
    config: &SessionConfig,
    token: &Secret,
    ip: Option<&str>,
    now: i64,
) -> Result<Refreshed, sqlx::Error> {
    let hash = hash_token(token.expose());
    let (access, access_hash) = new_token("lka");
    let (refresh, refresh_hash) = new_token("lkr");
    let access_expires = now.saturating_add(secs(config.access_ttl_seconds));
    let refresh_expires = now.saturating_add(secs(config.refresh_ttl_seconds));
    let mut conn = db.acquire().await?;
    let rotated: Option<RotatedRow> = match Backend::of_connection(&conn) {
        Backend::Postgres => {
            let rotated = sqlx::query_as(&ROTATE_POSTGRES)
                .bind(now)
                .bind(&hash)
                .bind(&access_hash)
                .bind(access_expires)
                .bind(refresh_expires)
                .bind(ip)
                .bind(&refresh_hash)
                .fetch_optional(&mut *conn)
                .await?;
            if rotated.is_none() {
                let mut tx = conn.begin().await?;
                let outcome = reused_or_invalid(&mut tx, &hash, now).await?;
                tx.commit().await?;
                return Ok(outcome);
            }
            rotated
        }
        Backend::Sqlite => {
            let mut tx = conn.begin().await?;
            let claimed: Option<String> = sqlx::query_scalar(&CLAIM_SQLITE)
                .bind(now)
                .bind(&hash)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(session_id) = claimed else {
                let outcome = reused_or_invalid(&mut tx, &hash, now).await?;
                tx.commit().await?;
                return Ok(outcome);
            };
            // `fetch_all` drains the stream, so every statement runs.
            let rows: Vec<RotatedRow> = sqlx::query_as(&ROTATE_SQLITE)
                .bind(now)
                .bind(&session_id)
                .bind(&access_hash)
                .bind(access_expires)
                .bind(refresh_expires)
                .bind(ip)
                .bind(&refresh_hash)
                .fetch_all(&mut *tx)
                .await?;
            let rotated = rows.into_iter().next();
            if rotated.is_some() {
                tx.commit().await?;
            }
            rotated
        }
    };
    Ok(match rotated {
        Some(row) => Refreshed::Rotated {
            issued: Issued {
                session_id: row.session_id,
                access,
                refresh,
            },
            user: Box::new(row.user),
        },
        None => Refreshed::Invalid,
    })
}

/// After a failed claim: a token that was already used means it was copied, so its
/// session — the whole token family — is revoked. Anything else is just invalid.
async fn reused_or_invalid(
    conn: &mut AnyConnection,
    hash: &str,
    now: i64,
) -> Result<Refreshed, sqlx::Error> {
    let used: Option<String> = sqlx::query_scalar(
        "SELECT session_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(session_id) = used else {
        return Ok(Refreshed::Invalid);
    };
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
         RETURNING user_id",
    )
    .bind(now)
    .bind(&session_id)
    .fetch_optional(&mut *conn)
    .await?;
    tracing::warn!(session = %session_id, "refresh token reused; session revoked");
    Ok(Refreshed::Reused { user_id })
}

/// The session an access token belongs to.
#[derive(Debug, Clone)]
pub struct Authed {
    pub session_id: String,
    pub user_id: String,
}

pub enum Lookup {
    Valid(Authed),
    Expired,
    Unknown,
}

/// Resolves an access token; touches `last_used_at` at most once a minute.
pub async fn authenticate(db: &Db, token: &str, now: i64) -> Result<Lookup, sqlx::Error> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.user_id, s.access_expires_at, s.last_used_at FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.access_hash = $1 AND s.revoked_at IS NULL AND u.disabled = 0",
    )
    .bind(hash_token(token))
    .fetch_optional(db)
    .await?;
    let Some((session_id, user_id, expires, last_used)) = row else {
        return Ok(Lookup::Unknown);
    };
    if expires <= now {
        return Ok(Lookup::Expired);
    }
    if now - last_used > 60_000 {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&session_id)
            .execute(db)
            .await?;
    }
    Ok(Lookup::Valid(Authed {
        session_id,
        user_id,
    }))
}

/// Revokes one session of `user_id`; false if it is not theirs or already ended.
pub async fn revoke(
    db: &Db,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(session_id)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Revokes every session of `user_id` except `keep`.
pub async fn revoke_all(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
         AND id <> $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: String,
    device_id: String,
    device_name: String,
    device_platform: String,
    ip: Option<String>,
    created_at: i64,
    last_used_at: i64,
}

/// The user's live sessions, most recently used first.
pub async fn list(
    db: &Db,
    user_id: &str,
    current: &str,
    now: i64,
) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let rows: Vec<ListRow> = sqlx::query_as(
        "SELECT id, device_id, device_name, device_platform, ip, created_at, last_used_at \
         FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND refresh_expires_at > $2 \
         ORDER BY last_used_at DESC, id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionInfo {
            current: r.id == current,
            id: r.id,
            device: Device {
                id: r.device_id,
                name: r.device_name,
                platform: r.device_platform,
            },
            ip: r.ip,
            created_at: rfc3339(r.created_at),
            last_used_at: rfc3339(r.last_used_at),
        })
        .collect())
}

/// Deletes what can no longer matter: expired refresh tokens and challenges, and
/// sessions ended more than the refresh lifetime ago.
pub async fn prune(db: &Db, config: &SessionConfig, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM challenges WHERE expires_at < $1")
        .bind(now)
        .execute(db)
        .await?;
    let horizon = now.saturating_sub(secs(config.refresh_ttl_seconds));
    sqlx::query("DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR refresh_expires_at < $1")
        .bind(horizon)
        .execute(db)
        .await?;
    Ok(())
}
