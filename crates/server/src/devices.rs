//! Devices an account has signed in from (`known_devices`), for new-device
//! verification and the "new sign-in" notice.
//!
//! A device is known once a sign-in from it has completed (password, then any second
//! factor or device code). An empty device id is never known: a client that sends none
//! is treated as a new device every time.

use latchkey_proto::Device;
use sqlx::AnyConnection;

use crate::db::Db;

pub async fn is_known(db: &Db, user_id: &str, device_id: &str) -> Result<bool, sqlx::Error> {
    if device_id.is_empty() {
        return Ok(false);
    }
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT first_seen FROM known_devices WHERE user_id = $1 AND device_id = $2",
    )
    .bind(user_id)
    .bind(device_id)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Records a completed sign-in from `device`; true if the account never used it before.
pub async fn remember(
    conn: &mut AnyConnection,
    user_id: &str,
    device: &Device,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if device.id.is_empty() {
        return Ok(true);
    }
    let inserted = sqlx::query(
        "INSERT INTO known_devices (user_id, device_id, name, platform, first_seen, last_seen) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (user_id, device_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&device.id)
    .bind(&device.name)
    .bind(&device.platform)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(true);
    }
    sqlx::query(
        "UPDATE known_devices SET last_seen = $1, name = $2, platform = $3 \
         WHERE user_id = $4 AND device_id = $5",
    )
    .bind(now)
    .bind(&device.name)
    .bind(&device.platform)
    .bind(user_id)
    .bind(&device.id)
    .execute(&mut *conn)
    .await?;
    Ok(false)
}
