//! Server-wide switches the admin CLI and the console set and every server process
//! reads from the database: maintenance mode, the minimum client version, the
//! policies set in the console ([`crate::policy`]) and when the two-factor
//! requirement began.
//!
//! The guard needs them on every request, so each process keeps them for at most
//! [`CACHE_TTL_MS`] ([`Cache`]): a change made by another process (the admin CLI,
//! a sibling server) takes effect here within a second, and one made through this
//! process's own [`AppState`](crate::AppState) at once.

use std::sync::{Arc, PoisonError, RwLock};

use latchkey_proto::Maintenance;

use crate::db::Db;

const MAINTENANCE: &str = "maintenance";
const MIN_CLIENT_VERSION: &str = "min_client_version";
const DOWNLOAD_URL: &str = "download_url";
const POLICY: &str = "policy";
const TWO_FACTOR_SINCE: &str = "two_factor_since";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Switches {
    pub maintenance: Option<Maintenance>,
    pub min_client_version: Option<String>,
    pub download_url: Option<String>,
    /// The policies set in the console, as stored (JSON).
    pub policy: Option<String>,
    /// The two-factor requirement in force (`admins`, `everyone`) and since when (ms):
    /// the grace period counts from then.
    pub two_factor_since: Option<(String, i64)>,
}

pub async fn load(db: &Db) -> Result<Switches, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM settings")
        .fetch_all(db)
        .await?;
    let mut s = Switches::default();
    for (name, value) in rows {
        match name.as_str() {
            MAINTENANCE => {
                s.maintenance = serde_json::from_str::<StoredMaintenance>(&value)
                    .ok()
                    .map(|m| Maintenance {
                        message: m.message,
                        until: m.until,
                    });
            }
            MIN_CLIENT_VERSION => s.min_client_version = Some(value),
            DOWNLOAD_URL => s.download_url = Some(value),
            POLICY => s.policy = Some(value),
            TWO_FACTOR_SINCE => {
                s.two_factor_since = value
                    .split_once(':')
                    .and_then(|(level, at)| Some((level.to_owned(), at.parse().ok()?)));
            }
            _ => {}
        }
    }
    Ok(s)
}

/// How long a process trusts the switches it read (ms).
pub const CACHE_TTL_MS: i64 = 1_000;

/// The switches last read and when (clock ms), shared by a process's requests.
#[derive(Debug, Default)]
pub struct Cache {
    slot: RwLock<Option<(i64, Arc<Switches>)>>,
}

impl Cache {
    /// The switches, from memory if read less than [`CACHE_TTL_MS`] before `now`.
    pub async fn get(&self, db: &Db, now: i64) -> Result<Arc<Switches>, sqlx::Error> {
        if let Some((at, s)) = &*self.slot.read().unwrap_or_else(PoisonError::into_inner) {
            // A clock that went backwards also means "read again".
            if (0..CACHE_TTL_MS).contains(&(now - at)) {
                return Ok(s.clone());
            }
        }
        // Stamped with the time before the read, so the value is never older than
        // its stamp says. Concurrent misses each read; the last one stored wins.
        let fresh = Arc::new(load(db).await?);
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = Some((now, fresh.clone()));
        Ok(fresh)
    }

    /// Forgets the switches, so that the next request reads them again.
    pub fn invalidate(&self) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMaintenance {
    message: String,
    until: Option<String>,
}

async fn put(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    value: Option<&str>,
) -> Result<(), sqlx::Error> {
    match value {
        Some(v) => {
            sqlx::query(
                "INSERT INTO settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(name)
            .bind(v)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM settings WHERE name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

pub async fn set_maintenance(db: &Db, m: Option<&Maintenance>) -> Result<(), sqlx::Error> {
    let json = m.map(|m| {
        serde_json::to_string(&StoredMaintenance {
            message: m.message.clone(),
            until: m.until.clone(),
        })
        .unwrap_or_default()
    });
    put(&mut *db.acquire().await?, MAINTENANCE, json.as_deref()).await
}

pub async fn set_min_client_version(
    db: &Db,
    version: Option<&str>,
    download_url: Option<&str>,
) -> Result<(), sqlx::Error> {
    // One transaction: another process reading the switches between the two would
    // send outdated clients to the old download address (or none).
    let mut tx = db.begin().await?;
    put(&mut tx, MIN_CLIENT_VERSION, version).await?;
    put(&mut tx, DOWNLOAD_URL, download_url).await?;
    tx.commit().await
}

/// The minimum client version as stored now (not cached).
pub async fn min_client_version(db: &Db) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
        .bind(MIN_CLIENT_VERSION)
        .fetch_optional(db)
        .await
}

/// Sets the minimum client version to `new` if it is still `expected` (`None`: none
/// set); `false` when another writer changed it first. One statement: PostgreSQL
/// re-checks the `WHERE` on the row a concurrent writer left, and its `INSERT … DO
/// NOTHING` waits for a concurrent insert; SQLite runs it under its write lock. The
/// download URL is not touched.
pub async fn replace_min_client_version(
    db: &Db,
    expected: Option<&str>,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let done = match expected {
        Some(old) => {
            sqlx::query("UPDATE settings SET value = $1 WHERE name = $2 AND value = $3")
                .bind(new)
                .bind(MIN_CLIENT_VERSION)
                .bind(old)
                .execute(db)
                .await?
        }
        None => {
            sqlx::query(
                "INSERT INTO settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(MIN_CLIENT_VERSION)
            .bind(new)
            .execute(db)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Stores the policies set in the console (`None`: none).
pub async fn set_policy(db: &Db, json: Option<&str>) -> Result<(), sqlx::Error> {
    put(&mut *db.acquire().await?, POLICY, json).await
}

/// Records that the two-factor requirement `level` applies from `at` (ms), unless the
/// same level was already recorded (by this or another process); `None` clears it.
pub async fn mark_two_factor_since(
    db: &Db,
    level: Option<&str>,
    at: i64,
) -> Result<(), sqlx::Error> {
    match level {
        Some(level) => {
            sqlx::query(
                "INSERT INTO settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value \
                 WHERE settings.value NOT LIKE $3",
            )
            .bind(TWO_FACTOR_SINCE)
            .bind(format!("{level}:{at}"))
            .bind(format!("{level}:%"))
            .execute(db)
            .await?;
            Ok(())
        }
        None => put(&mut *db.acquire().await?, TWO_FACTOR_SINCE, None).await,
    }
}

/// Parses `X.Y.Z` (a leading `v` and a `-pre`/`+build` suffix are ignored).
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// True when `client` is older than `min` (an unparsable client version counts as
/// older: the server cannot vouch for it).
pub fn is_outdated(client: &str, min: &str) -> bool {
    match (parse_version(client), parse_version(min)) {
        (Some(c), Some(m)) => c < m,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("1.2.3"), Some((1, 2, 3)));
        assert_eq!(parse_version("v2.0"), Some((2, 0, 0)));
        assert_eq!(parse_version("1.10.0-beta.1"), Some((1, 10, 0)));
        assert_eq!(parse_version("1.2.3.4"), None);
        assert_eq!(parse_version("abc"), None);
        assert!(is_outdated("1.9.9", "1.10.0"));
        assert!(!is_outdated("1.10.0", "1.10.0"));
        assert!(!is_outdated("2.0.0", "1.10.0"));
        assert!(is_outdated("garbage", "1.0.0"));
    }
}
