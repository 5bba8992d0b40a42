//! IT's managed settings: what the company's device management sets for everyone on a
//! computer, read from the platform's own place for it, and above what the person or
//! the installer set (docs/deploying.md "Managed settings").
//!
//! The settings: `server`, `lock_server`, `offline_signin`, `language`. Where they come
//! from, first found wins, key by key:
//!
//! | OS | sources, in order |
//! |---|---|
//! | Windows | `HKLM\SOFTWARE\Policies\Latchkey`, then `HKCU\SOFTWARE\Policies\Latchkey` (values `Server`, `LockServer`, `OfflineSignin`, `Language`) |
//! | macOS | `/Library/Managed Preferences/<user>/cn.latchkey.desktop.plist`, then `/Library/Managed Preferences/cn.latchkey.desktop.plist` (same keys) |
//! | Linux | `/etc/latchkey/latchkey.toml` (`server`, `lock_server`, `offline_signin`, `language`) |
//!
//! Then, for the server only and only where no managed server is set:
//! `LATCHKEY_SERVER`, `latchkey.toml` beside the executable, the person's choice
//! (`config::resolve_server`). A managed server that is not locked is a default: the
//! person may pick another in the app, and that choice then wins.
//!
//! Why per OS and not one file everywhere: IT's tools (Group Policy/Intune, a macOS
//! configuration profile, a Linux configuration manager) each write one of these, and
//! none of them can write the others. The policy places are writable only by an
//! administrator, so a person cannot lift a lock by editing them.

use std::path::Path;
#[cfg(not(any(windows, target_os = "macos")))]
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ClientError;

/// The Linux file.
pub const LINUX_FILE: &str = "/etc/latchkey/latchkey.toml";
/// Test builds only (debug assertions on): another file in place of [`LINUX_FILE`], so
/// that the app's screens can be tried with managed settings without root.
pub const TEST_FILE_ENV: &str = "LATCHKEY_TEST_MANAGED_FILE";
/// The Windows policy key, under HKLM then HKCU.
pub const POLICY_KEY: &str = "SOFTWARE\\Policies\\Latchkey";
/// The app's identifier, the macOS managed preferences domain.
pub const APP_ID: &str = "cn.latchkey.desktop";
/// The UI languages a policy may force.
pub const LANGUAGES: [&str; 2] = ["en", "zh-CN"];

/// What IT set; `None`: not managed, the app's own default applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Managed {
    pub server: Option<String>,
    /// The UI offers no "change server" (only with `server`).
    pub lock_server: Option<bool>,
    /// `false`: no offline verifier is kept and offline sign-in is refused (shared PCs).
    pub offline_signin: Option<bool>,
    /// `en` or `zh-CN`: the UI's language, not offered to change.
    pub language: Option<String>,
}

impl Managed {
    pub fn server_locked(&self) -> bool {
        self.server.is_some() && self.lock_server.unwrap_or(false)
    }

    pub fn offline_allowed(&self) -> bool {
        self.offline_signin.unwrap_or(true)
    }

    /// Keeps what `self` set and takes the rest from `lower`.
    fn over(self, lower: Managed) -> Managed {
        Managed {
            server: self.server.or(lower.server),
            lock_server: self.lock_server.or(lower.lock_server),
            offline_signin: self.offline_signin.or(lower.offline_signin),
            language: self.language.or(lower.language),
        }
    }

    /// A blank server is no server; a language the UI does not have is ignored (with a
    /// log line), not an error: the app still starts in a language it has.
    fn cleaned(mut self, source: &str) -> Managed {
        self.server = self.server.filter(|s| !s.trim().is_empty());
        if let Some(lang) = &self.language {
            if !LANGUAGES.contains(&lang.as_str()) {
                tracing::error!(source, language = %lang, "managed language not available, ignored");
                self.language = None;
            }
        }
        self
    }
}

/// This computer's managed settings, from the platform's place for them.
pub fn load() -> Result<Managed, ClientError> {
    #[cfg(windows)]
    {
        Ok(windows::load())
    }
    #[cfg(target_os = "macos")]
    {
        macos::load()
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        let file = test_file().unwrap_or_else(|| PathBuf::from(LINUX_FILE));
        load_file(&file)
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
fn test_file() -> Option<PathBuf> {
    if cfg!(debug_assertions) {
        std::env::var_os(TEST_FILE_ENV).map(PathBuf::from)
    } else {
        None
    }
}

/// The settings in a TOML file; a missing file is no settings. A file that is there
/// but unreadable is an error: IT must hear that their settings are not applied.
pub fn load_file(path: &Path) -> Result<Managed, ClientError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Managed::default()),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "cannot read the managed settings");
            return Err(ClientError::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let managed: Managed = toml::from_str(&text).map_err(|e| {
        tracing::error!(file = %path.display(), error = %e, "invalid managed settings");
        ClientError::InvalidServerUrl
    })?;
    Ok(managed.cleaned(&path.display().to_string()))
}

/// The layers, highest first, merged key by key.
pub fn merge(layers: impl IntoIterator<Item = Managed>) -> Managed {
    layers
        .into_iter()
        .fold(Managed::default(), |high, low| high.over(low))
}

#[cfg(windows)]
pub mod windows {
    //! The policy key, through the registry API (windows-registry).
    use super::{merge, Managed, POLICY_KEY};

    /// HKLM's values above HKCU's.
    pub fn load() -> Managed {
        merge([
            from_key(windows_registry::LOCAL_MACHINE, "HKLM"),
            from_key(windows_registry::CURRENT_USER, "HKCU"),
        ])
    }

    /// One hive's policy key: `Server`, `Language` (strings), `LockServer`,
    /// `OfflineSignin` (DWORD, 0 or 1). A missing key or value is not set.
    pub fn from_key(hive: &windows_registry::Key, name: &str) -> Managed {
        let Ok(key) = hive.open(POLICY_KEY) else {
            return Managed::default();
        };
        let flag = |v: &str| key.get_u32(v).ok().map(|n| n != 0);
        Managed {
            server: key.get_string("Server").ok(),
            lock_server: flag("LockServer"),
            offline_signin: flag("OfflineSignin"),
            language: key.get_string("Language").ok(),
        }
        .cleaned(name)
    }
}

#[cfg(target_os = "macos")]
mod macos {
    //! A configuration profile's payload for the app, as macOS writes it to
    //! `/Library/Managed Preferences` (user-scoped above computer-scoped). Not run by
    //! any test here: it builds only on macOS.
    use std::path::PathBuf;

    use super::{merge, Managed, APP_ID};
    use crate::error::ClientError;

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Payload {
        server: Option<String>,
        lock_server: Option<bool>,
        offline_signin: Option<bool>,
        language: Option<String>,
    }

    pub fn load() -> Result<Managed, ClientError> {
        let base = PathBuf::from("/Library/Managed Preferences");
        let mut layers = Vec::new();
        if let Some(user) = std::env::var_os("USER") {
            layers.push(base.join(user).join(format!("{APP_ID}.plist")));
        }
        layers.push(base.join(format!("{APP_ID}.plist")));
        let mut read = Vec::new();
        for path in layers {
            if !path.exists() {
                continue;
            }
            let p: Payload = plist::from_file(&path).map_err(|e| {
                tracing::error!(file = %path.display(), error = %e, "invalid managed preferences");
                ClientError::InvalidServerUrl
            })?;
            read.push(
                Managed {
                    server: p.server,
                    lock_server: p.lock_server,
                    offline_signin: p.offline_signin,
                    language: p.language,
                }
                .cleaned(&path.display().to_string()),
            );
        }
        Ok(merge(read))
    }
}
