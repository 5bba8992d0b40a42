//! The database: one sqlx `Any` pool over SQLite or PostgreSQL, chosen by URL, with
//! the same embedded migrations for both.
//!
//! SQLite gets a single connection: SQLite serialises writers anyway, and one
//! connection means a transaction never meets `SQLITE_BUSY` from a sibling connection
//! of the same process. PostgreSQL gets a pool, and every piece of state that matters
//! (sessions, lockouts, throttles) lives in the database, so several server processes
//! behind a load balancer behave as one.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

mod migrations;
pub use migrations::{migrate, migrations_current};

pub type Db = AnyPool;

/// A yes/no column (`users.disabled`, `oidc_clients.first_party`, …). The flags are
/// BIGINT 0/1 in both databases, as sqlx's `Any` driver decodes no booleans; this type
/// reads one (`row.get::<Flag, _>(…)`, or a `FromRow` field) and binds one, so that no
/// query site compares integers by hand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::Type, serde::Deserialize)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct Flag(i64);

impl Flag {
    /// Whether the flag is set: anything but 0, as SQL reads it.
    pub fn is_set(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for Flag {
    fn from(set: bool) -> Self {
        Self(i64::from(set))
    }
}

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

impl Backend {
    /// The database the `Any` pool talks to (without taking a connection).
    pub fn of_pool(db: &Db) -> Self {
        Self::of(db.connect_options().database_url.as_str()).unwrap_or(Self::Sqlite)
    }

    /// The database a connection of the `Any` pool talks to.
    pub fn of_connection(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected sqlite://… or postgres://…)")]
    UnsupportedUrl,
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Whether `e` means the database cannot be used right now, rather than that the
/// request or the server's code is wrong: the answer is then `server_unavailable`
/// (503, `Retry-After`), never `internal`.
///
/// - the connection broke or could not be made (I/O, TLS, a protocol stream cut off),
///   or the pool gave none in time or is closed;
/// - PostgreSQL: SQLSTATE class 08 (connection exception), 53 (insufficient resources:
///   disk full, out of memory, too many connections), 57P01–57P03 (the server shutting
///   down, crashed, or still starting), 58030 (an I/O error);
/// - SQLite: `SQLITE_FULL` (the disk is full), `SQLITE_IOERR`, `SQLITE_CANTOPEN`,
///   `SQLITE_BUSY` and `SQLITE_LOCKED` past the busy timeout (primary result codes,
///   from the extended code sqlx reports).
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                postgres_unavailable(&code)
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse().is_ok_and(sqlite_unavailable)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// A PostgreSQL SQLSTATE that means "unavailable".
fn postgres_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
        || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "58030")
}

/// A SQLite extended result code that means "unavailable": SQLITE_BUSY 5, SQLITE_LOCKED
/// 6, SQLITE_IOERR 10, SQLITE_FULL 13, SQLITE_CANTOPEN 14 (the primary code is the low
/// byte of the extended one).
fn sqlite_unavailable(extended: i32) -> bool {
    matches!(extended & 0xff, 5 | 6 | 10 | 13 | 14)
}

/// How long a request waits for a PostgreSQL connection before it is answered
/// `server_unavailable`: while the database restarts, the pool keeps trying to connect
/// for this long. Shorter than the app's 15 s request timeout, so that an outage is a
/// clear answer with `Retry-After` rather than a timeout.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens the pool (creating a SQLite file if needed). Does not migrate.
pub async fn connect(url: &str) -> Result<Db, DbError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url).ok_or(DbError::UnsupportedUrl)?;
    let url = match backend {
        Backend::Sqlite => {
            let url = sqlite_url(url);
            // mode=rwc creates the file; keep any options the operator gave.
            if url.contains("mode=") {
                url
            } else {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
        }
        Backend::Postgres => url.to_owned(),
    };
    let options: AnyConnectOptions = url.parse().map_err(DbError::Connect)?;
    // No ping before every acquire (sqlx's default): on the hot path it was one more
    // round trip per statement. SQLite has nothing to lose; a PostgreSQL connection idle
    // for more than a second is still pinged, so one broken by a database restart is
    // replaced instead of failing a request.
    let pool = match backend {
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .before_acquire(|conn, _meta| Box::pin(async move { Ok(usable(conn)) }))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets admin commands read while the server writes; NORMAL
                    // sync is durable across process crashes, and costs no fsync per
                    // commit. busy_timeout covers other processes (admin CLI). A
                    // server checkpoints from its own task (`checkpoint_wal`), which
                    // also lets the WAL start again; the automatic checkpoint, which
                    // runs inside a commit, is only its backstop. The journal size
                    // limit truncates the WAL file after a checkpoint.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute(&*format!(
                        "PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}"
                    ))
                    .await?;
                    conn.execute("PRAGMA journal_size_limit = 67108864").await?;
                    // The connection's own table and triggers the refresh batches go
                    // through (`session::sqlite_rotation_setup`), kept in memory.
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                    for statement in crate::session::sqlite_rotation_setup() {
                        conn.execute(&*statement).await?;
                    }
                    Ok(())
                })
            }),
        Backend::Postgres => AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if !usable(conn) {
                        return Ok(false);
                    }
                    if meta.idle_for < PING_WHEN_IDLE_FOR {
                        return Ok(true);
                    }
                    // A failed ping drops this connection; the pool opens another.
                    Ok(conn.ping().await.is_ok())
                })
            }),
    }
    .connect_with(options)
    .await
    .map_err(DbError::Connect)?;
    Ok(pool)
}

/// Whether a connection given back to the pool may serve another request: one that
/// still counts a transaction as open is broken. SQLite rolls a transaction back by
/// itself when a write or the commit fails with a full disk (`SQLITE_FULL`) or an I/O
/// error; the `ROLLBACK` sent afterwards then fails ("no transaction is active"), and
/// sqlx keeps counting the transaction, so every later `BEGIN` of that connection would
/// fail too — the server would never recover from a full disk without a restart.
/// Returning `false` makes the pool close it and open another.
fn usable(conn: &sqlx::AnyConnection) -> bool {
    if conn.is_in_transaction() {
        tracing::warn!("a database connection was left inside a transaction; replacing it");
        return false;
    }
    true
}

/// A SQLite URL in the form sqlx reads the same on every OS: `sqlite:` and the path.
///
/// sqlx parses the URL as a URL before it takes the path back out of it, so
/// `sqlite://C:\ProgramData\Latchkey\latchkey.db` (what a Windows path gives, and what an
/// operator writes) would read `C` as a host; `sqlite:C:\…` keeps the path whole. The
/// path is kept as given (sqlx percent-decodes it), and so are the options after `?`.
/// On Windows `sqlite:///C:/…` (the `file:` URL habit) names `C:/…` too.
fn sqlite_url(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let rest = if cfg!(windows) && has_drive_after_slash(rest) {
        &rest[1..]
    } else {
        rest
    };
    format!("sqlite:{rest}")
}

/// `/C:/…` or `/C:\…`.
fn has_drive_after_slash(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 4
        && b[0] == b'/'
        && b[1].is_ascii_alphabetic()
        && b[2] == b':'
        && matches!(b[3], b'/' | b'\\')
}

/// How often [`checkpoint_wal`] copies the SQLite WAL back into the database file.
pub const CHECKPOINT_PERIOD: Duration = Duration::from_millis(50);

/// WAL frames (pages) after which [`checkpoint_wal`] lets the WAL start again from its
/// beginning (SQLite's own automatic checkpoint is set to [`AUTOCHECKPOINT_PAGES`]).
const RESTART_FRAMES: i64 = 1_000;

/// SQLite's automatic checkpoint, a backstop only: it runs inside the commit that
/// crosses it, on the request path, so [`checkpoint_wal`] keeps the WAL well below it.
const AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// SQLite only, for the life of a server: keeps the WAL short without making a request
/// wait for the disk.
///
/// SQLite copies the WAL back into the database file in a checkpoint, with an fsync of
/// the WAL before and of the database file after; and the WAL starts again from its
/// beginning only after a checkpoint that reached its last frame, whose next commit
/// fsyncs the new WAL header. Left to `wal_autocheckpoint`, all of that runs inside the
/// commit of whichever request crosses the threshold, and every request queued behind
/// the pool's one connection waits for three fsyncs (4–8 ms on a virtual disk, every
/// 50 ms at 70 % of the maximum rotation rate: docs/benchmarks.md). So, every
/// [`CHECKPOINT_PERIOD`], from a connection of its own, on a thread of its own:
///
/// 1. `PRAGMA wal_checkpoint(PASSIVE)` copies what it can while requests go on (it
///    never waits for readers or writers, and never blocks them), fsyncing the WAL;
/// 2. once the WAL holds [`RESTART_FRAMES`]: the pages copied, and the frames written
///    meanwhile, are written to disk outside any lock (an fsync of each file through a
///    handle of this task's own);
/// 3. then, with the pool's one connection held so that this process writes nothing
///    meanwhile, a second PASSIVE checkpoint copies the few frames left (its fsyncs now
///    have almost nothing to write) and reaches the WAL's last frame, so the next
///    commit starts the WAL again.
///
/// A request then waits at most for step 3, a small copy and two short fsyncs.
pub async fn checkpoint_wal(db: Db) {
    if Backend::of_pool(&db) != Backend::Sqlite {
        return;
    }
    let options = db.connect_options();
    let mut conn = match sqlx::AnyConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "no connection for WAL checkpoints: commits will do them");
            return;
        }
    };
    let files = sqlite_files(&options);
    let mut tick = tokio::time::interval(CHECKPOINT_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let result = async {
            if wal_checkpoint(&mut conn).await? < RESTART_FRAMES {
                return Ok(());
            }
            if let Some(files) = files.clone() {
                let _ = tokio::task::spawn_blocking(move || sync_files(&files)).await;
            }
            // Nothing of this process writes while this is held (a request waits here,
            // as it would for a commit).
            let held = db.acquire().await?;
            let result = wal_checkpoint(&mut conn).await;
            drop(held);
            result.map(drop)
        }
        .await;
        match result {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
            Err(_) => {}
        }
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)` on `conn`: the frames in the WAL (before it).
async fn wal_checkpoint(conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
    let (_busy, frames, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut *conn)
            .await?;
    Ok(frames)
}

/// The database file of a SQLite URL and its WAL, or `None` for a database in memory.
fn sqlite_files(options: &AnyConnectOptions) -> Option<[std::path::PathBuf; 2]> {
    use sqlx::ConnectOptions;
    let options = sqlx::sqlite::SqliteConnectOptions::from_url(&options.database_url).ok()?;
    let file = options.get_filename();
    if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
        return None;
    }
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    Some([file.to_owned(), wal.into()])
}

/// Writes what the OS holds of `files` to disk (an fsync of each, through a handle of
/// its own: SQLite's next fsync of the file then has little left to write). A file that
/// cannot be opened is skipped: SQLite's own fsync still comes.
///
/// On Unix the handles are never closed ([`kept_open`]): closing any descriptor of a
/// file drops every POSIX lock the process holds on it, SQLite's included. Without the
/// shared lock that the server's connections hold on the database file, another
/// process (an admin command) that closes its connection believes it is the last one,
/// checkpoints and deletes the WAL under the running server, whose commits then go to
/// a file that no longer has a name: lost at its next start (found in session 19 as
/// "database disk image is malformed" in a second process; the test
/// `sessions::sqlite_admin_command_beside_the_checkpointer_loses_nothing`).
fn sync_files(files: &[std::path::PathBuf]) {
    for file in files {
        let Some(f) = kept_open(file) else { continue };
        if let Err(e) = f.sync_data() {
            tracing::debug!(error = %e, file = %file.display(), "fsync before the checkpoint failed");
        }
    }
}

/// A handle of `file` with write access, opened at the first call for that file and
/// then kept for the life of the process (see [`sync_files`]): one per database file
/// the process serves, opened again only if the file at that path is another one (the
/// handle of the old one stays open, unused).
#[cfg(unix)]
fn kept_open(file: &std::path::Path) -> Option<&'static std::fs::File> {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    use std::sync::{LazyLock, Mutex};
    static KEPT: LazyLock<Mutex<HashMap<std::path::PathBuf, &'static std::fs::File>>> =
        LazyLock::new(Mutex::default);
    let mut kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let same = |f: &std::fs::File| match (f.metadata(), std::fs::metadata(file)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if let Some(f) = kept.get(file).filter(|f| same(f)) {
        return Some(f);
    }
    let f = std::fs::OpenOptions::new().write(true).open(file).ok()?;
    // Never closed, on purpose (see `sync_files`).
    let f: &'static std::fs::File = Box::leak(Box::new(f));
    kept.insert(file.to_owned(), f);
    Some(f)
}

/// Windows: a lock belongs to the handle that took it, so a handle of our own may be
/// closed; one with write access, as Windows flushes only a handle that may write.
#[cfg(not(unix))]
fn kept_open(file: &std::path::Path) -> Option<std::fs::File> {
    std::fs::OpenOptions::new().write(true).open(file).ok()
}

/// Wall-clock time in Unix milliseconds, with an offset that tests move forward to
/// expire locks and tokens without sleeping.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let real = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        i64::try_from(real).unwrap_or(i64::MAX) + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock forward (tests only; production never calls it).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// RFC 3339 form of a Unix-millisecond time, for the API.
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Seconds to milliseconds, saturating.
pub fn secs(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Seconds from `now` until `until` (both ms), rounded up, at least 1.
pub fn seconds_until(until: i64, now: i64) -> u64 {
    let ms = until.saturating_sub(now).max(1);
    u64::try_from((ms + 999) / 1000).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::of("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://u@h/d"), Some(Backend::Postgres));
        assert_eq!(Backend::of("mysql://h"), None);
    }

    #[test]
    fn unavailable_codes() {
        // SQLite: SQLITE_FULL, SQLITE_IOERR_WRITE (10 | 3 << 8), SQLITE_BUSY; not
        // SQLITE_CONSTRAINT_UNIQUE (2067) nor SQLITE_CORRUPT (11).
        for code in [13, 778, 5] {
            assert!(sqlite_unavailable(code), "{code}");
        }
        for code in [2067, 11, 1] {
            assert!(!sqlite_unavailable(code), "{code}");
        }
        // PostgreSQL: admin shutdown, connection failure, disk full; not a unique
        // violation nor a syntax error.
        for code in ["57P01", "08006", "53100"] {
            assert!(postgres_unavailable(code), "{code}");
        }
        for code in ["23505", "42601"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn sqlite_urls_keep_the_path_whole() {
        assert_eq!(sqlite_url("sqlite://x.db"), "sqlite:x.db");
        assert_eq!(
            sqlite_url("sqlite:///var/lib/lk.db?mode=ro"),
            "sqlite:/var/lib/lk.db?mode=ro"
        );
        assert_eq!(sqlite_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            sqlite_url(r"sqlite://C:\Users\li\AppData\latchkey.db"),
            r"sqlite:C:\Users\li\AppData\latchkey.db"
        );
        let drive = sqlite_url("sqlite:///C:/ProgramData/latchkey.db");
        if cfg!(windows) {
            assert_eq!(drive, "sqlite:C:/ProgramData/latchkey.db");
        } else {
            assert_eq!(drive, "sqlite:/C:/ProgramData/latchkey.db");
        }
    }

    /// The path sqlx opens is the one in the URL, a Windows one included (the test
    /// suites under Wine open every database through such a URL).
    #[test]
    fn sqlx_reads_the_path_back() {
        use sqlx::ConnectOptions;
        for path in [
            r"C:\Users\li\AppData\Local\Temp\.tmpA1\latchkey.db",
            "/tmp/.tmpA1/latchkey.db",
        ] {
            let any: AnyConnectOptions = sqlite_url(&format!("sqlite://{path}")).parse().unwrap();
            let sqlite = sqlx::sqlite::SqliteConnectOptions::from_url(&any.database_url).unwrap();
            assert_eq!(sqlite.get_filename(), std::path::Path::new(path));
        }
    }

    #[test]
    fn time_helpers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(seconds_until(1_500, 0), 2);
        assert_eq!(seconds_until(0, 10), 1);
        let c = Clock::default();
        let a = c.now_ms();
        c.advance(Duration::from_secs(3600));
        assert!(c.now_ms() - a >= 3_600_000);
    }
}
