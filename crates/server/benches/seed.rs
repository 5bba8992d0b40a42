//! Seeding tool: a database with a million accounts and their side tables, for the
//! benchmarks of issue 20 (`docs/benchmarks.md`, "A million accounts").
//!
//! ```sh
//! cargo bench -p latchkey-server --bench seed -- --database sqlite:///dev/shm/lk1m.db
//! cargo bench -p latchkey-server --bench seed -- --database postgres://… --accounts 1000000
//! ```
//!
//! It migrates the database with the server's own migrations, then inserts, in
//! transactions of [`CHUNK`] accounts, per account: the account (`user{i}@seed.example`,
//! password [`PASSWORD`]), 10 activity rows, 2 sessions each with its live refresh
//! token, 2 known devices; and 100,000 lockout rows and 100,000 per-address throttle
//! rows. Every account shares one precomputed argon2id hash (a hash costs tens of
//! milliseconds: a million would take hours), except the first [`OWN_HASHES`], which
//! get their own. The rows are made by the database itself (`seed/sql.rs`). It prints
//! how long each table took, and with `--explain FILE` it prints the query plans of
//! the statements in FILE (one per line, as `tests/plans.rs` writes them) instead.

#[path = "seed/explain.rs"]
mod explain;
#[path = "seed/sql.rs"]
mod sql;

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sqlx::{AnyPool, Executor};

use sql::Kind;

/// The password of every seeded account.
pub const PASSWORD: &str = "Plum-orchard-violin-73";
/// Accounts per transaction.
const CHUNK: i64 = 50_000;
/// Accounts hashed one by one (the rest share a hash).
const OWN_HASHES: i64 = 16;
const LOCKOUTS: i64 = 100_000;
const THROTTLES: i64 = 100_000;

struct Args {
    database: String,
    accounts: i64,
    explain: Option<String>,
}

fn args() -> Result<Args> {
    let mut database = None;
    let mut accounts = 1_000_000;
    let mut explain = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // cargo bench adds it.
            "--bench" => {}
            "--database" => database = it.next(),
            "--accounts" => accounts = it.next().context("--accounts N")?.parse()?,
            "--explain" => explain = it.next(),
            other => {
                bail!("unknown argument {other:?} (--database URL, --accounts N, --explain FILE)")
            }
        }
    }
    let database = database
        .or_else(|| std::env::var("LATCHKEY_SEED_DATABASE_URL").ok())
        .context("--database sqlite:///path or postgres://…")?;
    Ok(Args {
        database,
        accounts,
        explain,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let kind = match latchkey_server::db::Backend::of(&args.database) {
        Some(latchkey_server::db::Backend::Sqlite) => Kind::Sqlite,
        Some(latchkey_server::db::Backend::Postgres) => Kind::Postgres,
        None => bail!("not a sqlite: or postgres: URL"),
    };
    let db = latchkey_server::db::connect(&args.database).await?;
    if let Some(file) = &args.explain {
        return print(&db, kind, file).await;
    }
    latchkey_server::db::migrate(&db).await?;
    if kind == Kind::Sqlite {
        // A bulk load: no fsync, a big page cache. The server sets its own at start.
        db.execute("PRAGMA synchronous = OFF").await?;
        db.execute("PRAGMA cache_size = -2000000").await?;
    }
    let started = Instant::now();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let shared = hash(PASSWORD)?;
    let n = args.accounts;
    println!("seeding {n} accounts into {}", redacted(&args.database));
    let mut total = Duration::ZERO;
    total += chunked(&db, "users", &sql::users(kind), n, |q| {
        q.bind(shared.clone()).bind(now)
    })
    .await?;
    for (table, sql, rows) in [
        ("activity", sql::activity(kind), 10),
        ("sessions", sql::sessions(kind), 2),
        ("refresh_tokens", sql::refresh_tokens(kind), 2),
        ("known_devices", sql::known_devices(kind), 2),
    ] {
        let took = chunked(&db, table, &sql, n, |q| q.bind(now)).await?;
        println!("  ({} rows)", n * rows);
        total += took;
    }
    let lockouts = LOCKOUTS.min(n);
    let stride = (n / lockouts.max(1)).max(1);
    total += chunked(&db, "lockouts", &sql::lockouts(kind), lockouts, |q| {
        q.bind(now).bind(stride)
    })
    .await?;
    total += chunked(&db, "throttles", &sql::throttles(kind), THROTTLES, |q| {
        q.bind(now)
    })
    .await?;
    let own = Instant::now();
    for i in 0..OWN_HASHES.min(n) {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE email = $2")
            .bind(hash(PASSWORD)?)
            .bind(format!("user{i}@seed.example"))
            .execute(&db)
            .await?;
    }
    println!(
        "{OWN_HASHES} accounts with a hash of their own: {:.1?}",
        own.elapsed()
    );
    let finish = Instant::now();
    match kind {
        Kind::Postgres => {
            db.execute("ANALYZE").await?;
        }
        Kind::Sqlite => {
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
    }
    println!(
        "{}: {:.1?}",
        if kind == Kind::Postgres {
            "ANALYZE"
        } else {
            "WAL checkpoint"
        },
        finish.elapsed()
    );
    println!(
        "done: {n} accounts in {:.1?} (inserts {:.1?})",
        started.elapsed(),
        total
    );
    db.close().await;
    Ok(())
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Runs `sql` for rows `0..n` in transactions of [`CHUNK`]; prints and returns the time.
async fn chunked<'a>(
    db: &AnyPool,
    table: &str,
    sql: &'a str,
    n: i64,
    bind: impl Fn(Query<'a>) -> Query<'a>,
) -> Result<Duration> {
    let started = Instant::now();
    let mut lo = 0;
    while lo < n {
        let hi = (lo + CHUNK).min(n);
        let mut tx = db.begin().await?;
        bind(sqlx::query(sql).bind(lo).bind(hi))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("{table} {lo}..{hi}"))?;
        tx.commit().await?;
        lo = hi;
    }
    let took = started.elapsed();
    println!(
        "{table}: {n} accounts' rows in {took:.1?} ({:.0} accounts/s)",
        n as f64 / took.as_secs_f64().max(1e-9)
    );
    Ok(took)
}

/// An argon2id hash with the server's default parameters.
fn hash(password: &str) -> Result<String> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The URL without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Prints the plan of every statement in `file` (the `--explain` of the seeding tool).
async fn print(db: &sqlx::AnyPool, kind: Kind, file: &str) -> anyhow::Result<()> {
    let mut conn = db.acquire().await?;
    let tables: Vec<String> = if kind == Kind::Sqlite {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    for statement in explain::read(file)? {
        println!("\n{statement}");
        let plan = match kind {
            Kind::Sqlite => explain::sqlite_plan(&mut conn, &statement).await,
            Kind::Postgres => explain::postgres_plan(&mut conn, &statement).await,
        };
        match plan {
            Ok(plan) => {
                for line in &plan {
                    println!("    {line}");
                }
                let bad = match kind {
                    Kind::Sqlite => explain::full_scans(&plan, &tables),
                    Kind::Postgres => explain::seq_scans(&plan),
                };
                if !bad.is_empty() {
                    println!("  !! reads a whole table: {bad:?}");
                }
            }
            Err(e) => println!("    (no plan: {e})"),
        }
    }
    Ok(())
}
