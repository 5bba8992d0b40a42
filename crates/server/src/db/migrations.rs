//! The schema's migrations: the shared ones (`migrations/`), written once in the SQL both
//! databases understand, and PostgreSQL's own (`migrations/postgres/`), for what the
//! shared SQL cannot say. Embedded in the binary; every server process applies them
//! at its start.

use super::{Backend, Db, DbError};

/// The migrations of both databases.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// PostgreSQL's own migrations (`migrations/postgres/`), for what the shared SQL cannot
/// say (a collation, an operator class). Numbered from 1001, so that they sort after
/// every shared one (`sqlx::migrate!` reads the files of a folder, not its subfolders).
/// A PostgreSQL database runs both sets as one ([`Migrations`]); a SQLite one only the
/// shared set, and never records these versions.
static POSTGRES_ONLY: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The shared migrations and PostgreSQL's own, in version order, as one source.
#[derive(Debug)]
struct Migrations(Backend);

impl Migrations {
    fn all(&self) -> Vec<sqlx::migrate::Migration> {
        let own = match self.0 {
            Backend::Sqlite => None,
            Backend::Postgres => Some(POSTGRES_ONLY.iter()),
        };
        let mut all: Vec<_> = MIGRATOR
            .iter()
            .chain(own.into_iter().flatten())
            .cloned()
            .collect();
        all.sort_by_key(|m| m.version);
        all
    }
}

/// The future `MigrationSource` returns (`futures::BoxFuture`, spelled out).
type Resolved = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
            > + Send,
    >,
>;

impl sqlx::migrate::MigrationSource<'static> for Migrations {
    fn resolve(self) -> Resolved {
        Box::pin(async move { Ok(self.all()) })
    }
}

/// Applies the embedded migrations (idempotent; PostgreSQL takes an advisory lock so
/// that several processes starting at once do not race).
pub async fn migrate(db: &Db) -> Result<(), DbError> {
    match Backend::of_pool(db) {
        Backend::Sqlite => MIGRATOR.run(db).await,
        backend => {
            let migrator = sqlx::migrate::Migrator::new(Migrations(backend))
                .await
                .map_err(DbError::Migrate)?;
            migrator.run(db).await
        }
    }
    .map_err(DbError::Migrate)
}

/// Whether every migration of this binary is applied, successfully (readiness). A
/// database migrated further by a newer version is current too.
pub async fn migrations_current(db: &Db) -> Result<bool, sqlx::Error> {
    // `success` is a boolean, which the `Any` driver does not decode from SQLite.
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(db)
            .await?;
    Ok(Migrations(Backend::of_pool(db))
        .all()
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| applied.contains(&m.version)))
}
