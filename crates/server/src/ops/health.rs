//! Readiness (issue 22): whether this process should get traffic. `GET /readyz`
//! answers from [`check`]; `GET /healthz` only says the process answers.
//!
//! The checks are named, never explained (the answer goes to whoever asks, without a
//! token): `database` (a query answers within 2 s), `migrations` (every migration this
//! binary knows is applied), `keys` (the OpenID Connect signing keys load and open with
//! `LATCHKEY_SECRET_KEY`, when the provider is on; the secret key itself is checked at
//! start) and `shutdown` (the process is not draining). The details go to the log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::state::AppState;

/// How long a readiness check waits for the database.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process's own part of readiness: set once SIGTERM arrived.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// From now on `/readyz` answers 503 (`shutdown`).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// The state of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failing,
    /// Not checked, because a check it depends on fails (the database).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failing => "failing",
            Self::Skipped => "skipped",
        }
    }
}

/// Every check, in a fixed order.
#[derive(Clone, Debug)]
pub struct Report {
    pub checks: Vec<(&'static str, Status)>,
}

impl Report {
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|(_, s)| *s == Status::Ok)
    }

    /// The names of the checks that fail.
    pub fn failing(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|(_, s)| *s == Status::Failing)
            .map(|(name, _)| *name)
            .collect()
    }
}

/// Runs every check.
pub async fn check(app: &AppState) -> Report {
    let database = bounded(sqlx::query("SELECT 1").execute(&app.db)).await;
    let (migrations, keys) = if database.is_ok() {
        let migrations = match bounded(crate::db::migrations_current(&app.db)).await {
            Ok(true) => Status::Ok,
            Ok(false) => {
                tracing::warn!("readiness: the database lacks migrations of this version");
                Status::Failing
            }
            Err(e) => {
                tracing::warn!(error = %e, "readiness: cannot read the applied migrations");
                Status::Failing
            }
        };
        (migrations, keys(app).await)
    } else {
        (Status::Skipped, Status::Skipped)
    };
    let database = match database {
        Ok(_) => Status::Ok,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            Status::Failing
        }
    };
    let shutdown = if app.lifecycle.is_draining() {
        Status::Failing
    } else {
        Status::Ok
    };
    Report {
        checks: vec![
            ("database", database),
            ("migrations", migrations),
            ("keys", keys),
            ("shutdown", shutdown),
        ],
    }
}

async fn keys(app: &AppState) -> Status {
    if app.config().oidc.issuer().is_none() {
        return Status::Ok;
    }
    // Longer than the database's bound: the first check may make the keys (an RSA key
    // takes a moment).
    match tokio::time::timeout(CHECK_TIMEOUT * 5, app.oidc_keys.get(app)).await {
        Ok(Ok(_)) => Status::Ok,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the signing keys do not load");
            Status::Failing
        }
        Err(_) => {
            tracing::warn!("readiness: the signing keys took too long to load");
            Status::Failing
        }
    }
}

/// A database call, failing after [`CHECK_TIMEOUT`].
async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    tokio::time::timeout(CHECK_TIMEOUT, call)
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}
