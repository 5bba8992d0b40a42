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
pub mod directory;
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
pub mod ops;
pub mod policy;
pub mod recovery_codes;
pub mod releases;
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

/// Serves the application on `listener` until `shutdown` resolves, then drains (see
/// [`config::ShutdownConfig`]): `/readyz` answers 503, the port stays open for
/// `shutdown.delay_seconds`, then closes, and the requests in flight finish. Background
/// tasks prune expired rows every ten minutes ([`retention`]), send queued messages
/// ([`delivery::Dispatcher`], unless `delivery.dispatcher` is off), read the policies
/// set in the console every second ([`policy`]) and, on SQLite, checkpoint the WAL
/// ([`db::checkpoint_wal`]); with `metrics.bind` set, `/metrics` is served there
/// ([`ops::metrics`]).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A metrics address that cannot be had stops the start, as the API's does.
    let metrics = match state.config().metrics.bind {
        Some(addr) => {
            let listener = ops::metrics::bind(addr).await?;
            let handle =
                ops::metrics::install().map_err(|e| std::io::Error::other(e.to_string()))?;
            tracing::info!(addr = %listener.local_addr()?, "serving metrics at /metrics");
            Some(tokio::spawn(ops::metrics::serve(
                listener,
                handle,
                state.clone(),
            )))
        }
        None => None,
    };
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
    let config = state.config();
    let limits = config.limits.clone();
    let drain = {
        let lifecycle = state.lifecycle.clone();
        let delay = std::time::Duration::from_secs(config.shutdown.delay_seconds);
        async move {
            shutdown.await;
            lifecycle.drain();
            tracing::info!(
                delay_seconds = delay.as_secs(),
                "draining: /readyz answers 503"
            );
            tokio::time::sleep(delay).await;
        }
    };
    let timeout = std::time::Duration::from_secs(config.shutdown.timeout_seconds);
    let result = listen::serve(router(state), listener, &limits, timeout, drain).await;
    janitor.abort();
    policies.abort();
    checkpointer.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    if let Some(d) = dispatcher {
        d.abort();
    }
    result
}
