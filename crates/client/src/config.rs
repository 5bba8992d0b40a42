//! Which server to talk to, and the server's meta cached for offline. (This device's
//! id is a secret: it is in the keychain, see `device`.)
//!
//! The server comes from IT's managed settings when they name one (`managed`: locked,
//! or a default the person may replace in the app); else, in this order, from
//! `LATCHKEY_SERVER`, from `latchkey.toml` beside the executable (IT's
//! pre-provisioning: `server = "https://auth.corp.cn"`), or from the first-run setup,
//! saved in the config folder. A provisioned or locked server is not replaced by the
//! setup screen: IT chose it.

use std::path::{Path, PathBuf};

use latchkey_proto::Meta;
use serde::{Deserialize, Serialize};

use crate::dirs::{read_json, write_atomic, AppDirs};
use crate::error::ClientError;
use crate::managed::Managed;
use crate::net::ServerUrl;

/// Environment variable that names the server (IT's deployment tools set it).
pub const SERVER_ENV: &str = "LATCHKEY_SERVER";
/// File beside the executable that names the server.
pub const PROVISION_FILE: &str = "latchkey.toml";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerSource {
    /// IT's managed settings, locked.
    Managed,
    /// IT's managed settings, not locked: the person may choose another.
    ManagedDefault,
    Environment,
    Provisioned,
    User,
}

impl ServerSource {
    /// Whether the app offers to change the server.
    pub fn changeable(self) -> bool {
        matches!(self, Self::User | Self::ManagedDefault)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerChoice {
    pub url: ServerUrl,
    pub source: ServerSource,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvisionFile {
    server: String,
}

#[derive(Serialize, Deserialize)]
struct UserSettings {
    server: String,
}

/// The server to use, or `None` when the first-run setup must ask. A provisioned
/// address that is not valid (http to a remote host, say) is an error, not silently
/// skipped: IT must hear about it.
pub fn resolve_server(
    managed: &Managed,
    env: Option<&str>,
    exe_dir: Option<&Path>,
    dirs: &AppDirs,
) -> Result<Option<ServerChoice>, ClientError> {
    if let Some(server) = &managed.server {
        let url = ServerUrl::parse(server)?;
        if managed.server_locked() {
            return Ok(Some(ServerChoice {
                url,
                source: ServerSource::Managed,
            }));
        }
        if let Some(saved) = saved_choice(dirs)? {
            return Ok(Some(saved));
        }
        return Ok(Some(ServerChoice {
            url,
            source: ServerSource::ManagedDefault,
        }));
    }
    if let Some(v) = env.filter(|v| !v.trim().is_empty()) {
        return Ok(Some(ServerChoice {
            url: ServerUrl::parse(v)?,
            source: ServerSource::Environment,
        }));
    }
    if let Some(dir) = exe_dir {
        let path = dir.join(PROVISION_FILE);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let file: ProvisionFile = toml::from_str(&text).map_err(|e| {
                tracing::error!(file = %path.display(), error = %e, "invalid provisioning file");
                ClientError::InvalidServerUrl
            })?;
            return Ok(Some(ServerChoice {
                url: ServerUrl::parse(&file.server)?,
                source: ServerSource::Provisioned,
            }));
        }
    }
    saved_choice(dirs)
}

fn saved_choice(dirs: &AppDirs) -> Result<Option<ServerChoice>, ClientError> {
    let Some(saved) = read_json::<UserSettings>(&settings_path(dirs)) else {
        return Ok(None);
    };
    Ok(Some(ServerChoice {
        url: ServerUrl::parse(&saved.server)?,
        source: ServerSource::User,
    }))
}

/// Saves the address chosen in the first-run setup.
pub fn save_user_server(dirs: &AppDirs, url: &ServerUrl) -> Result<(), ClientError> {
    let bytes = serde_json::to_vec_pretty(&UserSettings {
        server: url.as_str().to_owned(),
    })
    .map_err(|e| ClientError::Storage(e.to_string()))?;
    write_atomic(&settings_path(dirs), &bytes)
}

fn settings_path(dirs: &AppDirs) -> PathBuf {
    dirs.config.join("settings.json")
}

/// `/v1/meta` as last fetched, with when and from which server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CachedMeta {
    pub server: String,
    pub fetched_at: u64,
    pub meta: Meta,
}

fn meta_path(dirs: &AppDirs) -> PathBuf {
    dirs.cache.join("meta.json")
}

/// The cached meta of `server`, if any (a cache of another server is ignored).
pub fn load_meta(dirs: &AppDirs, server: &ServerUrl) -> Option<CachedMeta> {
    read_json::<CachedMeta>(&meta_path(dirs)).filter(|c| c.server == server.key())
}

pub fn save_meta(dirs: &AppDirs, cached: &CachedMeta) -> Result<(), ClientError> {
    let bytes =
        serde_json::to_vec_pretty(cached).map_err(|e| ClientError::Storage(e.to_string()))?;
    write_atomic(&meta_path(dirs), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_then_file_then_saved() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = AppDirs::under(tmp.path());
        let exe = tmp.path().join("bin");
        std::fs::create_dir_all(&exe).unwrap();
        assert_eq!(
            resolve_server(&Managed::default(), None, Some(&exe), &dirs).unwrap(),
            None
        );

        save_user_server(&dirs, &ServerUrl::parse("https://user.corp").unwrap()).unwrap();
        let c = resolve_server(&Managed::default(), None, Some(&exe), &dirs)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.url.as_str(), c.source),
            ("https://user.corp/", ServerSource::User)
        );

        std::fs::write(exe.join(PROVISION_FILE), "server = \"it.corp:8443\"\n").unwrap();
        let c = resolve_server(&Managed::default(), None, Some(&exe), &dirs)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.url.as_str(), c.source),
            ("https://it.corp:8443/", ServerSource::Provisioned)
        );

        let c = resolve_server(
            &Managed::default(),
            Some("http://127.0.0.1:8433"),
            Some(&exe),
            &dirs,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.source, ServerSource::Environment);

        std::fs::write(exe.join(PROVISION_FILE), "server = \"http://it.corp\"\n").unwrap();
        assert!(matches!(
            resolve_server(&Managed::default(), None, Some(&exe), &dirs),
            Err(ClientError::InsecureServerUrl)
        ));
    }
}
