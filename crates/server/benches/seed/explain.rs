//! Query plans of the server's statements: `EXPLAIN QUERY PLAN` on SQLite, the generic
//! plan (`plan_cache_mode = force_generic_plan`, `EXPLAIN EXECUTE`) on PostgreSQL, with
//! every parameter NULL — the plan is made before any value is known, as a prepared
//! statement's is. Shared by the seeding tool (`--explain`) and `tests/plans.rs`.

#![allow(dead_code)]

use sqlx::{AnyConnection, Row};

/// How many parameters (`$1` … `$N`) a statement has.
pub fn params(statement: &str) -> usize {
    let bytes = statement.as_bytes();
    let mut max = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = statement[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                max = max.max(n);
            }
            i += 1 + digits.len();
        } else {
            i += 1;
        }
    }
    max
}

/// SQLite's plan: one line per step, indented by depth.
pub async fn sqlite_plan(conn: &mut AnyConnection, statement: &str) -> sqlx::Result<Vec<String>> {
    let sql = format!("EXPLAIN QUERY PLAN {statement}");
    let mut query = sqlx::query(&sql);
    for _ in 0..params(statement) {
        query = query.bind(None::<String>);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(3).unwrap_or_default())
        .collect())
}

/// PostgreSQL's generic plan.
pub async fn postgres_plan(conn: &mut AnyConnection, statement: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("PREPARE lk_plan AS {statement}"))
        .execute(&mut *conn)
        .await?;
    let nulls = vec!["NULL"; params(statement)].join(", ");
    let execute = if nulls.is_empty() {
        "EXPLAIN EXECUTE lk_plan".to_owned()
    } else {
        format!("EXPLAIN EXECUTE lk_plan({nulls})")
    };
    let rows = sqlx::query(&execute).fetch_all(&mut *conn).await;
    sqlx::query("DEALLOCATE lk_plan")
        .execute(&mut *conn)
        .await?;
    Ok(rows?
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
        .collect())
}

/// The steps of a SQLite plan that read a whole table of `tables` (`SCAN users`; a
/// `SCAN` of a CTE or a constant row is not one).
pub fn full_scans(plan: &[String], tables: &[String]) -> Vec<String> {
    plan.iter()
        .filter(|line| {
            let Some(rest) = line.trim().strip_prefix("SCAN ") else {
                return false;
            };
            let name = rest.split_whitespace().next().unwrap_or_default();
            tables.iter().any(|t| t == name)
        })
        .cloned()
        .collect()
}

/// The steps of a PostgreSQL plan that read a whole table (`Seq Scan on users`).
pub fn seq_scans(plan: &[String]) -> Vec<String> {
    plan.iter()
        .filter(|line| line.contains("Seq Scan on"))
        .cloned()
        .collect()
}

/// The statements of `file`, one per line.
pub fn read(file: &str) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(file)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
