//! Devices an account has signed in from (`known_devices`), for new-device
//! verification, the remembered device's own sign-in budget and the "new sign-in"
//! notice.
//!
//! A device is known once a sign-in from it has completed (password, then any second
//! factor or device code). An empty device id is never known: a client that sends none
//! is treated as a new device every time.
//!
//! A device id skips the device code and has a lockout budget of its own, so it is a
//! secret of the device (the app keeps it in the keychain): the server stores only its
//! SHA-256 ([`stored_id`]) — in `known_devices`, `sessions` and `activity` — and so
//! never shows it back.

use latchkey_proto::Device;
use sqlx::AnyConnection;

use crate::db::Db;
use crate::tokens::hash_token;

/// What the database keeps of a device id: its SHA-256, or empty for no id.
pub fn stored_id(device_id: &str) -> String {
    if device_id.is_empty() {
        String::new()
    } else {
        hash_token(&format!("device:{device_id}"))
    }
}

/// The lockout subject of a remembered device of an account: its own budget, so that
/// a stranger's failures elsewhere never lock the owner out of a familiar computer.
pub fn subject(user_id: &str, device_id: &str) -> String {
    format!("device:{user_id}:{}", stored_id(device_id))
}

/// Whether the account completed a sign-in from `device_id` before. Without an
/// account, the same look-up runs for nothing, so that both cost one round trip.
pub async fn is_known(
    db: &Db,
    user_id: Option<&str>,
    device_id: &str,
) -> Result<bool, sqlx::Error> {
    let stored = stored_id(device_id);
    let found: Option<String> = sqlx::query_scalar(
        "SELECT device_id FROM known_devices WHERE user_id = $1 AND device_id IN ($2, $3)",
    )
    .bind(user_id.unwrap_or(""))
    .bind(&stored)
    .bind(device_id)
    .fetch_optional(db)
    .await?;
    let (Some(found), Some(user_id)) = (found, user_id) else {
        return Ok(false);
    };
    if device_id.is_empty() {
        return Ok(false);
    }
    if found == device_id {
        // Remembered before ids were stored hashed: re-key it now.
        sqlx::query(
            "UPDATE known_devices SET device_id = $1 WHERE user_id = $2 AND device_id = $3",
        )
        .bind(&stored)
        .bind(user_id)
        .bind(device_id)
        .execute(db)
        .await?;
    }
    Ok(true)
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
    let stored = stored_id(&device.id);
    let inserted = sqlx::query(
        "INSERT INTO known_devices (user_id, device_id, name, platform, first_seen, last_seen) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (user_id, device_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&stored)
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
    .bind(&stored)
    .execute(&mut *conn)
    .await?;
    Ok(false)
}
