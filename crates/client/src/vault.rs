//! The keychain vault: per server and account, the refresh token ("remember me"), the
//! offline verifier and the cached profile — and nowhere else.
//!
//! The store is the OS keychain through the keyring crate (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows; the workspace enables exactly those
//! stores, because without a store feature keyring silently keeps secrets in memory).
//! If there is no keychain, nothing is remembered and the app says so: there is no
//! plain-file fallback.
//!
//! One keychain item per (server, account) holds the whole [`Record`] as JSON, so that
//! the sign-in screen reads it in one round trip; one more item per server, the [`Index`], lists the remembered
//! accounts and the identifiers they answer to. Every item stays within Windows
//! Credential Manager's 2,560 bytes on every OS ([`fit`]). On Linux the store keeps one
//! D-Bus connection to the Secret Service ([`secret_service`]) instead of keyring's one
//! per call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use latchkey_proto::identifier::Identifier;
use latchkey_proto::{OfflinePolicy, Secret, User};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::ClientError;
use crate::net::ServerUrl;

mod fit;
#[cfg(target_os = "linux")]
mod secret_service;
pub use fit::{item_bytes, MAX_ITEM_BYTES};

/// Keychain service name of the app's items.
pub const SERVICE: &str = "latchkey";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No keychain to talk to (no Secret Service on the bus, access refused).
    #[error("keychain unavailable: {0}")]
    Unavailable(String),
    #[error("keychain failure: {0}")]
    Failed(String),
}

impl From<StoreError> for ClientError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ClientError::KeychainUnavailable(m),
            StoreError::Failed(m) => ClientError::Keychain(m),
        }
    }
}

/// Where secrets are kept: named strings.
pub trait SecretStore: Send + Sync {
    fn get(&self, name: &str) -> Result<Option<String>, StoreError>;
    fn set(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Deleting what is not there is not an error.
    fn delete(&self, name: &str) -> Result<(), StoreError>;
}

/// The OS keychain. Clones share the store's connection, where it has one.
#[derive(Clone, Debug)]
pub struct KeyringStore {
    service: String,
    #[cfg(target_os = "linux")]
    connection: secret_service::Connection,
}

impl KeyringStore {
    /// Items under `service` ([`SERVICE`] for the app; tests use their own).
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            #[cfg(target_os = "linux")]
            connection: Default::default(),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    #[cfg(not(target_os = "linux"))]
    fn entry(&self, name: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, name).map_err(store_error)
    }

    /// How many D-Bus connections to the Secret Service this store (and its clones) has
    /// opened: one, unless the keychain went away in between.
    #[cfg(target_os = "linux")]
    pub fn connections_opened(&self) -> u64 {
        self.connection.opened()
    }

    /// Whether a keychain answers at all (reads an item that does not exist).
    pub fn probe(&self) -> Result<(), StoreError> {
        self.get("latchkey-probe").map(|_| ())
    }
}

#[cfg(target_os = "linux")]
impl SecretStore for KeyringStore {
    fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.connection.get(&self.service, name)
    }

    fn set(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.connection.set(&self.service, name, value)
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.connection.delete(&self.service, name)
    }
}

#[cfg(not(target_os = "linux"))]
impl SecretStore for KeyringStore {
    fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.entry(name)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    fn set(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.entry(name)?.set_password(value).map_err(store_error)
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn store_error(e: keyring::Error) -> StoreError {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Failed(other.to_string()),
    }
}

/// A store in memory, for tests of the flows that are not about the keychain. The app
/// itself never uses it: without a keychain it remembers nothing.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore(Arc<Mutex<HashMap<String, String>>>);

impl MemoryStore {
    pub fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        let m = self
            .0
            .lock()
            .map_err(|_| StoreError::Failed("poisoned".into()))?;
        Ok(m.get(name).cloned())
    }

    fn set(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let mut m = self
            .0
            .lock()
            .map_err(|_| StoreError::Failed("poisoned".into()))?;
        m.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        let mut m = self
            .0
            .lock()
            .map_err(|_| StoreError::Failed("poisoned".into()))?;
        m.remove(name);
        Ok(())
    }
}

/// Everything remembered about one account on one server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Present while "remember me" is on: signs in at launch.
    pub refresh_token: Option<Secret>,
    /// argon2id PHC string of the password, for offline sign-in.
    pub verifier: Option<Secret>,
    /// The profile as of the last online sign-in, shown while offline.
    pub user: User,
    /// Unix seconds of the last online sign-in (or refresh).
    pub last_online_at: u64,
    /// The latest time this device used the record (online or offline), never moved
    /// back: a clock set earlier than this is read as this (see `offline`). Records of
    /// older versions have none and start from `last_online_at`.
    #[serde(default)]
    pub last_seen_at: u64,
    /// Wrong offline passwords since then.
    pub offline_failures: u32,
    /// The server's offline rules as of the last online sign-in.
    pub offline_policy: OfflinePolicy,
    /// The person said "not now" to setting up two-factor authentication.
    #[serde(default)]
    pub totp_offer_declined: bool,
}

/// The remembered accounts of one server.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Index {
    /// Most recent first.
    pub accounts: Vec<IndexEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexEntry {
    pub key: String,
    /// The other identifiers that name this account (e-mail, username, phone),
    /// normalised; those of older versions may repeat the key.
    pub aliases: Vec<String>,
}

impl Index {
    /// The account an identifier names, if remembered: `138 0013 8000` finds the
    /// account whose phone is `+8613800138000`, `Zhang@Corp.CN` the one keyed
    /// `zhang@corp.cn`. Keys and aliases are compared in canonical form too, so entries
    /// written by older versions (only lowercased) are still found.
    pub fn find(&self, identifier: &str, region: &str) -> Option<&IndexEntry> {
        let id = account_key(identifier, region);
        self.accounts.iter().find(|e| {
            std::iter::once(&e.key)
                .chain(&e.aliases)
                .any(|name| *name == id || account_key(name, region) == id)
        })
    }
}

/// The region of phone numbers typed without `+country` when the cached `/v1/meta`
/// does not announce the server's `default_region`; the server's default too.
pub const DEFAULT_REGION: &str = "CN";

/// An identifier as the vault keys it: the server's canonical form
/// ([`latchkey_proto::identifier`]: e-mail lowercased, phone in E.164 with `region` for
/// national numbers, username lowercased, all NFKC). What the server would refuse
/// (`12345`, say) is kept trimmed, NFKC and lowercased, so it still names one entry.
pub fn account_key(identifier: &str, region: &str) -> String {
    match Identifier::parse(identifier, region) {
        Ok(id) => id.as_str().to_owned(),
        Err(_) => identifier.trim().nfkc().collect::<String>().to_lowercase(),
    }
}

/// Records and index over a [`SecretStore`].
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn SecretStore>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault")
    }
}

impl Vault {
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self { store }
    }

    /// The store itself, for the one item that is not per server (the device id).
    pub(crate) fn store(&self) -> &dyn SecretStore {
        self.store.as_ref()
    }

    fn index_name(server: &ServerUrl) -> String {
        format!("{} index", server.key())
    }

    fn record_name(server: &ServerUrl, key: &str) -> String {
        format!("{} account {key}", server.key())
    }

    pub fn load_index(&self, server: &ServerUrl) -> Result<Index, StoreError> {
        match self.store.get(&Self::index_name(server))? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Failed(format!("unreadable index: {e}"))),
            None => Ok(Index::default()),
        }
    }

    /// Writes the index; the least recently used accounts that do not fit in one item
    /// are forgotten, their records too (see [`fit`]).
    fn save_index(&self, server: &ServerUrl, index: &Index) -> Result<(), StoreError> {
        if index.accounts.is_empty() {
            return self.store.delete(&Self::index_name(server));
        }
        let (json, dropped) = fit::index_json(index)?;
        self.store.set(&Self::index_name(server), &json)?;
        for key in dropped {
            tracing::info!("a least recently used account is forgotten: the index is full");
            self.store.delete(&Self::record_name(server, &key))?;
        }
        Ok(())
    }

    pub fn load(&self, server: &ServerUrl, key: &str) -> Result<Option<Record>, StoreError> {
        match self.store.get(&Self::record_name(server, key))? {
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| StoreError::Failed(format!("unreadable record: {e}"))),
            None => Ok(None),
        }
    }

    /// Writes only the record (an offline failure count, a rotated token).
    pub fn update(&self, server: &ServerUrl, key: &str, record: &Record) -> Result<(), StoreError> {
        let json = fit::record_json(record)?;
        self.store.set(&Self::record_name(server, key), &json)
    }

    /// Writes the record and puts the account first in the index, with the profile's
    /// e-mail, username and phone as the identifiers it answers to (canonical: the
    /// server sends them so).
    pub fn save(&self, server: &ServerUrl, key: &str, record: &Record) -> Result<(), StoreError> {
        self.update(server, key, record)?;
        let mut index = self.load_index(server)?;
        index.accounts.retain(|e| e.key != key);
        let mut aliases: Vec<String> = [
            record.user.email.as_deref(),
            record.user.username.as_deref(),
            record.user.phone.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(|name| account_key(name, DEFAULT_REGION))
        .collect();
        aliases.dedup();
        // The key answers by itself: the index holds only the other names, so that
        // more accounts fit in its one item.
        aliases.retain(|alias| alias != key);
        index.accounts.insert(
            0,
            IndexEntry {
                key: key.to_owned(),
                aliases,
            },
        );
        self.save_index(server, &index)
    }

    /// Removes one account.
    pub fn remove(&self, server: &ServerUrl, key: &str) -> Result<(), StoreError> {
        self.store.delete(&Self::record_name(server, key))?;
        let mut index = self.load_index(server)?;
        index.accounts.retain(|e| e.key != key);
        self.save_index(server, &index)
    }

    /// "Forget this device": every account of the server, and the index.
    pub fn forget(&self, server: &ServerUrl) -> Result<(), StoreError> {
        let index = self.load_index(server)?;
        for e in &index.accounts {
            self.store.delete(&Self::record_name(server, &e.key))?;
        }
        self.store.delete(&Self::index_name(server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(refresh: &str) -> Record {
        Record {
            refresh_token: Some(refresh.into()),
            verifier: None,
            user: User {
                id: "u1".into(),
                email: Some("Zhang@Corp.cn".into()),
                phone: None,
                username: Some("zhangw".into()),
                name: None,
                organisation: None,
                locale: None,
                mfa_enabled: false,
            },
            last_online_at: 1,
            last_seen_at: 1,
            offline_failures: 0,
            offline_policy: OfflinePolicy::default(),
            totp_offer_declined: false,
        }
    }

    #[test]
    fn save_find_remove_forget() {
        let store = MemoryStore::default();
        let vault = Vault::new(Arc::new(store.clone()));
        let server = ServerUrl::parse("https://corp.cn").unwrap();
        let other = ServerUrl::parse("https://other.cn").unwrap();
        vault
            .save(&server, "zhang@corp.cn", &record("lkr_a"))
            .unwrap();
        vault.save(&server, "li", &record("lkr_b")).unwrap();
        vault.save(&other, "li", &record("lkr_c")).unwrap();
        let index = vault.load_index(&server).unwrap();
        assert_eq!(index.accounts[0].key, "li");
        assert_eq!(index.find(" ZHANGW ", "CN").unwrap().key, "li");
        assert_eq!(
            vault
                .load(&server, "zhang@corp.cn")
                .unwrap()
                .unwrap()
                .refresh_token
                .unwrap()
                .expose(),
            "lkr_a"
        );
        vault.remove(&server, "li").unwrap();
        assert_eq!(vault.load_index(&server).unwrap().accounts.len(), 1);
        vault.forget(&server).unwrap();
        assert!(vault.load_index(&server).unwrap().accounts.is_empty());
        assert!(vault.load(&server, "zhang@corp.cn").unwrap().is_none());
        // The other server's account is untouched.
        assert!(vault.load(&other, "li").unwrap().is_some());
        assert_eq!(store.names().len(), 2);
    }

    /// Issue 13: the offline look-up normalises a phone number as the server does.
    #[test]
    fn a_phone_typed_nationally_finds_the_account_saved_in_e164() {
        let vault = Vault::new(Arc::new(MemoryStore::default()));
        let server = ServerUrl::parse("https://corp.cn").unwrap();
        let mut r = record("lkr_a");
        r.user.phone = Some("+8613800138000".into());
        vault.save(&server, "+8613800138000", &r).unwrap();
        let index = vault.load_index(&server).unwrap();
        for typed in [
            "138 0013 8000",
            "13800138000",
            "+86 138-0013-8000",
            "１３８００１３８０００",
        ] {
            assert_eq!(
                index.find(typed, "CN").map(|e| e.key.as_str()),
                Some("+8613800138000"),
                "{typed}"
            );
        }
        assert!(index.find("138 0013 8001", "CN").is_none());
        assert_eq!(account_key(" Zhang@Corp.CN ", "CN"), "zhang@corp.cn");
        assert_eq!(account_key("12345", "CN"), "12345");
    }

    /// An index written by an older version keyed what was typed, only lowercased.
    #[test]
    fn entries_of_older_versions_are_still_found() {
        let index = Index {
            accounts: vec![IndexEntry {
                key: "138 0013 8000".into(),
                aliases: vec!["Zhang@Corp.cn".into()],
            }],
        };
        assert_eq!(
            index.find("+8613800138000", "CN").unwrap().key,
            "138 0013 8000"
        );
        assert!(index.find("zhang@corp.cn", "CN").is_some());
    }

    /// Issue 17: the index does not grow past one Credential Manager item; the
    /// accounts it forgets leave no record behind.
    #[test]
    fn many_accounts_keep_every_item_within_the_limit() {
        let store = MemoryStore::default();
        let vault = Vault::new(Arc::new(store.clone()));
        let server = ServerUrl::parse("https://sso.corp.cn").unwrap();
        for i in 0..60 {
            let mut r = record("lkr_a");
            r.user.email = Some(format!("employee.number.{i:03}@branch-office.corp.cn"));
            r.user.username = Some(format!("employee{i:03}"));
            let key = account_key(r.user.email.as_deref().unwrap(), "CN");
            vault.save(&server, &key, &r).unwrap();
            for name in store.names() {
                let item = store.get(&name).unwrap().unwrap();
                assert!(
                    item_bytes(&item) <= MAX_ITEM_BYTES,
                    "{name}: {}",
                    item.len()
                );
            }
        }
        let index = vault.load_index(&server).unwrap();
        let kept = index.accounts.len();
        assert!((15..60).contains(&kept), "{kept}");
        assert_eq!(
            index.accounts[0].key,
            "employee.number.059@branch-office.corp.cn"
        );
        // The index and one record per account it lists: nothing else.
        assert_eq!(store.names().len(), kept + 1);
        assert!(vault
            .load(&server, "employee.number.000@branch-office.corp.cn")
            .unwrap()
            .is_none());
        assert!(index.find("employee059", "CN").is_some());
    }

    #[test]
    fn debug_hides_the_secrets() {
        let dbg = format!("{:?}", record("lkr_secret"));
        assert!(!dbg.contains("lkr_secret"), "{dbg}");
    }
}
