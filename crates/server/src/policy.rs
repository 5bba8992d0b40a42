//! Policies IT sets from the console (issue 18): a chosen set of configuration keys
//! ([`KEYS`]) that an admin may set at run time, stored in the database (`settings`,
//! row `policy`) so that every server process applies them without a restart.
//!
//! The configuration file and the environment win: a key they set keeps their value,
//! and the console shows that the stored one is not in force. Otherwise the console's
//! value replaces the default. Each process holds the effective configuration in
//! [`Live`] and builds it again when the stored policies change; it reads them with
//! the maintenance switches, at most a second old ([`crate::settings::Cache`]).

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, ConfigError, Source};

/// The keys the console may set: the two-factor requirement, the password policy,
/// lockout, offline sign-in, new-device verification, session lifetimes and
/// retention. Everything else (addresses, secrets, delivery, hashing cost) stays with
/// the file, where a mistake cannot lock IT out of the console.
pub const KEYS: &[&str] = &[
    "two_factor.required",
    "two_factor.grace_days",
    "password.min_length",
    "password.min_score",
    "password.min_classes",
    "password.history",
    "password.expiry_days",
    "password.expiry_warning_days",
    "lockout.threshold",
    "lockout.base_seconds",
    "lockout.max_seconds",
    "lockout.notify_user",
    "lockout.summary_to",
    "offline.days",
    "offline.max_attempts",
    "devices.verify_new",
    "sessions.refresh_ttl_seconds",
    "sessions.absolute_ttl_seconds",
    "retention.activity_days",
    "retention.audit_days",
];

/// The stored policies: dotted key → value, as the console set them.
pub type Stored = BTreeMap<String, Value>;

/// The effective configuration of this process, and what it was built from.
#[derive(Debug)]
pub struct Live {
    /// Defaults, file and environment: the configuration the process started with.
    base: Config,
    /// The keys the file or the environment set, with where from: they win.
    fixed: BTreeMap<String, Source>,
    /// The stored policies last applied (as stored), and the configuration they gave.
    current: RwLock<(String, Arc<Config>)>,
}

impl Live {
    pub fn new(base: Config, fixed: BTreeMap<String, Source>) -> Self {
        Self {
            current: RwLock::new((String::new(), Arc::new(base.clone()))),
            base,
            fixed,
        }
    }

    /// The configuration the process started with (defaults, file, environment):
    /// for what the console cannot change, such as the database's address.
    pub fn base(&self) -> &Config {
        &self.base
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// Applies the stored policies `raw` (the `policy` row, empty when none) if they
    /// changed since the last call. A row that no longer parses or applies (written by
    /// a newer version, say) leaves the configuration as it was, with a warning.
    pub fn apply(&self, raw: &str) {
        if self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            == raw
        {
            return;
        }
        let stored: Stored = if raw.is_empty() {
            Stored::new()
        } else {
            match serde_json::from_str(raw) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "the stored policies cannot be read; keeping the current ones");
                    return;
                }
            }
        };
        match self.build(&stored) {
            Ok(config) => {
                tracing::info!(keys = stored.len(), "policies set in the console applied");
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    (raw.to_owned(), Arc::new(config));
            }
            Err(e) => {
                tracing::warn!(error = %e, "the stored policies cannot be applied; keeping the current ones")
            }
        }
    }

    /// The configuration with `stored` applied where the file and environment are
    /// silent.
    pub fn build(&self, stored: &Stored) -> Result<Config, ConfigError> {
        let console: Vec<(&str, &Value)> = stored
            .iter()
            .filter(|(key, _)| KEYS.contains(&key.as_str()) && !self.fixed.contains_key(*key))
            .map(|(key, value)| (key.as_str(), value))
            .collect();
        crate::config::with_values(&self.base, &console)
    }

    /// Each console key: its value in force, the console's own (if set), and where
    /// the one in force comes from.
    pub fn describe(&self, stored: &Stored) -> Vec<Entry> {
        let config = self.config();
        let effective = serde_json::to_value(&*config).unwrap_or(Value::Null);
        KEYS.iter()
            .map(|key| {
                let value = key
                    .split('.')
                    .try_fold(&effective, |v, part| v.get(part))
                    .cloned()
                    .unwrap_or(Value::Null);
                let console = stored.get(*key).cloned();
                let source = match self.fixed.get(*key) {
                    Some(Source::File(_)) => EntrySource::File,
                    Some(Source::Env(_)) => EntrySource::Environment,
                    _ if console.is_some() => EntrySource::Console,
                    _ => EntrySource::Default,
                };
                Entry {
                    key: (*key).to_owned(),
                    value,
                    console,
                    source,
                }
            })
            .collect()
    }
}

/// One policy as the console shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Entry {
    /// The dotted key, as in the configuration file (`lockout.threshold`).
    pub key: String,
    /// The value in force.
    #[schema(value_type = Object)]
    pub value: Value,
    /// The value the console stored, if any (not in force when `source` is `file` or
    /// `environment`).
    #[schema(value_type = Option<Object>)]
    pub console: Option<Value>,
    pub source: EntrySource,
}

/// Where the value in force comes from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntrySource {
    Default,
    Console,
    /// The configuration file, which wins over the console.
    File,
    /// A `LATCHKEY_*` variable, which wins over the console.
    Environment,
}

/// Reads the stored policies (`{}` when none).
pub fn parse(raw: Option<&str>) -> Stored {
    raw.and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default()
}

/// The stored policies after `changes` (a `null` value removes a key), checked: only
/// [`KEYS`], and values that make a valid configuration. The error names the key.
pub fn merge(live: &Live, stored: &Stored, changes: &Stored) -> Result<Stored, String> {
    let mut next = stored.clone();
    for (key, value) in changes {
        if !KEYS.contains(&key.as_str()) {
            return Err(format!("{key} cannot be set from the console"));
        }
        if value.is_null() {
            next.remove(key);
        } else {
            next.insert(key.clone(), value.clone());
        }
    }
    let config = live.build(&next).map_err(|e| match e {
        ConfigError::Value { key, message, .. } => format!("{key}: {message}"),
        other => other.to_string(),
    })?;
    check(&config)?;
    Ok(next)
}

/// Values that parse but would leave the server unusable or unsafe.
fn check(config: &Config) -> Result<(), String> {
    let p = &config.password;
    let checks: [(bool, &str); 6] = [
        (p.min_length >= 8, "password.min_length: at least 8"),
        (
            p.min_length <= p.max_length,
            "password.min_length: at most password.max_length",
        ),
        (p.min_score <= 4, "password.min_score: 0 to 4"),
        (p.min_classes <= 4, "password.min_classes: 0 to 4"),
        (
            config.lockout.threshold >= 1,
            "lockout.threshold: at least 1",
        ),
        (
            config.sessions.refresh_ttl_seconds >= 60 && config.sessions.absolute_ttl_seconds >= 60,
            "sessions: lifetimes of at least 60 s",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, message)) => Err((*message).to_owned()),
        None => Ok(()),
    }
}
