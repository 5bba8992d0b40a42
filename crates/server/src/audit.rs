//! The audit trail of admin actions (issue 18): who, with which role, when, from which
//! address, what, on whom, and what changed — never a secret (a new password is an
//! action without fields). Shown in the console (`GET /admin/v1/audit`) and streamed
//! as JSON lines for a SIEM (`latchkey-server audit export --since …`).

use latchkey_proto::{AdminRole, AuditChange, AuditEntry};
use sqlx::Row;

use crate::db::{rfc3339, Db};
use crate::tokens::new_ordered_id;
use crate::users::UserRow;

/// Who acted: an admin of the console, or the server's command line (no account).
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: Option<String>,
    pub role: Option<AdminRole>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn admin(user: &UserRow, role: AdminRole, ip: Option<&str>) -> Self {
        Self {
            user_id: Some(user.id.clone()),
            label: Some(user.label().to_owned()),
            role: Some(role),
            ip: ip.map(str::to_owned),
        }
    }

    /// `latchkey-server …` on the server's machine.
    pub fn command_line() -> Self {
        Self::default()
    }
}

/// A field's change, for [`record`].
pub fn change(field: &str, before: Option<&str>, after: Option<&str>) -> AuditChange {
    AuditChange {
        field: field.to_owned(),
        before: before.map(str::to_owned),
        after: after.map(str::to_owned),
    }
}

pub async fn record(
    db: &Db,
    actor: &Actor,
    action: &str,
    target: Option<&UserRow>,
    changes: &[AuditChange],
    now: i64,
) -> Result<(), sqlx::Error> {
    let id = target.map(|u| u.id.as_str());
    let label = target.map(UserRow::label);
    record_about(db, actor, action, (id, label), changes, now).await
}

/// [`record`] about an account named by its id and label (`None` for a deleted
/// account's label).
pub async fn record_about(
    db: &Db,
    actor: &Actor,
    action: &str,
    (target_id, target_label): (Option<&str>, Option<&str>),
    changes: &[AuditChange],
    now: i64,
) -> Result<(), sqlx::Error> {
    let changes = serde_json::to_string(changes).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO audit (id, at, actor_id, actor_label, role, ip, action, target_id, \
         target_label, changes, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new_ordered_id(now))
    .bind(now)
    .bind(&actor.user_id)
    .bind(&actor.label)
    .bind(actor.role.map(AdminRole::as_str))
    .bind(&actor.ip)
    .bind(action)
    .bind(target_id)
    .bind(target_label)
    .bind(changes)
    .bind(crate::ops::request_id::current())
    .execute(db)
    .await?;
    Ok(())
}

/// Erases an account's labels from the trail (it was deleted): the records stay, with
/// its id only.
pub async fn anonymise(db: &Db, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit SET target_label = NULL WHERE target_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    sqlx::query("UPDATE audit SET actor_label = NULL WHERE actor_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

fn entry(row: &sqlx::any::AnyRow) -> AuditEntry {
    let changes: Option<String> = row.get("changes");
    let role: Option<String> = row.get("role");
    AuditEntry {
        id: row.get("id"),
        at: rfc3339(row.get("at")),
        actor_id: row.get("actor_id"),
        actor: row.get("actor_label"),
        role: role.as_deref().and_then(AdminRole::parse),
        ip: row.get("ip"),
        action: row.get("action"),
        target_id: row.get("target_id"),
        target: row.get("target_label"),
        changes: changes
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
        request_id: row.get("request_id"),
    }
}

const COLUMNS: &str = "id, at, actor_id, actor_label, role, ip, action, target_id, \
                       target_label, changes, request_id";

/// The newest `limit` records, optionally only about one account; newest first.
pub async fn recent(
    db: &Db,
    target_id: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = match target_id {
        Some(t) => {
            sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit WHERE target_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
        ))
            .bind(t)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM audit ORDER BY at DESC, id DESC LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        }
    };
    Ok(rows.iter().map(entry).collect())
}

/// Records from `since` (ms) on, oldest first, `batch` at a time after `(at, id)`: what
/// `audit export` streams.
pub async fn since(
    db: &Db,
    after: (i64, &str),
    batch: u32,
) -> Result<Vec<(i64, AuditEntry)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit WHERE at > $1 OR (at = $1 AND id > $2) \
         ORDER BY at, id LIMIT $3"
    ))
    .bind(after.0)
    .bind(after.1)
    .bind(i64::from(batch))
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(|r| (r.get("at"), entry(r))).collect())
}
