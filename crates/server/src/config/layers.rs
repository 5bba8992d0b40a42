//! How the layers of the configuration are merged (built-in defaults, then the TOML
//! file, then the environment) with `figment`, and where each effective value came
//! from, for `latchkey-server config check`.
//!
//! Every key has an environment form: `LATCHKEY_` and the dotted key with `__` for
//! the dots (`LATCHKEY_LOCKOUT__THRESHOLD` is `lockout.threshold`); a top-level key
//! also takes its bare form (`LATCHKEY_DEFAULT_REGION`), and the names of
//! [`LEGACY_VARS`] (the ten historic ones, and the contract's `LATCHKEY_METRICS_BIND` and `LATCHKEY_DIRECTORY_BIND_PASSWORD`)
//! keep their meaning. Other `LATCHKEY_*` variables (the tests',
//! the benchmarks', the desktop app's, `LATCHKEY_LOG`, `LATCHKEY_CONFIG`) are not
//! configuration and are left alone; a variable in the nested form whose key does not
//! exist is refused, naming the nearest key, so a typo never goes unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::Serialized;
use figment::value::{Dict, Value};
use figment::Figment;

use super::{redact_url, Config, ConfigError};

const PREFIX: &str = "LATCHKEY_";

/// The historic variables, and names the contract (DESIGN.md) gives a nested key, with
/// the key each one sets. Public contract: keep the names.
pub const LEGACY_VARS: &[(&str, &str)] = &[
    ("LATCHKEY_DATABASE_URL", "database_url"),
    ("LATCHKEY_BIND", "bind"),
    ("LATCHKEY_SMTP_URL", "delivery.smtp_url"),
    ("LATCHKEY_MAIL_FROM", "delivery.mail_from"),
    ("LATCHKEY_SMS_WEBHOOK_URL", "delivery.sms_webhook_url"),
    ("LATCHKEY_OUTBOX_DIR", "delivery.outbox_dir"),
    ("LATCHKEY_SECRET_KEY", "delivery.secret_key"),
    ("LATCHKEY_SERVER_NAME", "server_name"),
    ("LATCHKEY_WORKER_THREADS", "worker_threads"),
    ("LATCHKEY_VERIFY_NEW_DEVICES", "devices.verify_new"),
    ("LATCHKEY_METRICS_BIND", "metrics.bind"),
    // The directory's service account (issue 19): a name of the contract too.
    (
        "LATCHKEY_DIRECTORY_BIND_PASSWORD",
        "directory.bind_password",
    ),
];

/// Where an effective value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
        }
    }
}

/// The effective configuration and the source of each of its keys.
#[derive(Debug)]
pub struct Layered {
    pub config: Config,
    /// Dotted key → where its value came from.
    pub sources: BTreeMap<String, Source>,
}

impl Layered {
    /// Every key as `(dotted key, value for display, source)`, secrets redacted.
    pub fn entries(&self) -> Result<Vec<(String, String, &Source)>, ConfigError> {
        let mut leaves = BTreeMap::new();
        flatten(
            &to_dict(&self.config)?,
            "",
            &mut leaves,
            &mut BTreeSet::new(),
        );
        Ok(leaves
            .into_iter()
            .map(|(key, value)| {
                let shown = display(&key, &value);
                let source = self.sources.get(&key).unwrap_or(&Source::Default);
                (key, shown, source)
            })
            .collect())
    }
}

/// Whether a key holds a secret by its name (`secret_key`, and any later `*password*`,
/// `*secret*` or `*token*` key, such as a directory's bind password): printed redacted
/// without a list to keep in step.
fn is_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    ["secret", "password", "token"]
        .iter()
        .any(|w| last.contains(w))
}

/// A value as `config check` prints it: never a secret.
fn display(key: &str, value: &Value) -> String {
    match value {
        Value::Empty(..) => "(not set)".to_owned(),
        Value::String(_, _) if is_secret(key) => "\"<redacted>\"".to_owned(),
        Value::String(_, s) if key.ends_with("url") => format!("{:?}", redact_url(s)),
        Value::String(_, s) => format!("{s:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(..) => (value.to_u128().map(|u| u.to_string()))
            .or_else(|| value.to_i128().map(|i| i.to_string()))
            .or_else(|| value.to_f64().map(|f| f.to_string()))
            .unwrap_or_default(),
        Value::Char(_, c) => format!("{c:?}"),
        Value::Dict(..) | Value::Array(..) => "(table)".to_owned(),
    }
}

fn to_dict(config: &Config) -> Result<Dict, ConfigError> {
    Value::serialize(config)
        .ok()
        .and_then(|v| v.into_dict())
        .ok_or_else(|| ConfigError::Parse {
            path: PathBuf::from("(defaults)"),
            message: "the configuration cannot be represented".to_owned(),
        })
}

/// Leaves of `dict` as dotted keys; the dotted names of its tables go to `tables`.
fn flatten(
    dict: &Dict,
    prefix: &str,
    leaves: &mut BTreeMap<String, Value>,
    tables: &mut BTreeSet<String>,
) {
    for (name, value) in dict {
        let key = join(prefix, name);
        match value {
            Value::Dict(_, inner) => {
                flatten(inner, &key, leaves, tables);
                tables.insert(key);
            }
            _ => {
                leaves.insert(key, value.clone());
            }
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The keys that exist, from the defaults: leaves with their default value, and tables.
struct Schema {
    leaves: BTreeMap<String, Value>,
    tables: BTreeSet<String>,
}

impl Schema {
    fn new() -> Result<Self, ConfigError> {
        let (mut leaves, mut tables) = (BTreeMap::new(), BTreeSet::new());
        flatten(&to_dict(&Config::default())?, "", &mut leaves, &mut tables);
        Ok(Self { leaves, tables })
    }

    fn unknown(&self, key: &str, origin: Source) -> ConfigError {
        let nearest = self
            .leaves
            .keys()
            .chain(&self.tables)
            .map(|k| (distance(key, k), k))
            .min();
        let suggestion = nearest
            .filter(|(d, k)| *d <= (k.len() / 3).max(2))
            .map(|(_, k)| k.clone());
        ConfigError::Unknown {
            key: key.to_owned(),
            origin,
            suggestion,
        }
    }

    /// Refuses a key of the file that does not exist, or a table given as a value.
    fn check_file(&self, dict: &Dict, prefix: &str, origin: &Source) -> Result<(), ConfigError> {
        for (name, value) in dict {
            let key = join(prefix, name);
            match value {
                Value::Dict(_, inner) if self.tables.contains(&key) => {
                    self.check_file(inner, &key, origin)?
                }
                _ if self.leaves.contains_key(&key) => {}
                _ if self.tables.contains(&key) => {
                    return Err(ConfigError::Value {
                        key,
                        origin: origin.clone(),
                        message: "expected a table of settings".to_owned(),
                    })
                }
                _ => return Err(self.unknown(&key, origin.clone())),
            }
        }
        Ok(())
    }

    /// The environment-variable names that can be configuration, for a getter that
    /// cannot list the environment.
    fn env_names(&self) -> Vec<String> {
        let mut names: Vec<String> = LEGACY_VARS.iter().map(|(v, _)| (*v).to_owned()).collect();
        for key in self.leaves.keys() {
            names.push(format!("{PREFIX}{}", key.replace('.', "__").to_uppercase()));
        }
        names
    }

    /// The key a variable sets, or `None` if it is not configuration.
    fn key_of(&self, var: &str) -> Option<String> {
        if let Some((_, key)) = LEGACY_VARS.iter().find(|(v, _)| *v == var) {
            return Some((*key).to_owned());
        }
        let rest = var.strip_prefix(PREFIX)?;
        if rest.contains("__") {
            return Some(
                rest.split("__")
                    .collect::<Vec<_>>()
                    .join(".")
                    .to_lowercase(),
            );
        }
        let top = rest.to_lowercase();
        self.leaves.contains_key(&top).then_some(top)
    }

    /// An environment string as the type the key's default has.
    fn parse(&self, key: &str, raw: &str) -> Result<Value, String> {
        let raw = raw.trim();
        match self.leaves.get(key) {
            Some(Value::Bool(..)) => match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(Value::from(true)),
                "0" | "false" | "no" | "off" => Ok(Value::from(false)),
                _ => Err("expected true or false".to_owned()),
            },
            Some(Value::Num(..)) => raw
                .parse::<u64>()
                .map(Value::from)
                .or_else(|_| raw.parse::<i64>().map(Value::from))
                .or_else(|_| raw.parse::<f64>().map(Value::from))
                .map_err(|_| "expected a number".to_owned()),
            _ => Ok(Value::from(raw.to_owned())),
        }
    }
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Parses a TOML file into a figment dictionary.
pub(super) fn read_file(path: &Path) -> Result<Dict, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parse_error = |message: String| ConfigError::Parse {
        path: path.to_owned(),
        message,
    };
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| parse_error(e.message().to_owned()))?;
    Value::serialize(table)
        .ok()
        .and_then(|v| v.into_dict())
        .ok_or_else(|| parse_error("not a table of settings".to_owned()))
}

/// The names of `get` that are set, for [`Config::apply_env`].
pub(super) fn env_from_getter(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let schema = Schema::new()?;
    Ok(schema
        .env_names()
        .into_iter()
        .filter_map(|name| get(&name).map(|value| (name, value)))
        .collect())
}

/// `base`, then `file`, then the configuration variables among `env`.
pub(super) fn layer(
    base: &Config,
    file: Option<(&Path, Dict)>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Layered, ConfigError> {
    let schema = Schema::new()?;
    let mut sources = BTreeMap::new();
    let mut figment = Figment::from(Serialized::defaults(to_dict(base)?));
    if let Some((path, dict)) = file {
        let origin = Source::File(path.to_owned());
        schema.check_file(&dict, "", &origin)?;
        let mut leaves = BTreeMap::new();
        flatten(&dict, "", &mut leaves, &mut BTreeSet::new());
        for key in leaves.into_keys() {
            sources.insert(key, origin.clone());
        }
        figment = figment.merge(Serialized::defaults(dict));
    }
    // The historic names first, so that the nested form of the same key wins; empty
    // values are ignored, as they always were.
    let mut vars: Vec<(bool, String, String, String)> = Vec::new();
    for (var, raw) in env {
        let Some(key) = schema.key_of(&var) else {
            continue;
        };
        if raw.trim().is_empty() {
            continue;
        }
        let nested = var.contains("__");
        vars.push((nested, var, key, raw));
    }
    vars.sort();
    for (_, var, key, raw) in vars {
        let origin = Source::Env(var);
        if !schema.leaves.contains_key(&key) {
            return Err(schema.unknown(&key, origin));
        }
        let value = schema
            .parse(&key, &raw)
            .map_err(|message| ConfigError::Value {
                key: key.clone(),
                origin: origin.clone(),
                message,
            })?;
        figment = figment.merge(Serialized::default(&key, value));
        sources.insert(key, origin);
    }
    let mut config: Config = figment.extract().map_err(|e| {
        let key = e.path.join(".");
        let message = match &e.kind {
            _ if key == "bind" => "expected ADDRESS:PORT, such as 127.0.0.1:8433".to_owned(),
            figment::error::Kind::InvalidType(_, expected)
            | figment::error::Kind::InvalidValue(_, expected) => format!("expected {expected}"),
            figment::error::Kind::Message(m) => m.clone(),
            kind => kind.to_string(),
        };
        let origin = sources.get(&key).cloned().unwrap_or(Source::Default);
        ConfigError::Value {
            key,
            origin,
            message,
        }
    })?;
    if let Some(secret) = config.delivery.secret_key.as_mut() {
        *secret = secret.trim().to_owned();
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            let key = "delivery.secret_key";
            return Err(ConfigError::Value {
                key: key.to_owned(),
                origin: sources.get(key).cloned().unwrap_or(Source::Default),
                message: "expected 64 hex characters (32 bytes)".to_owned(),
            });
        }
    }
    Ok(Layered { config, sources })
}

/// `base` with `values` (dotted key → value) on top: the policies set in the console
/// ([`crate::policy`]). A value of the wrong kind is refused, naming its key.
pub(crate) fn with_values(
    base: &Config,
    values: &[(&str, &serde_json::Value)],
) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(to_dict(base)?));
    for (key, value) in values {
        figment = figment.merge(Serialized::default(key, value));
    }
    figment.extract().map_err(|e| ConfigError::Value {
        key: e.path.join("."),
        origin: Source::Default,
        message: match &e.kind {
            figment::error::Kind::InvalidType(_, expected)
            | figment::error::Kind::InvalidValue(_, expected) => format!("expected {expected}"),
            kind => kind.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_known_by_their_names() {
        for key in [
            "delivery.secret_key",
            "directory.bind_password",
            "x.api_token",
        ] {
            assert!(is_secret(key), "{key}");
            let shown = display(key, &Value::from("hunter2"));
            assert!(!shown.contains("hunter2"), "{key}: {shown}");
        }
        for key in ["server_name", "delivery.mail_from", "lockout.threshold"] {
            assert!(!is_secret(key), "{key}");
        }
    }

    #[test]
    fn near_names_are_suggested() {
        assert_eq!(distance("lockout.thresold", "lockout.threshold"), 1);
        let schema = Schema::new().unwrap();
        let e = schema.unknown("lockout.thresold", Source::Default);
        assert!(
            e.to_string().contains("did you mean lockout.threshold?"),
            "{e}"
        );
        let e = schema.unknown("zzzzzzzz.qqqqqqqqqq", Source::Default);
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn only_configuration_variables_are_read() {
        let schema = Schema::new().unwrap();
        assert_eq!(
            schema.key_of("LATCHKEY_SMTP_URL").as_deref(),
            Some("delivery.smtp_url")
        );
        assert_eq!(
            schema.key_of("LATCHKEY_LOCKOUT__THRESHOLD").as_deref(),
            Some("lockout.threshold")
        );
        assert_eq!(
            schema.key_of("LATCHKEY_DEFAULT_REGION").as_deref(),
            Some("default_region")
        );
        assert_eq!(
            schema.key_of("LATCHKEY_METRICS_BIND").as_deref(),
            Some("metrics.bind")
        );
        for other in [
            "LATCHKEY_LOG",
            "LATCHKEY_LOG_FORMAT",
            "LATCHKEY_CONFIG",
            "LATCHKEY_SERVER",
            "LATCHKEY_TEST_FOO",
            "PATH",
        ] {
            assert_eq!(schema.key_of(other), None, "{other}");
        }
    }
}
