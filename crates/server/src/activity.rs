//! The account's activity log: sign-in attempts and security events, which users see
//! under "recent activity" and IT reads when someone cannot get in. It never holds a
//! secret, and an attempt on an unknown identifier is stored without the identifier
//! (people type their password into the wrong field). Each record keeps the id of the
//! request that wrote it (issue 22), which the server's log lines of that request carry.

use latchkey_proto::{ActivityEntry, Device};

use crate::db::{rfc3339, Db};
use crate::tokens::new_ordered_id;

pub async fn record(
    db: &Db,
    user_id: Option<&str>,
    kind: &str,
    result: &str,
    device: &Device,
    ip: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    crate::ops::metrics::activity(kind, result);
    sqlx::query(
        "INSERT INTO activity (id, user_id, kind, result, device_id, device_name, \
         device_platform, ip, created_at, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_ordered_id(now))
    .bind(user_id)
    .bind(kind)
    .bind(result)
    .bind(crate::devices::stored_id(&device.id))
    .bind(&device.name)
    .bind(&device.platform)
    .bind(ip)
    .bind(now)
    .bind(crate::ops::request_id::current())
    .execute(db)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    result: String,
    device_id: String,
    device_name: String,
    device_platform: String,
    ip: Option<String>,
    created_at: i64,
    request_id: Option<String>,
}

/// The newest `limit` entries of the user.
pub async fn recent(db: &Db, user_id: &str, limit: u32) -> Result<Vec<ActivityEntry>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, result, device_id, device_name, device_platform, ip, created_at, \
         request_id FROM activity WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(user_id)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ActivityEntry {
            id: r.id,
            kind: r.kind,
            result: r.result,
            at: rfc3339(r.created_at),
            device: Device {
                id: r.device_id,
                name: r.device_name,
                platform: r.device_platform,
            },
            ip: r.ip,
            request_id: r.request_id,
        })
        .collect())
}
