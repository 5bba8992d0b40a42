//! The company directory (issue 19): people who sign in with their LDAP or Active
//! Directory account, without a second password store.
//!
//! Latchkey finds the person with its service account (`bind_dn`), checks the
//! password by binding as them, and keeps a Latchkey account linked to the entry by its
//! stable id (`entryUUID`, AD `objectGUID`), whose profile is copied from the entry at
//! every sign-in. Everything Latchkey adds stays in front or on top: its lockout is
//! reserved before the directory is asked anything (`http/auth.rs`), then the second
//! factor, new-device codes, sessions. Password changes are written to the directory
//! (the Password Modify extended operation, AD `unicodePwd`), never kept here.
//!
//! Each operation opens its own connection (TLS, or StartTLS on `ldap://`): sign-ins
//! are rare enough, and nothing is shared between server processes.

pub mod accounts;
pub mod config;
pub mod signin;
mod sync;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use latchkey_proto::{AdminRole, Secret};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};

pub use config::{DirectoryConfig, Kind, Typed};

pub use sync::{check, sync, Difference, SyncMode};
pub use wire::api_error;
use wire::{id_filter, is_loopback, tls_with_ca, unavailable, unicode_pwd};

/// LDAP result codes Latchkey tells apart.
const INVALID_CREDENTIALS: u32 = 49;
const CONSTRAINT_VIOLATION: u32 = 19;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Cannot be used right now: not reachable, TLS failed, timed out, or it refused
    /// the service account. Never answered as a wrong password.
    #[error("the directory cannot be used: {0}")]
    Unavailable(String),
    /// The directory's own password policy refused a new password; its words.
    #[error("the directory refused the new password: {0}")]
    PasswordRefused(String),
    /// The current password given to the directory is wrong.
    #[error("the directory says the current password is wrong")]
    WrongPassword,
}

/// A configuration the server cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("directory: {0}")]
pub struct DirectoryConfigError(pub String);

/// A person's entry, as the directory has it. Carries no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    /// The stable id (`entryUUID`, or `hex:` and the bytes of a binary `objectGUID`).
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<String>,
}

/// Whether the entry may sign in to Latchkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Matches `disabled_filter`.
    Disabled,
    /// Not a member of `allowed_group`.
    NotAllowed,
}

/// An entry with its standing and the console role its groups give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub entry: Entry,
    pub standing: Standing,
    /// `None` when neither `admin_group` nor `helpdesk_group` is configured (roles are
    /// then managed with `latchkey-server admin grant`); `Some(None)`: no role.
    pub role: Option<Option<AdminRole>>,
}

/// The configured directory.
pub struct Directory {
    cfg: DirectoryConfig,
    bind_password: Secret,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("config", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// The directory of the configuration, or `None` without `url`. Refuses a URL that
    /// is not LDAP, plain LDAP to another machine (unless `allow_insecure`), a missing
    /// service account or password, and an unreadable CA or password file.
    pub fn from_config(cfg: &DirectoryConfig) -> Result<Option<Self>, DirectoryConfigError> {
        if !cfg.enabled() {
            return Ok(None);
        }
        let err = |m: String| DirectoryConfigError(m);
        let url = url::Url::parse(cfg.url.trim())
            .map_err(|e| err(format!("directory.url is not a URL: {e}")))?;
        let host = url
            .host()
            .ok_or_else(|| err("directory.url has no host".into()))?;
        match url.scheme() {
            "ldaps" => {}
            "ldap" if cfg.starttls => {}
            "ldap" => {
                if !is_loopback(&host) && !cfg.allow_insecure {
                    return Err(err(
                        "plain LDAP (directory.starttls = false) to another machine sends \
                         passwords in clear text; use ldaps:// or StartTLS, or set \
                         directory.allow_insecure = true"
                            .into(),
                    ));
                }
            }
            other => {
                return Err(err(format!(
                    "directory.url must start with ldaps:// or ldap://, not {other}://"
                )))
            }
        }
        if cfg.bind_dn.trim().is_empty() || cfg.base_dn.trim().is_empty() {
            return Err(err(
                "directory.bind_dn and directory.base_dn must be set".into()
            ));
        }
        let password = match (&cfg.bind_password, &cfg.bind_password_file) {
            (Some(p), _) if !p.is_empty() => p.clone(),
            (_, Some(path)) if !path.is_empty() => std::fs::read_to_string(path)
                .map_err(|e| {
                    err(format!(
                        "cannot read directory.bind_password_file {path}: {e}"
                    ))
                })?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            _ => {
                return Err(err("the service account's password is missing: set \
                     LATCHKEY_DIRECTORY_BIND_PASSWORD or directory.bind_password_file"
                    .into()))
            }
        };
        if password.is_empty() {
            return Err(err("the service account's password is empty".into()));
        }
        let tls = match cfg.ca_file.as_deref().filter(|p| !p.is_empty()) {
            Some(path) => Some(tls_with_ca(path).map_err(err)?),
            None => None,
        };
        Ok(Some(Self {
            cfg: cfg.clone(),
            bind_password: Secret::new(password),
            tls,
        }))
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.cfg
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_seconds.max(1))
    }

    /// A connection (TLS or StartTLS as configured), not yet bound.
    async fn open(&self) -> Result<Ldap, DirectoryError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.cfg.starttls && self.cfg.url.trim().starts_with("ldap://"));
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, self.cfg.url.trim())
            .await
            .map_err(unavailable)?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection ended");
            }
        });
        Ok(ldap)
    }

    /// A connection bound as the service account.
    async fn service(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.open().await?;
        let result = ldap
            .with_timeout(self.timeout())
            .simple_bind(&self.cfg.bind_dn, self.bind_password.expose())
            .await
            .map_err(unavailable)?;
        if result.rc != 0 {
            // A wrong service password is IT's to fix; people are told the directory
            // cannot be used, never that their password is wrong.
            return Err(DirectoryError::Unavailable(format!(
                "the service account {} cannot bind (result {}: {})",
                self.cfg.bind_dn, result.rc, result.text
            )));
        }
        Ok(ldap)
    }

    /// The entry that `value` (what the person typed, canonical) names, if exactly
    /// one does.
    #[tracing::instrument(skip_all)]
    pub async fn find(&self, typed: Typed, value: &str) -> Result<Option<Found>, DirectoryError> {
        let filter = self.cfg.filter(typed, value);
        let mut ldap = self.service().await?;
        let found = match self.search_one(&mut ldap, &filter).await? {
            Some(entry) => Some(self.standing(&mut ldap, entry).await?),
            None => None,
        };
        let _ = ldap.unbind().await;
        Ok(found)
    }

    /// The entry with the stable id `id`, wherever it moved.
    #[tracing::instrument(skip_all)]
    pub async fn find_by_id(&self, id: &str) -> Result<Option<Found>, DirectoryError> {
        let filter = format!(
            "(&{}{})",
            self.cfg.user_filter(),
            id_filter(&self.cfg.id_attribute(), id)
        );
        let mut ldap = self.service().await?;
        let found = match self.search_one(&mut ldap, &filter).await? {
            Some(entry) => Some(self.standing(&mut ldap, entry).await?),
            None => None,
        };
        let _ = ldap.unbind().await;
        Ok(found)
    }

    /// Every person under `base_dn` (for `directory check` and `sync`).
    pub async fn list(&self) -> Result<Vec<Found>, DirectoryError> {
        let mut ldap = self.service().await?;
        let entries = self.search(&mut ldap, &self.cfg.user_filter()).await?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            out.push(self.standing(&mut ldap, entry).await?);
        }
        let _ = ldap.unbind().await;
        Ok(out)
    }

    /// Whether `password` is the entry's: a bind as `dn` on a connection of its own.
    /// An empty password is never sent (LDAP would take it as an anonymous bind).
    #[tracing::instrument(skip_all)]
    pub async fn verify(&self, dn: &str, password: &Secret) -> Result<bool, DirectoryError> {
        if password.expose().is_empty() || dn.is_empty() {
            return Ok(false);
        }
        let mut ldap = self.open().await?;
        let result = ldap
            .with_timeout(self.timeout())
            .simple_bind(dn, password.expose())
            .await
            .map_err(unavailable)?;
        let _ = ldap.unbind().await;
        match result.rc {
            0 => Ok(true),
            INVALID_CREDENTIALS => Ok(false),
            rc => Err(DirectoryError::Unavailable(format!(
                "binding as a person failed (result {rc}: {})",
                result.text
            ))),
        }
    }

    /// Writes a new password for `dn`. With `current` (the account page) it is changed
    /// as the person, so the directory applies its rules for a change by its owner;
    /// without (the password reset, the forced change) the service account sets it.
    #[tracing::instrument(skip_all)]
    pub async fn set_password(
        &self,
        dn: &str,
        current: Option<&Secret>,
        new: &Secret,
    ) -> Result<(), DirectoryError> {
        let mut ldap = match current {
            Some(current) => {
                let mut ldap = self.open().await?;
                let bound = ldap
                    .with_timeout(self.timeout())
                    .simple_bind(dn, current.expose())
                    .await
                    .map_err(unavailable)?;
                match bound.rc {
                    0 if !current.expose().is_empty() => ldap,
                    0 | INVALID_CREDENTIALS => return Err(DirectoryError::WrongPassword),
                    rc => {
                        return Err(DirectoryError::Unavailable(format!(
                            "binding as a person failed (result {rc}: {})",
                            bound.text
                        )))
                    }
                }
            }
            None => self.service().await?,
        };
        let result = if self.cfg.is_active_directory() {
            let new_value = unicode_pwd(new.expose());
            let mods = match current {
                Some(current) => vec![
                    Mod::Delete(
                        b"unicodePwd".to_vec(),
                        HashSet::from([unicode_pwd(current.expose())]),
                    ),
                    Mod::Add(b"unicodePwd".to_vec(), HashSet::from([new_value])),
                ],
                None => vec![Mod::Replace(
                    b"unicodePwd".to_vec(),
                    HashSet::from([new_value]),
                )],
            };
            ldap.with_timeout(self.timeout())
                .modify(dn, mods)
                .await
                .map_err(unavailable)?
        } else {
            let exop = ldap3::exop::PasswordModify {
                user_id: Some(dn),
                old_pass: current.map(|c| c.expose()),
                new_pass: Some(new.expose()),
            };
            ldap.with_timeout(self.timeout())
                .extended(exop)
                .await
                .map_err(unavailable)?
                .1
        };
        let _ = ldap.unbind().await;
        match result.rc {
            0 => Ok(()),
            CONSTRAINT_VIOLATION => Err(DirectoryError::PasswordRefused(result.text)),
            rc => Err(DirectoryError::Unavailable(format!(
                "the directory did not set the password (result {rc}: {})",
                result.text
            ))),
        }
    }

    async fn search(&self, ldap: &mut Ldap, filter: &str) -> Result<Vec<Entry>, DirectoryError> {
        let attributes = self.cfg.attributes();
        let (entries, _) = ldap
            .with_timeout(self.timeout())
            .search(self.cfg.base_dn.trim(), Scope::Subtree, filter, attributes)
            .await
            .map_err(unavailable)?
            .success()
            .map_err(unavailable)?;
        Ok(entries
            .into_iter()
            .map(SearchEntry::construct)
            .filter_map(|e| self.entry(e))
            .collect())
    }

    /// The one entry `filter` finds; none when it finds several (an identifier must
    /// name one person).
    async fn search_one(
        &self,
        ldap: &mut Ldap,
        filter: &str,
    ) -> Result<Option<Entry>, DirectoryError> {
        let mut entries = self.search(ldap, filter).await?;
        if entries.len() > 1 {
            tracing::warn!(
                count = entries.len(),
                "the directory has several entries for one identifier; none is used"
            );
            return Ok(None);
        }
        Ok(entries.pop())
    }

    fn entry(&self, e: SearchEntry) -> Option<Entry> {
        let attrs: HashMap<String, Vec<String>> = e
            .attrs
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let bin: HashMap<String, Vec<Vec<u8>>> = e
            .bin_attrs
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let get = |name: String| {
            attrs
                .get(&name.to_ascii_lowercase())
                .and_then(|v| v.first())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let id_name = self.cfg.id_attribute().to_ascii_lowercase();
        let id = match attrs.get(&id_name).and_then(|v| v.first()) {
            Some(text) => text.clone(),
            None => format!("hex:{}", hex::encode(bin.get(&id_name)?.first()?)),
        };
        Some(Entry {
            dn: e.dn,
            id,
            username: get(self.cfg.username_attribute()),
            name: get(self.cfg.name_attribute()),
            email: get(self.cfg.email_attribute()),
            phone: get(self.cfg.phone_attribute()),
            organisation: get(self.cfg.organisation_attribute()),
        })
    }

    /// Whether the entry at `dn` matches `filter` (a base search).
    async fn matches(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        filter: &str,
    ) -> Result<bool, DirectoryError> {
        let (entries, _) = ldap
            .with_timeout(self.timeout())
            .search(dn, Scope::Base, filter, vec!["1.1"])
            .await
            .map_err(unavailable)?
            .non_error()
            .map_err(unavailable)?;
        Ok(!entries.is_empty())
    }

    async fn standing(&self, ldap: &mut Ldap, entry: Entry) -> Result<Found, DirectoryError> {
        let standing = if self
            .matches(ldap, &entry.dn, &self.cfg.disabled_filter())
            .await?
        {
            Standing::Disabled
        } else {
            match self.cfg.allowed_group() {
                Some(group) if !self.member(ldap, &group, &entry.dn).await? => Standing::NotAllowed,
                _ => Standing::Active,
            }
        };
        let (admin, helpdesk) = (self.cfg.admin_group(), self.cfg.helpdesk_group());
        let role = if admin.is_none() && helpdesk.is_none() {
            None
        } else {
            let mut role = None;
            if let Some(group) = admin {
                if self.member(ldap, &group, &entry.dn).await? {
                    role = Some(AdminRole::Admin);
                }
            }
            if let (None, Some(group)) = (role, helpdesk) {
                if self.member(ldap, &group, &entry.dn).await? {
                    role = Some(AdminRole::Helpdesk);
                }
            }
            Some(role)
        };
        Ok(Found {
            entry,
            standing,
            role,
        })
    }

    async fn member(&self, ldap: &mut Ldap, group: &str, dn: &str) -> Result<bool, DirectoryError> {
        self.matches(ldap, group, &self.cfg.member_filter(dn)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> DirectoryConfig {
        DirectoryConfig {
            url: url.into(),
            bind_dn: "cn=latchkey,dc=corp".into(),
            base_dn: "dc=corp".into(),
            bind_password: Some("service".into()),
            ..DirectoryConfig::default()
        }
    }

    #[test]
    fn plain_ldap_goes_only_to_loopback_unless_allowed() {
        let mut c = cfg("ldap://dc1.corp.example");
        assert!(Directory::from_config(&c).is_ok(), "StartTLS is fine");
        c.starttls = false;
        let e = Directory::from_config(&c).unwrap_err().to_string();
        assert!(e.contains("clear text"), "{e}");
        c.allow_insecure = true;
        assert!(Directory::from_config(&c).is_ok());
        let mut c = cfg("ldap://127.0.0.1:3890");
        c.starttls = false;
        assert!(Directory::from_config(&c).is_ok());
        assert!(Directory::from_config(&cfg("http://dc1")).is_err());
        assert!(Directory::from_config(&cfg("ldaps://")).is_err());
    }

    #[test]
    fn the_service_password_is_required_and_never_printed() {
        let mut c = cfg("ldaps://dc1.corp.example");
        c.bind_password = None;
        let e = Directory::from_config(&c).unwrap_err().to_string();
        assert!(e.contains("LATCHKEY_DIRECTORY_BIND_PASSWORD"), "{e}");
        let c = cfg("ldaps://dc1.corp.example");
        let d = Directory::from_config(&c).unwrap().unwrap();
        assert!(!format!("{d:?}").contains("service\""));
    }

    #[test]
    fn stable_ids_and_ad_passwords_are_encoded() {
        assert_eq!(id_filter("entryUUID", "a-b"), "(entryUUID=a-b)");
        assert_eq!(id_filter("objectGUID", "hex:00ff"), "(objectGUID=\\00\\ff)");
        assert_eq!(unicode_pwd("ab"), vec![b'"', 0, b'a', 0, b'b', 0, b'"', 0]);
    }
}
