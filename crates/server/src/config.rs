//! Server configuration: built-in defaults, then an optional TOML file, then the
//! `LATCHKEY_*` environment variables (every key has one: see `config/layers.rs`).
//!
//! Every admin command reads the same configuration as `serve`, so a script that sets
//! `LATCHKEY_DATABASE_URL` once talks to the same database with every command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use latchkey_proto::{OfflinePolicy, PasswordPolicy, Support};
use serde::{Deserialize, Serialize};

mod layers;
mod redact;

pub(crate) use layers::with_values;
pub use layers::{Layered, Source, LEGACY_VARS};
pub use redact::redact_url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A key that does not exist, in the file or in a `LATCHKEY_*__*` variable.
    #[error("unknown setting {key} ({origin}){}", did_you_mean(.suggestion))]
    Unknown {
        key: String,
        origin: Source,
        suggestion: Option<String>,
    },
    /// A value of the wrong kind; the value itself is not repeated (it may be secret).
    #[error("invalid value for {key} ({origin}): {message}")]
    Value {
        key: String,
        origin: Source,
        message: String,
    },
    #[error("no data directory for the default SQLite database; set LATCHKEY_DATABASE_URL")]
    NoDataDir,
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(key) => format!("; did you mean {key}?"),
        None => String::new(),
    }
}

/// The whole configuration. `Debug` is hand-written so that secrets never print.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `sqlite://path` (created if missing) or `postgres://…`. Empty: a SQLite file in
    /// the platform data directory.
    pub database_url: String,
    /// Shown by clients on the sign-in screen.
    pub server_name: String,
    /// Region for phone numbers typed without a country code (ISO 3166 alpha-2).
    pub default_region: String,
    /// Tokio worker threads; 0 = one per core.
    pub worker_threads: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How many trusted proxies append to `X-Forwarded-For` (default 1): the client is
    /// the entry this many from the right; entries further left are the client's own.
    pub trusted_proxies: u32,
    pub password: PasswordPolicy,
    pub argon2: Argon2Config,
    pub lockout: LockoutConfig,
    pub sessions: SessionConfig,
    pub offline: OfflinePolicy,
    pub support: Support,
    pub delivery: DeliveryConfig,
    /// The password reset; its section keeps the name `[recovery]`, like its paths.
    #[serde(rename = "recovery")]
    pub password_reset: PasswordResetConfig,
    pub devices: DeviceConfig,
    pub two_factor: TwoFactorConfig,
    pub retention: crate::retention::RetentionConfig,
    pub limits: LimitsConfig,
    pub oidc: crate::oidc::OidcConfig,
    /// The company directory people sign in with (issue 19); off while its `url` is
    /// empty. See `docs/directory.md`.
    pub directory: crate::directory::DirectoryConfig,
    pub metrics: MetricsConfig,
    pub shutdown: ShutdownConfig,
}

/// Prometheus metrics (`docs/operations.md`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served (`LATCHKEY_METRICS_BIND`, e.g. `127.0.0.1:9433`):
    /// an address of its own, never the API's, so that it is not published with the API
    /// by accident. Unset: no metrics are kept nor served.
    pub bind: Option<SocketAddr>,
}

/// What SIGTERM (or Ctrl-C) does: `/readyz` answers 503 at once; the server goes on
/// answering for `delay_seconds` (time for a load balancer to see it and stop sending),
/// then stops accepting connections, lets the requests in flight finish for at most
/// `timeout_seconds`, and exits.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds between the signal and closing the port (0 = none: behind no load
    /// balancer, or one that checks `/readyz` rarely, set a few seconds).
    pub delay_seconds: u64,
    /// Longest wait for requests in flight once the port is closed.
    pub timeout_seconds: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            delay_seconds: 0,
            timeout_seconds: 10,
        }
    }
}

/// Connections: how many at once, and how long a client may take to send its headers.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Open connections at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// A connection that has not sent a whole request head in this time is closed
    /// (slowloris).
    pub header_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_timeout_ms: 10_000,
        }
    }
}

/// Password reset, the forgot-password flow (`/v1/recovery/*`, section `[recovery]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordResetConfig {
    /// How long the 6-digit code is valid.
    pub code_ttl_seconds: u64,
    /// Wrong codes before the attempt is used up.
    pub max_attempts: u32,
    /// Seconds before another code may be sent for the same identifier.
    pub resend_after_seconds: u64,
    /// Codes sent per identifier per hour.
    pub max_sends_per_hour: u32,
    /// How long the e-mail's `latchkey://reset?token=…` link works.
    pub link_ttl_seconds: u64,
    /// How long the `reset_token` of a verified code works.
    pub reset_token_ttl_seconds: u64,
}

impl Default for PasswordResetConfig {
    fn default() -> Self {
        Self {
            code_ttl_seconds: 10 * 60,
            max_attempts: 5,
            resend_after_seconds: 60,
            max_sends_per_hour: 5,
            link_ttl_seconds: 30 * 60,
            reset_token_ttl_seconds: 30 * 60,
        }
    }
}

/// New-device verification.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// A right password from a device the account never used (and no TOTP) asks for a
    /// code sent by e-mail or SMS. `LATCHKEY_VERIFY_NEW_DEVICES=false` turns it off.
    pub verify_new: bool,
    pub code_ttl_seconds: u64,
    /// Wrong codes before the challenge is used up (sign in again).
    pub max_attempts: u32,
    /// Codes sent per account per hour.
    pub max_sends_per_hour: u32,
    /// Seconds before another device code may be sent for the account (0 = none).
    pub resend_after_seconds: u64,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            verify_new: true,
            code_ttl_seconds: 10 * 60,
            max_attempts: 5,
            max_sends_per_hour: 5,
            resend_after_seconds: 0,
        }
    }
}

/// Who must use two-step verification (TOTP), and how long an account that lacks it
/// may still sign in without it (section `[two_factor]`, also set from the console).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwoFactorConfig {
    pub required: TwoFactorRequired,
    /// Days, from when the requirement first applied to the account, during which it
    /// may still sign in without TOTP (and is reminded); then setting it up is a step
    /// of the sign-in. 0: at once.
    pub grace_days: u32,
}

/// `off` (default), `admins` (accounts with a console role) or `everyone`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TwoFactorRequired {
    #[default]
    Off,
    Admins,
    Everyone,
}

/// argon2id cost and how many hashes may run or wait at once.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; 0 = one per core.
    pub max_concurrent: usize,
    /// Requests allowed to wait for a hashing slot; beyond that, `rate_limited`.
    pub queue: usize,
    /// Longest wait for a slot before `server_busy`, in milliseconds (a backstop).
    pub queue_timeout_ms: u64,
    /// Longest *predicted* wait for a slot a request is admitted with, in milliseconds
    /// (requests ahead ÷ slots × the mean hash time); beyond it the request is answered
    /// `server_busy` at once, before any other work.
    pub max_wait_ms: u64,
    /// Hashes run at the lowest CPU priority (Linux `SCHED_IDLE`): requests that do not
    /// hash are answered without waiting behind one, but any other busy process on the
    /// machine slows sign-ins down. For a machine that runs only Latchkey.
    pub idle_priority: bool,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
            queue: 64,
            queue_timeout_ms: 5_000,
            max_wait_ms: 1_000,
            idle_priority: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutConfig {
    /// Failed sign-ins that lock an account (or identifier).
    pub threshold: u32,
    /// First lock, in seconds; each further lock doubles it.
    pub base_seconds: u64,
    /// Longest lock, in seconds.
    pub max_seconds: u64,
    /// A quiet period after which failures and lock level are forgotten.
    pub reset_after_seconds: u64,
    /// Failed sign-ins allowed per client address per window; 0 = off.
    pub address_limit: u32,
    pub address_window_seconds: u64,
    /// Tell the person (e-mail, else SMS) when failed sign-ins lock their account.
    pub notify_user: bool,
    /// An address that gets a daily summary of the accounts locked by failed sign-ins
    /// (empty: none).
    pub summary_to: String,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            base_seconds: 15 * 60,
            max_seconds: 24 * 3600,
            reset_after_seconds: 24 * 3600,
            address_limit: 50,
            address_window_seconds: 10 * 60,
            notify_user: true,
            summary_to: String::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    pub access_ttl_seconds: u64,
    pub refresh_ttl_seconds: u64,
    /// Lifetime of the token that the forced change is made with.
    pub change_token_ttl_seconds: u64,
    /// A session ends this long after its sign-in, refreshed or not (0 = never).
    pub absolute_ttl_seconds: u64,
    /// A rotated refresh token presented again this soon (its answer was lost on the
    /// way) gets the same successor instead of ending the session (0 = off).
    pub refresh_grace_seconds: u64,
    /// The answer to a request with an `Idempotency-Key` is given again for a retry
    /// with the same key for this long (see `http::idempotency`).
    pub idempotency_ttl_seconds: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            access_ttl_seconds: 15 * 60,
            refresh_ttl_seconds: 30 * 24 * 3600,
            change_token_ttl_seconds: 10 * 60,
            absolute_ttl_seconds: 90 * 24 * 3600,
            refresh_grace_seconds: 30,
            idempotency_ttl_seconds: 300,
        }
    }
}

/// Message delivery (used by the password reset and the device code); see
/// [`crate::delivery`] for which transport a channel uses.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// `smtp://host:port` (plain), `smtp://host?tls=required` (STARTTLS), `smtps://host`.
    pub smtp_url: Option<String>,
    /// The From of e-mails; default `Latchkey <no-reply@localhost>`.
    pub mail_from: Option<String>,
    pub sms_webhook_url: Option<String>,
    /// Where messages of a channel without SMTP URL or webhook are written; default
    /// `outbox/` in the platform data directory.
    pub outbox_dir: Option<PathBuf>,
    /// Send queued messages from this process (default). Off: this process only queues,
    /// and the processes that have it on send.
    pub dispatcher: bool,
    /// 64 hex characters; encrypts TOTP secrets at rest.
    pub secret_key: Option<String>,
    /// Allow a plain-text SMTP relay or an `http://` webhook on another machine
    /// (default false: the server refuses to start with one).
    pub allow_insecure: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            mail_from: None,
            sms_webhook_url: None,
            outbox_dir: None,
            dispatcher: true,
            secret_key: None,
            allow_insecure: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8433)),
            database_url: String::new(),
            server_name: "Latchkey".to_owned(),
            default_region: "CN".to_owned(),
            worker_threads: 0,
            trust_forwarded_for: false,
            trusted_proxies: 1,
            password: PasswordPolicy::default(),
            argon2: Argon2Config::default(),
            lockout: LockoutConfig::default(),
            sessions: SessionConfig::default(),
            offline: OfflinePolicy::default(),
            support: Support::default(),
            delivery: DeliveryConfig::default(),
            password_reset: PasswordResetConfig::default(),
            devices: DeviceConfig::default(),
            two_factor: TwoFactorConfig::default(),
            retention: crate::retention::RetentionConfig::default(),
            limits: LimitsConfig::default(),
            oidc: crate::oidc::OidcConfig::default(),
            directory: crate::directory::DirectoryConfig::default(),
            metrics: MetricsConfig::default(),
            shutdown: ShutdownConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Ok(Self::load_with_sources(file)?.config)
    }

    /// [`Config::load`], with the source of every key.
    pub fn load_with_sources(file: Option<&Path>) -> Result<Layered, ConfigError> {
        Self::layered(file, process_env())
    }

    /// Like [`Config::load`] with the environment given as `(name, value)` pairs, and
    /// the source of every key (`config check`).
    pub fn layered(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Layered, ConfigError> {
        let file = match file {
            Some(path) => Some((path, layers::read_file(path)?)),
            None => None,
        };
        let mut layered = layers::layer(&Self::default(), file, env)?;
        if layered.config.database_url.is_empty() {
            layered.config.database_url = default_database_url()?;
        }
        Ok(layered)
    }

    /// Defaults, then the file; an unknown key is refused with the nearest valid one.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let dict = layers::read_file(path)?;
        Ok(layers::layer(&Self::default(), Some((path, dict)), [])?.config)
    }

    /// Overrides from `LATCHKEY_*` variables; `get` is the environment (injectable).
    /// Every key's variable is asked for; to refuse unknown keys too, use
    /// [`Config::apply_env_vars`], which sees every variable.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let vars = layers::env_from_getter(get)?;
        self.apply_env_vars(vars)
    }

    /// Overrides from the configuration variables among `vars`; other variables are
    /// ignored, an unknown key in the nested form is an error.
    pub fn apply_env_vars(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        *self = layers::layer(self, None, vars)?.config;
        Ok(())
    }
}

/// The process environment as UTF-8 pairs (a value that is not UTF-8 is kept lossily,
/// and then refused by its key's type or ignored if it is not configuration).
fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(name, value)| {
        let name = name.into_string().ok()?;
        Some((name, value.to_string_lossy().into_owned()))
    })
}

/// `sqlite://<data dir>/latchkey.db`, creating the directory.
fn default_database_url() -> Result<String, ConfigError> {
    let dirs = directories::ProjectDirs::from("cn", "Latchkey", "latchkey-server")
        .ok_or(ConfigError::NoDataDir)?;
    let dir = dirs.data_dir();
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    })?;
    Ok(format!("sqlite://{}", dir.join("latchkey.db").display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_defaults() {
        let mut c = Config::default();
        c.apply_env(|name| match name {
            "LATCHKEY_BIND" => Some("127.0.0.1:0".into()),
            "LATCHKEY_DATABASE_URL" => Some("sqlite://x.db".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.bind.port(), 0);
        assert_eq!(c.database_url, "sqlite://x.db");
    }

    #[test]
    fn bad_env_values_are_errors_not_panics() {
        let mut c = Config::default();
        let e = c
            .apply_env(|n| (n == "LATCHKEY_SECRET_KEY").then(|| "abc".into()))
            .unwrap_err();
        assert!(e.to_string().contains("LATCHKEY_SECRET_KEY"));
        assert!(!e.to_string().contains("abc"));
        assert!(c
            .apply_env(|n| (n == "LATCHKEY_BIND").then(|| "nonsense".into()))
            .is_err());
        assert!(c
            .apply_env(|n| (n == "LATCHKEY_VERIFY_NEW_DEVICES").then(|| "maybe".into()))
            .is_err());
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given() {
        let mut c = Config::default();
        assert!(c.metrics.bind.is_none());
        assert_eq!(c.shutdown.timeout_seconds, 10);
        c.apply_env(|n| (n == "LATCHKEY_METRICS_BIND").then(|| "127.0.0.1:9433".into()))
            .unwrap();
        assert_eq!(c.metrics.bind, Some("127.0.0.1:9433".parse().unwrap()));
        let e = c
            .apply_env(|n| (n == "LATCHKEY_METRICS_BIND").then(|| "everywhere".into()))
            .unwrap_err();
        assert!(e.to_string().contains("metrics.bind"), "{e}");
    }

    #[test]
    fn the_password_reset_keeps_its_section_name() {
        let mut c = Config::default();
        c.apply_env(|n| (n == "LATCHKEY_RECOVERY__MAX_ATTEMPTS").then(|| "7".into()))
            .unwrap();
        assert_eq!(c.password_reset.max_attempts, 7);
    }

    #[test]
    fn new_devices_are_verified_by_default_and_can_be_switched_off() {
        let mut c = Config::default();
        assert!(c.devices.verify_new);
        assert_eq!(c.password_reset.code_ttl_seconds, 600);
        assert_eq!(c.password_reset.max_attempts, 5);
        assert_eq!(c.password_reset.resend_after_seconds, 60);
        assert_eq!(c.password_reset.max_sends_per_hour, 5);
        assert_eq!(c.password_reset.link_ttl_seconds, 1800);
        c.apply_env(|n| (n == "LATCHKEY_VERIFY_NEW_DEVICES").then(|| "off".into()))
            .unwrap();
        assert!(!c.devices.verify_new);
    }

    #[test]
    fn the_directory_password_comes_from_its_variable_and_is_never_shown() {
        let env = [
            (
                "LATCHKEY_DIRECTORY_BIND_PASSWORD".to_owned(),
                "s3cret-bind".to_owned(),
            ),
            (
                "LATCHKEY_DATABASE_URL".to_owned(),
                "sqlite://x.db".to_owned(),
            ),
        ];
        let layered = Config::layered(None, env).unwrap();
        let dir = &layered.config.directory;
        assert_eq!(dir.bind_password.as_deref(), Some("s3cret-bind"));
        let entries = layered.entries().unwrap();
        let (_, shown, source) = entries
            .iter()
            .find(|(key, _, _)| key == "directory.bind_password")
            .unwrap();
        assert_eq!(shown, "\"<redacted>\"");
        assert_eq!(
            **source,
            Source::Env("LATCHKEY_DIRECTORY_BIND_PASSWORD".into())
        );
        assert!(!format!("{:?}", layered.config.directory).contains("s3cret"));
    }

    #[test]
    fn toml_file_sets_nested_values() {
        let c: Config = toml::from_str(
            "server_name = \"Corp\"\n[lockout]\nthreshold = 3\n[password]\nmin_length = 14\n",
        )
        .unwrap();
        assert_eq!(c.server_name, "Corp");
        assert_eq!(c.lockout.threshold, 3);
        assert_eq!(c.lockout.base_seconds, 900);
        assert_eq!(c.password.min_length, 14);
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
    }
}
