//! This installation's device: a random id, the computer's name and the OS.
//!
//! The id is what lets a sign-in skip the new-device code (the server trusts a device
//! it has seen complete a sign-in), so it is a secret like a refresh token: it lives in
//! the keychain, one item for the installation, and its `Debug` is redacted. Without a
//! keychain the id is a fresh random one for this run only — the server then asks for a
//! device code, which is right for a device that cannot remember anything — and never
//! a plain file.
//!
//! Versions before issue 13 kept it in `device.json` in the config folder. That file is
//! moved into the keychain and deleted at the first start; if the keychain cannot take
//! it, it is deleted all the same (used for this run only): a secret does not stay in a
//! plain file because the keychain is missing.

use std::path::{Path, PathBuf};

use latchkey_proto::{Device, Secret};
use serde::Deserialize;

use crate::dirs::{read_json, AppDirs};
use crate::vault::SecretStore;

/// Keychain item (under the app's service) that holds the id.
pub const KEYCHAIN_ITEM: &str = "device id";

/// Where versions before issue 13 kept the id in plain text.
pub fn legacy_file(dirs: &AppDirs) -> PathBuf {
    dirs.config.join("device.json")
}

/// The id the server knows this device by. `Debug` prints `<redacted>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceId(Secret);

impl DeviceId {
    fn random() -> Self {
        Self(Secret::new(hex::encode(rand::random::<[u8; 16]>())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// This device as the sign-in requests describe it.
#[derive(Clone, Debug)]
pub struct ThisDevice {
    pub id: DeviceId,
    pub name: String,
    pub platform: String,
    /// The id is kept in the keychain (`false`: a fresh one for this run only).
    pub kept: bool,
}

impl ThisDevice {
    /// The wire form, for a request body.
    pub fn wire(&self) -> Device {
        Device {
            id: self.id.expose().to_owned(),
            name: self.name.clone(),
            platform: self.platform.clone(),
        }
    }
}

#[derive(Deserialize)]
struct LegacyFile {
    id: String,
}

/// This device: its id from the keychain (moved there from an older version's file,
/// or made now), else a fresh id for this run.
pub fn load(store: &dyn SecretStore, dirs: &AppDirs) -> ThisDevice {
    let (id, kept) = id(store, &legacy_file(dirs));
    ThisDevice {
        id,
        name: hostname(),
        platform: std::env::consts::OS.to_owned(),
        kept,
    }
}

fn id(store: &dyn SecretStore, legacy: &Path) -> (DeviceId, bool) {
    let old = read_json::<LegacyFile>(legacy)
        .map(|f| f.id)
        .filter(|id| !id.is_empty() && id.len() <= 128);
    let result = match store.get(KEYCHAIN_ITEM) {
        Ok(Some(id)) if !id.is_empty() => Ok(DeviceId(Secret::new(id))),
        Ok(_) => {
            let id = old
                .clone()
                .map(|id| DeviceId(Secret::new(id)))
                .unwrap_or_else(DeviceId::random);
            store.set(KEYCHAIN_ITEM, id.expose()).map(|()| id)
        }
        Err(e) => Err(e),
    };
    if legacy.exists() {
        match std::fs::remove_file(legacy) {
            Ok(()) => tracing::info!("the device id left its plain file"),
            Err(e) => tracing::warn!(error = %e, "cannot delete the old device id file"),
        }
    }
    match result {
        Ok(id) => (id, true),
        Err(e) => {
            tracing::warn!(error = %e, "no keychain for the device id; a new one for this run");
            let id = old
                .map(|id| DeviceId(Secret::new(id)))
                .unwrap_or_else(DeviceId::random);
            (id, false)
        }
    }
}

fn hostname() -> String {
    std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().chars().take(100).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "Desktop".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{MemoryStore, StoreError};

    struct NoKeychain;

    impl SecretStore for NoKeychain {
        fn get(&self, _: &str) -> Result<Option<String>, StoreError> {
            Err(StoreError::Unavailable("none".into()))
        }
        fn set(&self, _: &str, _: &str) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("none".into()))
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("none".into()))
        }
    }

    #[test]
    fn kept_in_the_store_and_stable() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = AppDirs::under(tmp.path());
        let store = MemoryStore::default();
        let a = load(&store, &dirs);
        let b = load(&store, &dirs);
        assert!(a.kept && b.kept);
        assert_eq!(a.id, b.id);
        assert_eq!(a.id.expose().len(), 32);
        assert_eq!(
            store.get(KEYCHAIN_ITEM).unwrap().as_deref(),
            Some(a.id.expose())
        );
        assert!(!legacy_file(&dirs).exists());
        assert!(!format!("{a:?}").contains(a.id.expose()), "{a:?}");
    }

    #[test]
    fn the_old_file_moves_into_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = AppDirs::under(tmp.path());
        std::fs::create_dir_all(&dirs.config).unwrap();
        std::fs::write(
            legacy_file(&dirs),
            r#"{"id":"0123456789abcdef0123456789abcdef"}"#,
        )
        .unwrap();
        let store = MemoryStore::default();
        let d = load(&store, &dirs);
        assert_eq!(d.id.expose(), "0123456789abcdef0123456789abcdef");
        assert!(d.kept);
        assert!(!legacy_file(&dirs).exists());
        assert_eq!(
            store.get(KEYCHAIN_ITEM).unwrap().as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn without_a_keychain_a_fresh_id_each_run_and_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = AppDirs::under(tmp.path());
        let a = load(&NoKeychain, &dirs);
        let b = load(&NoKeychain, &dirs);
        assert!(!a.kept && !b.kept);
        assert_ne!(a.id, b.id);
        assert!(!dirs.config.exists() || std::fs::read_dir(&dirs.config).unwrap().count() == 0);
    }
}
