//! The seeding statements, one per table, for SQLite and PostgreSQL: each inserts the
//! rows of the accounts `$1 ≤ i < $2` in one statement that the database runs by
//! itself (a recursive CTE on SQLite, `generate_series` on PostgreSQL), so no row
//! crosses the client connection — faster than COPY or multi-row INSERTs here.
//!
//! Account `i` is `user{i}@seed.example`; its id is a function of `i` (SQLite: a
//! scrambled prefix then `i`; PostgreSQL: `md5(i)`), so the side tables refer to it
//! without a look-up and ids land all over the index, as random ids do.

/// Which database.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The id of account `i` (a SQL expression of the integer column `i`).
pub fn user_id(kind: Kind, i: &str) -> String {
    match kind {
        Kind::Sqlite => format!("printf('%08x%024x', ({i} * 2654435761) % 4294967296, {i})"),
        Kind::Postgres => format!("md5(({i})::text)"),
    }
}

/// The id of session `k` (0 or 1) of account `i`.
fn session_id(kind: Kind, i: &str, k: &str) -> String {
    match kind {
        Kind::Sqlite => {
            format!("printf('%08x%023x%01x', ({i} * 2246822519) % 4294967296, {i}, {k})")
        }
        Kind::Postgres => format!("md5(({i})::text || ':' || ({k})::text)"),
    }
}

/// 64 random hex characters (a token hash, a device id).
fn random64(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "lower(hex(randomblob(32)))",
        Kind::Postgres => "(md5(random()::text) || md5(random()::text))",
    }
}

/// 32 random hex characters (a row id).
fn random32(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "lower(hex(randomblob(16)))",
        Kind::Postgres => "md5(random()::text)",
    }
}

/// `FROM` the accounts `$1 ≤ i < $2`, as a prefix (SQLite's CTE) and a source.
fn accounts(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Sqlite => (
            "WITH RECURSIVE s(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $2) ",
            "s",
        ),
        Kind::Postgres => ("", "generate_series($1::bigint, $2::bigint - 1) AS s(i)"),
    }
}

/// `k` from 0 to `n - 1`, as a source to join.
fn times(kind: Kind, n: u32) -> String {
    match kind {
        Kind::Sqlite => format!(
            "(WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k + 1 < {n}) SELECT k FROM t) AS t"
        ),
        Kind::Postgres => format!("generate_series(0, {}) AS t(k)", n - 1),
    }
}

/// PostgreSQL infers a parameter's type from its context (`$3 - k`: integer), so the
/// numbers are cast to BIGINT there; `params` lists which.
fn typed(kind: Kind, sql: String, params: &[&str]) -> String {
    match kind {
        Kind::Sqlite => sql,
        Kind::Postgres => params
            .iter()
            .fold(sql, |sql, p| sql.replace(p, &format!("{p}::bigint"))),
    }
}

/// Accounts: `$3` the password hash, `$4` now (ms).
pub fn users(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO users (id, email, name, organisation, locale, password_hash, \
         password_changed_at, must_change_password, disabled, mfa_enabled, created_at) \
         SELECT {}, 'user' || i || '@seed.example', 'Seed User ' || i, 'Seed Corp', 'en', \
         $3, $4 - i, 0, 0, 0, $4 - 86400000 - i FROM {from}",
        user_id(kind, "i")
    );
    typed(kind, sql, &["$4"])
}

/// Ten sign-ins per account, a day apart (one in ten failed): `$3` now.
pub fn activity(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO activity (id, user_id, kind, result, device_id, device_name, \
         device_platform, ip, created_at, request_id) \
         SELECT {}, {}, 'login', CASE WHEN (i + k) % 10 = 0 THEN 'invalid_credentials' ELSE 'ok' END, \
         '', 'PC-' || i, 'windows', '10.' || (i % 200) || '.' || (k * 20) || '.' || (i % 250), \
         $3 - k * 86400000 - (i % 86400000), {} FROM {from} CROSS JOIN {}",
        random32(kind),
        user_id(kind, "i"),
        random32(kind),
        times(kind, 10)
    );
    typed(kind, sql, &["$3"])
}

/// Two live sessions per account: `$3` now.
pub fn sessions(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO sessions (id, user_id, access_hash, access_expires_at, \
         refresh_expires_at, device_id, device_name, device_platform, ip, created_at, \
         last_used_at, absolute_expires_at) \
         SELECT {}, {}, {}, $3 + 900000 - k * 3600000, $3 + 2592000000, '', \
         'PC-' || i || '-' || k, 'windows', '10.0.' || (i % 250) || '.' || k, \
         $3 - 86400000, $3 - k * 3600000, $3 + 7776000000 FROM {from} CROSS JOIN {}",
        session_id(kind, "i", "k"),
        user_id(kind, "i"),
        random64(kind),
        times(kind, 2)
    );
    typed(kind, sql, &["$3"])
}

/// The live refresh token of each session: `$3` now.
pub fn refresh_tokens(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO refresh_tokens (token_hash, session_id, expires_at) \
         SELECT {}, {}, $3 + 2592000000 FROM {from} CROSS JOIN {}",
        random64(kind),
        session_id(kind, "i", "k"),
        times(kind, 2)
    );
    typed(kind, sql, &["$3"])
}

/// The two devices of each account: `$3` now.
pub fn known_devices(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO known_devices (user_id, device_id, name, platform, first_seen, last_seen) \
         SELECT {}, {}, 'PC-' || i || '-' || k, 'windows', $3 - 86400000, $3 FROM {from} CROSS JOIN {}",
        user_id(kind, "i"),
        random64(kind),
        times(kind, 2)
    );
    typed(kind, sql, &["$3"])
}

/// Lockout rows `$1 ≤ j < $2` of accounts `j × $4` (one in 50 locked): `$3` now.
pub fn lockouts(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO lockouts (subject, failures, lock_level, locked_until, last_failure_at) \
         SELECT 'email:user' || (i * $4) || '@seed.example', i % 5 + 1, 0, \
         CASE WHEN i % 50 = 0 THEN $3 + 900000 ELSE 0 END, $3 - (i % 3600000) FROM {from}"
    );
    typed(kind, sql, &["$3", "$4"])
}

/// Per-address throttle rows `$1 ≤ j < $2`: `$3` now.
pub fn throttles(kind: Kind) -> String {
    let (with, from) = accounts(kind);
    let sql = format!(
        "{with}INSERT INTO throttles (bucket, window_start, hits) \
         SELECT 'login:10.' || (i / 65536 % 256) || '.' || (i / 256 % 256) || '.' || (i % 256), \
         $3 - (i % 600000), i % 50 + 1 FROM {from}"
    );
    typed(kind, sql, &["$3"])
}
