//! Where the app keeps its (non-secret) files: settings, the cached server meta and the
//! log. Secrets never go here — the device id neither; they live in the keychain.

use std::path::{Path, PathBuf};

use crate::error::ClientError;

#[derive(Clone, Debug)]
pub struct AppDirs {
    /// Settings chosen at first run (`settings.json`).
    pub config: PathBuf,
    /// The server's `/v1/meta`, for offline use.
    pub cache: PathBuf,
    /// The rolling log file.
    pub logs: PathBuf,
}

impl AppDirs {
    /// The platform's folders: `~/.config/latchkey`, `~/.cache/latchkey`,
    /// `~/.local/state/latchkey/logs` on Linux; `~/Library/…` on macOS (logs in
    /// `~/Library/Logs/Latchkey`); `%APPDATA%`/`%LOCALAPPDATA%` on Windows.
    pub fn platform() -> Result<Self, ClientError> {
        let p = directories::ProjectDirs::from("", "", "Latchkey")
            .ok_or_else(|| ClientError::Storage("no home directory".into()))?;
        let logs = if cfg!(target_os = "macos") {
            directories::BaseDirs::new()
                .map(|b| b.home_dir().join("Library/Logs/Latchkey"))
                .unwrap_or_else(|| p.data_local_dir().join("logs"))
        } else {
            p.state_dir()
                .unwrap_or_else(|| p.data_local_dir())
                .join("logs")
        };
        Ok(Self {
            config: p.config_dir().to_path_buf(),
            cache: p.cache_dir().to_path_buf(),
            logs,
        })
    }

    /// Everything under one folder (tests, portable installs).
    pub fn under(root: &Path) -> Self {
        Self {
            config: root.join("config"),
            cache: root.join("cache"),
            logs: root.join("logs"),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the
/// old file or the new one, never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    let storage = |e: std::io::Error| ClientError::Storage(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(storage)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(storage)?;
    std::fs::rename(&tmp, path).map_err(storage)
}

/// Reads a JSON file; `None` when it is missing or unreadable (a cache may be dropped).
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "ignoring an unreadable file");
            None
        }
    }
}
