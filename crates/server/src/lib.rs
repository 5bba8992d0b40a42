//! The Latchkey reference auth server.
//!
//! It answers the v1 HTTP contract of `DESIGN.md` (sign-in, sessions, lockout,
//! password policy, maintenance and version switches) from a database: SQLite as the
//! embedded default, PostgreSQL when several processes share the load. Every piece of
//! state that matters lives in that database, so the processes hold nothing of their
//! own. [`router`] builds the whole application, so tests can serve it on
//! `127.0.0.1:0`; [`admin`] holds the commands IT scripts run.

pub mod account;
pub mod activity;
pub mod admin;
pub mod audit;
pub mod challenge;
pub mod config;
pub mod db;
pub mod delivery;
pub mod devices;
pub mod error;
pub mod hasher;
mod http;
pub mod idempotency;
pub mod identifier;
mod listen;
pub mod lockout;
pub mod mfa;
pub mod notify;
pub mod oidc;
pub mod policy;
pub mod recovery_codes;
pub mod replacement;
pub mod retention;
pub mod roles;
pub mod secret_box;
pub mod sends;
pub mod session;
pub mod settings;
pub mod signin;
pub mod state;
pub mod tokens;
pub mod totp;
pub mod two_factor;
pub mod users;

use std::future::Future;

pub use config::Config;
pub use http::{openapi, router, MAX_BODY_BYTES};
pub use state::AppState;

/// Serves the application on `listener` until `shutdown` resolves. Background tasks
/// prune expired rows every ten minutes ([`retention`]), send queued messages
/// ([`delivery::Dispatcher`], unless `delivery.dispatcher` is off), read the policies set
/// in the console every second ([`policy`]) and, on SQLite, checkpoint the WAL
/// ([`db::checkpoint_wal`]).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A bad SMTP or webhook URL stops the start, before any task is spawned.
    let dispatcher = if state.config().delivery.dispatcher {
        let dispatcher = delivery::Dispatcher::new(&state)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        Some(tokio::spawn(dispatcher.run()))
    } else {
        None
    };
    let janitor = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            let mut first = true;
            loop {
                tick.tick().await;
                match retention::prune(&state, state.now()).await {
                    Ok(n) => tracing::debug!(deleted = n, "pruned expired rows"),
                    Err(e) => tracing::warn!(error = %e, "pruning expired rows failed"),
                }
                // Not at the start (the first tick is at once): a restart would claim
                // the day before any lock of it.
                if !std::mem::take(&mut first) {
                    if let Err(e) = notify::daily_lock_summary(&state, state.now()).await {
                        tracing::warn!(error = %e, "the daily summary of locked accounts failed");
                    }
                }
            }
        })
    };
    // The policies set in the console reach this process within a second also when no
    // request reads the switches (only the sign-in pages or the janitor at work).
    let policies = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(
                settings::CACHE_TTL_MS.unsigned_abs(),
            ));
            loop {
                tick.tick().await;
                if let Err(e) = state.switches().await {
                    tracing::debug!(error = %e, "reading the policies failed");
                }
            }
        })
    };
    let checkpointer = tokio::spawn(db::checkpoint_wal(state.db.clone()));
    let limits = state.config().limits.clone();
    let result = listen::serve(router(state), listener, &limits, shutdown).await;
    janitor.abort();
    policies.abort();
    checkpointer.abort();
    if let Some(d) = dispatcher {
        d.abort();
    }
    result
}
