//! Sessions: an opaque access token (15 min) and a refresh token (30 days) per
//! signed-in device, stored only as SHA-256 hashes.
//!
//! A session also ends `absolute_ttl_seconds` (90 days) after its sign-in, however
//! often it is refreshed: a stolen refresh token kept alive by its thief dies then.
//!
//! Every refresh rotates both tokens. The used refresh token is kept (marked used)
//! until it expires: presenting it again means it was copied, so the whole session —
//! the token family — is revoked.

use latchkey_proto::{Device, Secret, SessionInfo};
use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::config::SessionConfig;
use crate::db::{rfc3339, secs, Backend, Db};
use crate::tokens::{
    new_ordered_id, new_session_token, session_token_key, stamped_token, unstamped_token,
};
use crate::users::{self, UserRow};

/// Freshly issued tokens of a session.
#[derive(Debug)]
pub struct Issued {
    pub session_id: String,
    pub access: Secret,
    pub refresh: Secret,
}

/// Starts a session for `user_id` on `device`.
pub async fn create(
    conn: &mut AnyConnection,
    config: &SessionConfig,
    user_id: &str,
    device: &Device,
    ip: Option<&str>,
    now: i64,
) -> Result<Issued, sqlx::Error> {
    let session_id = new_ordered_id(now);
    let (access, access_hash) = new_session_token("lka", now);
    let (refresh, refresh_hash) = new_session_token("lkr", now);
    let refresh_expires = now.saturating_add(secs(config.refresh_ttl_seconds));
    sqlx::query(
        "INSERT INTO sessions (id, user_id, access_hash, access_expires_at, \
         refresh_expires_at, device_id, device_name, device_platform, ip, created_at, \
         last_used_at, absolute_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(&session_id)
    .bind(user_id)
    .bind(&access_hash)
    .bind(now.saturating_add(secs(config.access_ttl_seconds)))
    .bind(refresh_expires)
    .bind(crate::devices::stored_id(&device.id))
    .bind(&device.name)
    .bind(&device.platform)
    .bind(ip)
    .bind(now)
    .bind(match config.absolute_ttl_seconds {
        0 => 0,
        ttl => now.saturating_add(secs(ttl)),
    })
    .execute(&mut *conn)
    .await?;
    insert_refresh(conn, &refresh_hash, &session_id, refresh_expires).await?;
    Ok(Issued {
        session_id,
        access,
        refresh,
    })
}

async fn insert_refresh(
    conn: &mut AnyConnection,
    hash: &str,
    session_id: &str,
    expires: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash)
    .bind(session_id)
    .bind(expires)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug)]
pub enum Refreshed {
    Rotated {
        issued: Issued,
        user: Box<UserRow>,
    },
    /// A used token came back: its session is now revoked.
    Reused {
        user_id: Option<String>,
    },
    /// Unknown, expired, revoked, or the account is disabled.
    Invalid,
}

/// The claim of a refresh token, `hash` (a parameter such as `$2`), at time `now`: it
/// is marked used only if it is unused, unexpired, and its session is live and its
/// account enabled. At most one of several concurrent claims of the same token matches
/// (the row lock, or SQLite's single writer, orders them; the later ones see `used_at`
/// set).
fn claim(now: &str, hash: &str) -> String {
    format!(
        "UPDATE refresh_tokens SET used_at = {now} WHERE {}",
        claimable(now, hash)
    )
}

/// When a refresh token (`refresh_tokens`' row with `token_hash = hash`) may be claimed
/// at `now`: the condition of [`claim`].
fn claimable(now: &str, hash: &str) -> String {
    format!(
        "refresh_tokens.token_hash = {hash} AND refresh_tokens.used_at IS NULL \
         AND refresh_tokens.expires_at > {now} \
         AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL AND u.disabled = 0 \
         AND (s.absolute_expires_at = 0 OR s.absolute_expires_at > {now}))"
    )
}

/// PostgreSQL: the whole rotation in one statement and one round trip — claim the
/// token, move the session to the new access token, store the new refresh token, and
/// return the account for the answer. A statement is atomic on its own, so no
/// transaction is opened. No row: the claim failed.
static ROTATE_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH claimed AS ({} RETURNING session_id), \
         sess AS (UPDATE sessions SET access_hash = $3, access_expires_at = $4, \
           refresh_expires_at = $5, last_used_at = $1, ip = $6 \
           WHERE id = (SELECT session_id FROM claimed) RETURNING id, user_id), \
         fresh AS (INSERT INTO refresh_tokens (token_hash, session_id, expires_at) \
           SELECT $7, id, $5 FROM sess) \
         SELECT sess.id AS session_id, {} FROM sess JOIN users u ON u.id = sess.user_id",
        claim("$1", "$2"),
        user_columns("u.")
    )
});

/// SQLite: the rotations waiting when a batch starts, at most this many, are committed
/// together.
const MAX_BATCH: usize = 32;

/// SQLite: a batch is one statement on the pool's one connection, whatever its size.
/// sqlx runs a SQLite connection on a thread of its own and each statement is a
/// hand-off to it and back (two context switches, tens of µs on a virtual machine):
/// with a statement per step, the hand-offs, not SQLite, were most of a small batch's
/// cost (docs/benchmarks.md, sessions 15 and 16). So the batch is one `INSERT` of its
/// rows into [`ROTATION_TABLE`], a table of the connection's own (`TEMP`) whose
/// trigger ([`sqlite_rotation_setup`]) does each rotation — claim the token, move the
/// session to its new access token, store the new refresh token ([`rotation_steps`]) —
/// and keeps the row only if the claim succeeded; `RETURNING` names those, with their
/// session and account, and a second trigger deletes them again. One statement is
/// atomic, so it needs no transaction: all of the batch or nothing.
///
/// Only supported calls: prepared statements with bound parameters, one statement per
/// query string. The rows are padded to one of [`BUCKETS`] with rows that match nothing
/// (NULL), so that the connection prepares and caches a few statements, not one per
/// batch size.
const BUCKETS: [usize; 6] = [1, 2, 4, 8, 16, MAX_BATCH];

/// The connection's own table a batch of rotations is inserted into; it holds no row
/// once a statement is done.
pub const ROTATION_TABLE: &str = "refresh_rotation";

/// [`ROTATION_TABLE`]'s columns, in the order a batch binds them.
pub const ROTATION_COLUMNS: [&str; 7] = [
    "old_hash",
    "at",
    "access_hash",
    "access_expires_at",
    "refresh_hash",
    "refresh_expires_at",
    "ip",
];

/// One rotation in three statements, with `v(column)` for each of its values
/// ([`ROTATION_COLUMNS`]; `NEW.column` in the trigger): claim the token as [`claim`]
/// does; if that claimed it (`changes()`: the statement before, within a trigger), move
/// its session to the new access token, and store the new refresh token.
pub fn rotation_steps(v: impl Fn(&str) -> String) -> [String; 3] {
    [
        claim(&v("at"), &v("old_hash")),
        format!(
            "UPDATE sessions SET access_hash = {}, access_expires_at = {}, \
             refresh_expires_at = {}, last_used_at = {}, ip = {} \
             WHERE changes() = 1 \
             AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = {})",
            v("access_hash"),
            v("access_expires_at"),
            v("refresh_expires_at"),
            v("at"),
            v("ip"),
            v("old_hash"),
        ),
        format!(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) \
             SELECT {}, session_id, {} FROM refresh_tokens \
             WHERE changes() = 1 AND token_hash = {}",
            v("refresh_hash"),
            v("refresh_expires_at"),
            v("old_hash"),
        ),
    ]
}

/// SQLite: what the pool's connection makes when it opens (`db::connect`): the
/// connection's own [`ROTATION_TABLE`] and its two triggers. The first does a
/// rotation ([`rotation_steps`]) before each row is stored, and drops the row
/// (`RAISE(IGNORE)`) unless its session moved — a token not claimable, or a padding row
/// of NULLs, changes nothing. The second deletes a stored row right after, so the table
/// stays empty; `RETURNING` still names it.
pub fn sqlite_rotation_setup() -> Vec<String> {
    let steps = rotation_steps(|column| format!("NEW.{column}"));
    vec![
        format!(
            "CREATE TEMP TABLE IF NOT EXISTS {ROTATION_TABLE} ({})",
            ROTATION_COLUMNS.join(", ")
        ),
        format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS {ROTATION_TABLE}_apply \
             BEFORE INSERT ON {ROTATION_TABLE} BEGIN {}; {}; {}; \
             SELECT RAISE(IGNORE) WHERE changes() = 0; END",
            steps[0], steps[1], steps[2]
        ),
        format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS {ROTATION_TABLE}_clear \
             AFTER INSERT ON {ROTATION_TABLE} BEGIN \
             DELETE FROM {ROTATION_TABLE} WHERE rowid = NEW.rowid; END"
        ),
    ]
}

/// The index in [`BUCKETS`] of the smallest bucket that holds `n` rows; `None` above
/// [`MAX_BATCH`].
fn bucket(n: usize) -> Option<usize> {
    BUCKETS.iter().position(|&b| b >= n)
}

/// `rows` rows of `cols` parameters: `($1, $2), ($3, $4)`.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rotates the batch's tokens (rows: [`ROTATION_COLUMNS`]; a padding row is all NULL)
/// and names the ones it rotated: their new refresh token, and their session and
/// account as one JSON object (`RETURNING` gives one value per subquery; the session
/// is found by its new access token, which the trigger just gave it). One statement
/// per bucket, made once.
static ROTATE_BATCH_SQL: std::sync::LazyLock<[String; BUCKETS.len()]> =
    std::sync::LazyLock::new(|| {
        let fields: Vec<String> = std::iter::once("'session_id', s.id".to_owned())
            .chain(user_column_names().map(|c| format!("'{c}', u.{c}")))
            .collect();
        BUCKETS.map(|rows| {
            format!(
                "INSERT INTO {ROTATION_TABLE} ({}) VALUES {} \
                 RETURNING refresh_hash, \
                 (SELECT json_object({}) FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.access_hash = {ROTATION_TABLE}.access_hash)",
                ROTATION_COLUMNS.join(", "),
                values(rows, ROTATION_COLUMNS.len()),
                fields.join(", "),
            )
        })
    });

/// The names of [`users::COLUMNS`].
fn user_column_names() -> impl Iterator<Item = &'static str> {
    users::COLUMNS.split(',').map(str::trim)
}

fn user_columns(prefix: &str) -> String {
    user_column_names()
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct RotatedRow {
    session_id: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    user: UserRow,
}

/// One rotation waiting for its SQLite batch.
struct Job {
    hashes: [String; 3],
    times: (i64, i64, i64),
    ip: Option<String>,
    done: oneshot::Sender<Result<Option<RotatedRow>, sqlx::Error>>,
}

/// SQLite: the queue of rotations and the task that commits them in batches (one per
/// server process, started by the first rotation). The task ends when the state that
/// holds this is dropped.
#[derive(Default)]
pub struct Rotations {
    queue: tokio::sync::OnceCell<mpsc::Sender<Job>>,
    /// The key successors are derived with ([`successors`]), read once.
    successor_key: tokio::sync::OnceCell<[u8; 32]>,
}

/// Name of the `settings` row that keeps the successor key.
const SUCCESSOR_KEY: &str = "refresh_successor_key";

impl Rotations {
    /// The database's successor key, made by the first process that needs it (every
    /// process of one database uses the same).
    async fn successor_key(&self, db: &Db) -> Result<[u8; 32], sqlx::Error> {
        self.successor_key
            .get_or_try_init(|| async {
                let mut fresh = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut fresh);
                sqlx::query(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(SUCCESSOR_KEY)
                .bind(hex::encode(fresh))
                .execute(db)
                .await?;
                let stored: String =
                    sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                        .bind(SUCCESSOR_KEY)
                        .fetch_one(db)
                        .await?;
                let mut key = [0u8; 32];
                match hex::decode(stored.trim()) {
                    Ok(b) if b.len() == 32 => key.copy_from_slice(&b),
                    _ => return Err(sqlx::Error::Protocol("the successor key is damaged".into())),
                }
                Ok(key)
            })
            .await
            .copied()
    }
}

/// The access and refresh tokens that follow `token`, derived from it with the
/// database's secret key (HMAC-SHA-256): a retry with the same token, when its answer
/// was lost, gets the very same successor (the grace period of [`refresh`]), and
/// someone who has an old token but not the key cannot compute its successor. They are
/// stamped with `at`, the time `token` was claimed (so a retry, which reads that time
/// back, derives them again); with `None`, in the form made before stamps, which a
/// server of that version gave to a claim a retry may now come back for.
fn successors(
    key: &[u8; 32],
    token: &str,
    at: Option<i64>,
) -> ((Secret, String), (Secret, String)) {
    use hmac::{Mac, SimpleHmac};
    let derive = |label: &str, prefix: &str| {
        let Ok(mut mac) = <SimpleHmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
            // HMAC takes a key of any length: never reached; a random token would
            // only lose the grace period.
            return new_session_token(prefix, at.unwrap_or_default());
        };
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(token.as_bytes());
        let body = mac.finalize().into_bytes();
        match at {
            Some(at) => stamped_token(prefix, at, &body),
            None => unstamped_token(prefix, &body),
        }
    };
    (derive("access", "lka"), derive("refresh", "lkr"))
}

impl Rotations {
    async fn submit(&self, db: &Db, job: Job) -> Result<(), sqlx::Error> {
        let queue = self
            .queue
            .get_or_init(|| async {
                let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(commit_batches(db.clone(), rx));
                tx
            })
            .await;
        queue.send(job).await.map_err(|_| sqlx::Error::PoolClosed)
    }
}

/// Takes whatever rotations are waiting (at least one, at most [`MAX_BATCH`]) and
/// commits them together, until the queue closes. While a batch is being written the
/// next one gathers, so under load batches grow by themselves and with one client a
/// batch is one rotation, as fast as before.
///
/// The pool's connection is kept from one batch to the next while rotations keep
/// waiting, for at most [`HOLD`]: each return to the pool costs a ping, a hand-off to
/// the connection's thread and back, which under load is as dear as a small batch.
/// Then it goes back, so that the other requests' statements are not kept waiting;
/// and at once after a failed statement, so that the pool checks it before its next
/// use.
async fn commit_batches(db: Db, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let mut conn = match db.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                fail_all(std::mem::take(&mut jobs), &e);
                continue;
            }
        };
        let held = std::time::Instant::now();
        loop {
            gather(&mut queue, &mut jobs).await;
            let batch = std::mem::replace(&mut jobs, Vec::with_capacity(MAX_BATCH));
            let answered = commit_batch(&mut conn, batch).await;
            if !answered || queue.is_empty() || held.elapsed() >= HOLD {
                break;
            }
            if queue.recv_many(&mut jobs, MAX_BATCH).await == 0 {
                return;
            }
        }
    }
}

/// Tops `jobs` up with the rotations that the requests ready to run now would add:
/// lets every other ready task run once (and the I/O driver look for new requests),
/// then takes what they queued.
async fn gather(queue: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) {
    if jobs.len() >= MAX_BATCH {
        return;
    }
    tokio::task::yield_now().await;
    while jobs.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

/// How long [`commit_batches`] keeps the pool's connection while rotations keep
/// coming: another statement waits for it at most this long, plus the batch under way.
const HOLD: std::time::Duration = std::time::Duration::from_millis(2);

/// Commits `batch` on `conn` and answers each of its rotations. False when a statement
/// failed.
async fn commit_batch(conn: &mut AnyConnection, batch: Vec<Job>) -> bool {
    tracing::debug!(rotations = batch.len(), "refresh batch");
    match rotate_sqlite(conn, &batch).await {
        Ok(rows) => {
            for (job, row) in batch.into_iter().zip(rows) {
                let _ = job.done.send(Ok(row));
            }
            true
        }
        // Nothing of the batch was committed: try each rotation alone, so that one
        // failing rotation fails only its own request.
        Err(_) if batch.len() > 1 => {
            for job in batch {
                let result = rotate_sqlite(conn, std::slice::from_ref(&job))
                    .await
                    .map(|rows| rows.into_iter().next().flatten());
                let _ = job.done.send(result);
            }
            false
        }
        Err(e) => {
            fail_all(batch, &e);
            false
        }
    }
}

/// Answers every rotation of `batch` with (the text of) `error`: `sqlx::Error` cannot be
/// cloned, and the request answers `internal` with it logged either way.
fn fail_all(batch: Vec<Job>, error: &sqlx::Error) {
    for job in batch {
        let _ = job.done.send(Err(sqlx::Error::Protocol(error.to_string())));
    }
}

/// Rotates a refresh token: marks it used and issues a new pair, atomically, and
/// returns the account. The rotation is committed before this returns.
pub async fn refresh(
    db: &Db,
    rotations: &Rotations,
    config: &SessionConfig,
    token: &Secret,
    ip: Option<&str>,
    now: i64,
) -> Result<Refreshed, sqlx::Error> {
    let refreshed = rotate(db, rotations, config, token, ip, now).await?;
    match &refreshed {
        Refreshed::Rotated { .. } => {
            metrics::counter!(crate::ops::metrics::REFRESH_ROTATIONS).increment(1);
        }
        Refreshed::Reused { .. } => {
            metrics::counter!(crate::ops::metrics::REFRESH_REUSE).increment(1);
        }
        Refreshed::Invalid => {}
    }
    Ok(refreshed)
}

/// [`refresh`], uncounted.
async fn rotate(
    db: &Db,
    rotations: &Rotations,
    config: &SessionConfig,
    token: &Secret,
    ip: Option<&str>,
    now: i64,
) -> Result<Refreshed, sqlx::Error> {
    let hash = session_token_key(token.expose());
    let key = rotations.successor_key(db).await?;
    let ((access, access_hash), (refresh, refresh_hash)) =
        successors(&key, token.expose(), Some(now));
    let access_expires = now.saturating_add(secs(config.access_ttl_seconds));
    let refresh_expires = now.saturating_add(secs(config.refresh_ttl_seconds));
    // A lost answer: the same token again within the grace period, its successor not
    // used yet, gets that successor (see `reused_or_invalid`).
    let grace = Grace {
        ms: secs(config.refresh_grace_seconds),
        key: &key,
        token: token.expose(),
    };
    let rotated: Option<RotatedRow> = match Backend::of_pool(db) {
        Backend::Postgres => {
            let mut conn = db.acquire().await?;
            let rotated = sqlx::query_as(&ROTATE_POSTGRES)
                .bind(now)
                .bind(&hash)
                .bind(&access_hash)
                .bind(access_expires)
                .bind(refresh_expires)
                .bind(ip)
                .bind(&refresh_hash)
                .fetch_optional(&mut *conn)
                .await?;
            if rotated.is_none() {
                let mut tx = conn.begin().await?;
                let outcome = reused_or_invalid(&mut tx, &hash, now, grace).await?;
                tx.commit().await?;
                return Ok(outcome);
            }
            rotated
        }
        Backend::Sqlite => {
            // The batch task commits it, so a client hanging up cannot stop it between
            // BEGIN and COMMIT.
            let (done, answer) = oneshot::channel();
            let job = Job {
                hashes: [hash.clone(), access_hash.clone(), refresh_hash.clone()],
                times: (now, access_expires, refresh_expires),
                ip: ip.map(str::to_owned),
                done,
            };
            rotations.submit(db, job).await?;
            let rotated = answer.await.map_err(|_| sqlx::Error::PoolClosed)??;
            if rotated.is_none() {
                let mut tx = db.begin().await?;
                let outcome = reused_or_invalid(&mut tx, &hash, now, grace).await?;
                tx.commit().await?;
                return Ok(outcome);
            }
            rotated
        }
    };
    Ok(match rotated {
        Some(row) => Refreshed::Rotated {
            issued: Issued {
                session_id: row.session_id,
                access,
                refresh,
            },
            user: Box::new(row.user),
        },
        None => Refreshed::Invalid,
    })
}

/// The batch's rotations on `conn`, in one statement: for each job, in order, its
/// session and account if its claim succeeded. Nothing is changed if the statement
/// fails.
async fn rotate_sqlite(
    conn: &mut AnyConnection,
    batch: &[Job],
) -> Result<Vec<Option<RotatedRow>>, sqlx::Error> {
    // The batch's jobs, then rows that match nothing up to the bucket's size.
    let bucket = bucket(batch.len())
        .ok_or_else(|| sqlx::Error::Protocol("a refresh batch above MAX_BATCH".into()))?;
    let jobs: Vec<Option<&Job>> = batch
        .iter()
        .map(Some)
        .chain(std::iter::repeat_n(
            None,
            BUCKETS[bucket].saturating_sub(batch.len()),
        ))
        .collect();

    // A token sent again in the same batch (a client's retry) is claimed by its first
    // job only, as if the second came after it: the second finds it used (a retry
    // within the grace period, or a reuse), and the statement names the first only.
    let mut rotate = sqlx::query_as::<_, (String, Option<String>)>(&ROTATE_BATCH_SQL[bucket]);
    for job in &jobs {
        let (now, access_expires, refresh_expires) = job.map_or((None, None, None), |j| {
            (Some(j.times.0), Some(j.times.1), Some(j.times.2))
        });
        rotate = rotate
            .bind(job.map(|j| j.hashes[0].as_str()))
            .bind(now)
            .bind(job.map(|j| j.hashes[1].as_str()))
            .bind(access_expires)
            .bind(job.map(|j| j.hashes[2].as_str()))
            .bind(refresh_expires)
            .bind(job.and_then(|j| j.ip.as_deref()));
    }
    let mut rotated = rotate.fetch_all(&mut *conn).await?;
    // Each rotated row goes to the first job of its new refresh token (a job sent again
    // within the same millisecond derives the same one).
    batch
        .iter()
        .map(|job| {
            let Some(at) = rotated
                .iter()
                .position(|(successor, _)| *successor == job.hashes[2])
            else {
                return Ok(None);
            };
            match rotated.swap_remove(at).1 {
                Some(json) => serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e))),
                None => Ok(None),
            }
        })
        .collect()
}

/// The account of a retried rotation, when its successor is still live.
static RETRY_USER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
         JOIN users u ON u.id = s.user_id \
         WHERE r.token_hash = $1 AND r.session_id = $2 AND r.used_at IS NULL \
         AND s.access_hash = $3 AND s.revoked_at IS NULL AND r.expires_at > $4",
        user_columns("u.")
    )
});

/// The retry window of a rotated refresh token, and what its successor was derived
/// from.
struct Grace<'a> {
    ms: i64,
    key: &'a [u8; 32],
    token: &'a str,
}

/// After a failed claim: a token used less than the grace period ago whose successor
/// is still the session's current one, unused, is a retry whose answer was lost — it
/// gets the same successor. Any other token that was already used means it was
/// copied, so its session — the whole token family — is revoked. Anything else is just
/// invalid.
async fn reused_or_invalid(
    conn: &mut AnyConnection,
    hash: &str,
    now: i64,
    grace: Grace<'_>,
) -> Result<Refreshed, sqlx::Error> {
    let used: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((session_id, used_at)) = used else {
        return Ok(Refreshed::Invalid);
    };
    if let Some(at) = used_at.filter(|at| grace.ms > 0 && now.saturating_sub(*at) <= grace.ms) {
        // The successor the claim gave, stamped with the claim's time; or, for a claim
        // made by a server from before stamps, the unstamped one.
        for stamp in [Some(at), None] {
            let ((access, access_hash), (refresh, refresh_hash)) =
                successors(grace.key, grace.token, stamp);
            // The successor is live: unused, and the session still has its access token.
            let row: Option<UserRow> = sqlx::query_as(&RETRY_USER)
                .bind(&refresh_hash)
                .bind(&session_id)
                .bind(&access_hash)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(user) = row {
                tracing::info!(session = %session_id, "refresh retried within the grace period");
                return Ok(Refreshed::Rotated {
                    issued: Issued {
                        session_id,
                        access,
                        refresh,
                    },
                    user: Box::new(user),
                });
            }
        }
    }
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
         RETURNING user_id",
    )
    .bind(now)
    .bind(&session_id)
    .fetch_optional(&mut *conn)
    .await?;
    tracing::warn!(session = %session_id, "refresh token reused; session revoked");
    Ok(Refreshed::Reused { user_id })
}

/// The session an access token belongs to.
#[derive(Debug, Clone)]
pub struct Authed {
    pub session_id: String,
    pub user_id: String,
}

pub enum Lookup {
    Valid(Authed),
    Expired,
    Unknown,
}

/// Resolves an access token; touches `last_used_at` at most once a minute.
pub async fn authenticate(db: &Db, token: &str, now: i64) -> Result<Lookup, sqlx::Error> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.user_id, \
           CASE WHEN s.absolute_expires_at > 0 AND s.absolute_expires_at < s.access_expires_at \
                THEN s.absolute_expires_at ELSE s.access_expires_at END, \
           s.last_used_at FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.access_hash = $1 AND s.revoked_at IS NULL AND u.disabled = 0",
    )
    .bind(session_token_key(token))
    .fetch_optional(db)
    .await?;
    let Some((session_id, user_id, expires, last_used)) = row else {
        return Ok(Lookup::Unknown);
    };
    if expires <= now {
        return Ok(Lookup::Expired);
    }
    if now - last_used > 60_000 {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&session_id)
            .execute(db)
            .await?;
    }
    Ok(Lookup::Valid(Authed {
        session_id,
        user_id,
    }))
}

/// Revokes one session of `user_id`; false if it is not theirs or already ended.
pub async fn revoke(
    db: &Db,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(session_id)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Revokes every session of `user_id` except `keep`, and everything issued to
/// applications (OpenID Connect grants, with their access and refresh tokens; the
/// browser's single sign-on stands on a session, so it ends too): the callers are a
/// new password, sign out everywhere, two-factor turned on, an account disabled.
pub async fn revoke_all(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
         AND id <> $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .execute(&mut *conn)
    .await?;
    crate::oidc::grants::revoke_for_user(&mut *conn, user_id, now).await?;
    Ok(done.rows_affected())
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: String,
    device_id: String,
    device_name: String,
    device_platform: String,
    ip: Option<String>,
    created_at: i64,
    last_used_at: i64,
}

/// The user's live sessions, most recently used first.
pub async fn list(
    db: &Db,
    user_id: &str,
    current: &str,
    now: i64,
) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let rows: Vec<ListRow> = sqlx::query_as(
        "SELECT id, device_id, device_name, device_platform, ip, created_at, last_used_at \
         FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND refresh_expires_at > $2 \
         AND (absolute_expires_at = 0 OR absolute_expires_at > $2) \
         ORDER BY last_used_at DESC, id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionInfo {
            current: r.id == current,
            id: r.id,
            device: Device {
                id: r.device_id,
                name: r.device_name,
                platform: r.device_platform,
            },
            ip: r.ip,
            created_at: rfc3339(r.created_at),
            last_used_at: rfc3339(r.last_used_at),
        })
        .collect())
}

/// Deletes what can no longer matter: expired refresh tokens and challenges, and
/// sessions ended more than the refresh lifetime ago. Returns how many rows.
pub async fn prune(db: &Db, config: &SessionConfig, now: i64) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    deleted += sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected();
    deleted += sqlx::query("DELETE FROM challenges WHERE expires_at < $1")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected();
    let horizon = now.saturating_sub(secs(config.refresh_ttl_seconds));
    deleted += sqlx::query(
        "DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < $1) \
         OR refresh_expires_at < $1 \
         OR (absolute_expires_at > 0 AND absolute_expires_at < $1)",
    )
    .bind(horizon)
    .execute(db)
    .await?
    .rows_affected();
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::NewUser;

    const NOW: i64 = 1_800_000_000_000;

    /// A migrated SQLite file and `n` accounts, each signed in once: (account, refresh
    /// token) pairs.
    async fn signed_in(n: usize) -> (tempfile::TempDir, Db, Vec<(String, Secret)>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("batch.db").display());
        let db = crate::db::connect(&url).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let device = Device {
            id: "device".into(),
            name: "test".into(),
            platform: "linux".into(),
        };
        let mut out = Vec::new();
        for i in 0..n {
            let new = NewUser {
                email: Some(format!("batch{i}@corp.example")),
                ..NewUser::default()
            };
            let id = users::insert(&db, &new, "$argon2id$unused", NOW)
                .await
                .unwrap();
            let mut conn = db.acquire().await.unwrap();
            let issued = create(
                &mut conn,
                &SessionConfig::default(),
                &id,
                &device,
                None,
                NOW,
            )
            .await
            .unwrap();
            out.push((id, issued.refresh));
        }
        (dir, db, out)
    }

    fn job(token: &Secret, now: i64) -> Job {
        let key = [7u8; 32];
        let ((_, access_hash), (_, refresh_hash)) = successors(&key, token.expose(), Some(now));
        Job {
            hashes: [session_token_key(token.expose()), access_hash, refresh_hash],
            times: (now, now + 900_000, now + 86_400_000),
            ip: Some(format!("10.0.0.{}", now % 200)),
            done: oneshot::channel().0,
        }
    }

    /// One batch of five (padded to eight rows): three good tokens, one token twice
    /// (only the first of the two is rotated), one unknown token, one of a disabled
    /// account. Each rotated session moves to its own new access token and gets its own
    /// new refresh token; nothing else changes.
    #[tokio::test]
    async fn a_batch_rotates_each_token_once_and_only_its_own() {
        let (_dir, db, accounts) = signed_in(4).await;
        sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")
            .bind(&accounts[3].0)
            .execute(&db)
            .await
            .unwrap();
        // Every kind of column set, so that the account that comes back as JSON is
        // compared field by field with what `users::by_id` reads.
        sqlx::query(
            "UPDATE users SET name = '张三 \"Q\"', organisation = 'Corp\\1', locale = 'zh-CN', \
             mfa_enabled = 1, must_change_password = 1, directory_id = 'e-1', \
             directory_dn = 'cn=Zhang,dc=corp' WHERE id = $1",
        )
        .bind(&accounts[0].0)
        .execute(&db)
        .await
        .unwrap();
        let unknown = new_session_token("lkr", NOW).0;
        let batch = vec![
            job(&accounts[0].1, NOW + 1),
            job(&accounts[1].1, NOW + 2),
            job(&accounts[1].1, NOW + 3),
            job(&unknown, NOW + 4),
            job(&accounts[2].1, NOW + 5),
            job(&accounts[3].1, NOW + 6),
        ];
        let mut conn = db.acquire().await.unwrap();
        let rotated = rotate_sqlite(&mut conn, &batch).await.unwrap();
        let ids: Vec<Option<&str>> = rotated
            .iter()
            .map(|r| r.as_ref().map(|r| r.user.id.as_str()))
            .collect();
        let account = |i: usize| Some(accounts[i].0.as_str());
        assert_eq!(
            ids,
            vec![account(0), account(1), None, None, account(2), None]
        );
        for k in [0, 1, 4] {
            let job = &batch[k];
            let user = &rotated[k].as_ref().unwrap().user;
            let stored = users::by_id(&mut *conn, &user.id).await.unwrap().unwrap();
            assert!(user == &stored, "job {k}: {user:?} against {stored:?}");
            let (access, ip, last_used): (String, Option<String>, i64) =
                sqlx::query_as("SELECT access_hash, ip, last_used_at FROM sessions WHERE id = $1")
                    .bind(&rotated[k].as_ref().unwrap().session_id)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
            assert_eq!(
                (access.as_str(), ip.as_deref(), last_used),
                (job.hashes[1].as_str(), job.ip.as_deref(), job.times.0),
                "job {k}"
            );
            let (old_used,): (Option<i64>,) =
                sqlx::query_as("SELECT used_at FROM refresh_tokens WHERE token_hash = $1")
                    .bind(&job.hashes[0])
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
            assert_eq!(
                old_used,
                Some(job.times.0),
                "job {k}: claimed at its own time"
            );
            let (new_used, expires): (Option<i64>, i64) = sqlx::query_as(
                "SELECT used_at, expires_at FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(&job.hashes[2])
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            assert_eq!((new_used, expires), (None, job.times.2), "job {k}");
        }
        // Nothing stored for the jobs that were not rotated: 4 sign-ins + 3 rotations.
        let (tokens, used): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(used_at) FROM refresh_tokens")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!((tokens, used), (7, 3));
        let (disabled_used,): (Option<i64>,) =
            sqlx::query_as("SELECT used_at FROM refresh_tokens WHERE token_hash = $1")
                .bind(&batch[5].hashes[0])
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(disabled_used, None);
    }

    /// Every batch size up to the largest, each padded to its bucket, rotates all of its
    /// tokens (the padding rows match nothing).
    #[tokio::test]
    async fn every_batch_size_rotates_all_of_its_tokens() {
        let (_dir, db, accounts) = signed_in(MAX_BATCH).await;
        let mut conn = db.acquire().await.unwrap();
        let mut start = 0;
        for size in [1, 3, 4, 7, 17] {
            let batch: Vec<Job> = accounts[start..start + size]
                .iter()
                .map(|(_, token)| job(token, NOW + 10))
                .collect();
            let rotated = rotate_sqlite(&mut conn, &batch).await.unwrap();
            assert!(rotated.iter().all(Option::is_some), "size {size}");
            for ((id, _), row) in accounts[start..start + size].iter().zip(&rotated) {
                assert_eq!(&row.as_ref().unwrap().user.id, id, "size {size}");
            }
            start += size;
        }
        assert_eq!(start, MAX_BATCH);
        let (tokens,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM refresh_tokens")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(tokens, 2 * MAX_BATCH as i64);
    }

    /// Under a rotation load that never lets the queue empty (more chains than a batch
    /// holds), the batch task still hands the pool's one connection back between
    /// batches, so another statement gets it. Kept for good, the statement would fail
    /// with the pool's acquire timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_statements_get_the_connection_between_batches() {
        use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
        let (_dir, db, accounts) = signed_in(4 * MAX_BATCH).await;
        let rotations = std::sync::Arc::new(Rotations::default());
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let clock = std::sync::Arc::new(AtomicI64::new(NOW));
        let done = std::sync::Arc::new(AtomicU64::new(0));
        let mut chains = Vec::new();
        for (_, token) in accounts {
            let (db, rotations, stop, clock, done) = (
                db.clone(),
                rotations.clone(),
                stop.clone(),
                clock.clone(),
                done.clone(),
            );
            chains.push(tokio::spawn(async move {
                let config = SessionConfig::default();
                let mut token = token;
                while !stop.load(Ordering::Relaxed) {
                    let now = clock.fetch_add(1, Ordering::Relaxed);
                    match refresh(&db, &rotations, &config, &token, None, now).await {
                        Ok(Refreshed::Rotated { issued, .. }) => token = issued.refresh,
                        other => panic!("a chain's rotation: {other:?}"),
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // Waits until `n` rotations are done; a load that stopped fails the test
        // instead of hanging it.
        let rotated = |n: u64| {
            let done = done.clone();
            async move {
                let wait = async {
                    while done.load(Ordering::Relaxed) < n {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                };
                tokio::time::timeout(std::time::Duration::from_secs(60), wait)
                    .await
                    .unwrap_or_else(|_| panic!("the chains stopped before {n} rotations"));
            }
        };
        rotated(500).await;
        let before = done.load(Ordering::Relaxed);
        let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&db)
            .await
            .expect("a statement gets the connection between two batches");
        assert_eq!(users, 4 * MAX_BATCH as i64);
        // The load was still on: rotations went on while the statement waited and ran.
        rotated(before + 200).await;
        stop.store(true, Ordering::Relaxed);
        for chain in chains {
            chain.await.unwrap();
        }
    }

    /// A batch whose statement fails commits nothing and is tried again rotation by
    /// rotation: only the rotation that fails gets an error, the others are rotated, and
    /// the batch task learns of the failure (it gives the connection back then).
    #[tokio::test]
    async fn a_failing_rotation_fails_only_its_own_request() {
        let (_dir, db, accounts) = signed_in(3).await;
        let mut conn = db.acquire().await.unwrap();
        let (failing,): (String,) = sqlx::query_as("SELECT id FROM sessions WHERE user_id = $1")
            .bind(&accounts[1].0)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        // The database refuses the new refresh token of one session only.
        sqlx::query(&format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON refresh_tokens \
             WHEN NEW.session_id = '{failing}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
        let mut answers = Vec::new();
        let batch: Vec<Job> = accounts
            .iter()
            .map(|(_, token)| {
                let (done, answer) = oneshot::channel();
                answers.push(answer);
                Job {
                    done,
                    ..job(token, NOW + 10)
                }
            })
            .collect();
        assert!(!commit_batch(&mut conn, batch).await, "a statement failed");
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(match answer.await.unwrap() {
                Ok(Some(row)) => Some(row.user.id),
                Ok(None) => panic!("a rotation found nothing to rotate"),
                Err(_) => None,
            });
        }
        assert_eq!(
            outcomes,
            vec![
                Some(accounts[0].0.clone()),
                None,
                Some(accounts[2].0.clone())
            ]
        );
        let (used,): (i64,) = sqlx::query_as("SELECT COUNT(used_at) FROM refresh_tokens")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(used, 2, "the failing session's token is not used up");
    }
}
