//! Console roles (issue 18): an account is given `helpdesk` or `admin` from the server's
//! command line (`latchkey-server admin grant|revoke|list`); the admin API and the
//! console act only for accounts with a role (and two-factor authentication on).

use latchkey_proto::AdminRole;
use sqlx::Row;

use crate::db::Db;
use crate::users::{self, UserRow};

/// The role of an account, if it has one.
pub async fn of(db: &Db, user_id: &str) -> Result<Option<AdminRole>, sqlx::Error> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM admin_roles WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(role.as_deref().and_then(AdminRole::parse))
}

/// Gives `role` to the account (replacing another); the role it had before.
pub async fn grant(
    db: &Db,
    user_id: &str,
    role: AdminRole,
    now: i64,
) -> Result<Option<AdminRole>, sqlx::Error> {
    let before = of(db, user_id).await?;
    sqlx::query(
        "INSERT INTO admin_roles (user_id, role, granted_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at",
    )
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(db)
    .await?;
    Ok(before)
}

/// Takes the account's role away; the role it had.
pub async fn revoke(db: &Db, user_id: &str) -> Result<Option<AdminRole>, sqlx::Error> {
    let before = of(db, user_id).await?;
    sqlx::query("DELETE FROM admin_roles WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(before)
}

/// Every account with a role, with it and since when (ms).
pub async fn list(db: &Db) -> Result<Vec<(UserRow, AdminRole, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT user_id, role, granted_at FROM admin_roles ORDER BY granted_at, user_id",
    )
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let user_id: String = row.get("user_id");
        let role: String = row.get("role");
        let (Some(user), Some(role)) = (users::by_id(db, &user_id).await?, AdminRole::parse(&role))
        else {
            continue;
        };
        out.push((user, role, row.get("granted_at")));
    }
    Ok(out)
}
