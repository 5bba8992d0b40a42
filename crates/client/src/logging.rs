//! The app's log: `tracing` into a daily rolling file in the platform log folder, kept
//! for a week. Secrets are redacted by type — passwords, tokens and codes are
//! [`latchkey_proto::Secret`], whose `Debug` prints `<redacted>`, and functions that
//! handle them are `#[instrument(skip_all)]` — so nothing here filters text.
//!
//! Only the binary (the Tauri shell) calls [`init`]; libraries never install a
//! subscriber.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;

use crate::error::ClientError;

/// Base name of the log files (`latchkey.log.2026-11-22`).
pub const FILE_PREFIX: &str = "latchkey.log";
/// Default filter; `LATCHKEY_LOG` overrides it.
pub const DEFAULT_FILTER: &str = "info,latchkey_client=debug";

/// Installs the global subscriber writing to `dir`. Keep the guard until exit: it
/// flushes the last lines.
pub fn init(dir: &Path, filter: Option<&str>) -> Result<WorkerGuard, ClientError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ClientError::Storage(format!("{}: {e}", dir.display())))?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .max_log_files(7)
        .build(dir)
        .map_err(|e| ClientError::Storage(format!("log file: {e}")))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = filter
        .map(str::to_owned)
        .or_else(|| std::env::var("LATCHKEY_LOG").ok())
        .unwrap_or_else(|| DEFAULT_FILTER.to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| ClientError::Storage(format!("logging: {e}")))?;
    Ok(guard)
}
