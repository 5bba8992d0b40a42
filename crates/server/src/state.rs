//! The state every handler shares: database pool, configuration, hasher, clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{Config, Source};
use crate::db::{self, Clock, Db, DbError};
use crate::hasher::{HashError, Hasher};
use crate::policy::Live;
use crate::secret_box::{KeyError, SecretKey};
use crate::session;
use crate::settings::{self, Switches};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The configuration in force: the start's, with the policies set in the console
    /// (see [`AppState::config`]).
    pub live: Arc<Live>,
    pub hasher: Arc<Hasher>,
    pub clock: Arc<Clock>,
    /// `LATCHKEY_SECRET_KEY`, which seals TOTP secrets; without it TOTP cannot be set up.
    pub secret_key: Option<Arc<SecretKey>>,
    /// Wakes this process's message dispatcher when a message is queued.
    pub outbound: Arc<tokio::sync::Notify>,
    /// Maintenance and version switches, read at most once a second.
    pub switches: Arc<settings::Cache>,
    /// SQLite: refresh rotations committed in batches (see [`session::Rotations`]).
    pub rotations: Arc<session::Rotations>,
    /// Second-factor codes compared (TOTP and recovery codes), for figures and tests.
    pub second_factor_checks: Arc<std::sync::atomic::AtomicU64>,
    /// The OpenID Connect signing keys as last read (see [`crate::oidc::keys`]).
    pub oidc_keys: Arc<crate::oidc::keys::Cache>,
    /// Draining after SIGTERM (`/readyz` answers 503).
    pub lifecycle: Arc<crate::ops::health::Lifecycle>,
    /// The company directory, when `[directory] url` is set (see [`crate::directory`]).
    pub directory: Option<Arc<crate::directory::Directory>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryConfigError),
}

impl AppState {
    /// Connects to the configured database and applies the migrations.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        Self::open_layered(config, BTreeMap::new()).await
    }

    /// [`AppState::open`], knowing which keys the file or the environment set
    /// (`fixed`): the console's policies do not replace those.
    pub async fn open_layered(
        config: Config,
        fixed: BTreeMap<String, Source>,
    ) -> Result<Self, StartError> {
        let db = db::connect(&config.database_url).await?;
        db::migrate(&db).await?;
        let app = Self::with_db(config, db, fixed)?;
        // The console's policies from the first request on.
        app.switches().await.map_err(DbError::Connect)?;
        Ok(app)
    }

    pub fn with_db(
        config: Config,
        db: Db,
        fixed: BTreeMap<String, Source>,
    ) -> Result<Self, StartError> {
        let hasher = Hasher::new(&config.argon2)?;
        let secret_key = SecretKey::from_config(config.delivery.secret_key.as_deref())?;
        let directory = crate::directory::Directory::from_config(&config.directory)?;
        Ok(Self {
            db,
            live: Arc::new(Live::new(config, fixed)),
            hasher: Arc::new(hasher),
            clock: Arc::new(Clock::default()),
            secret_key: secret_key.map(Arc::new),
            outbound: Arc::new(tokio::sync::Notify::new()),
            switches: Arc::new(settings::Cache::default()),
            rotations: Arc::new(session::Rotations::default()),
            second_factor_checks: Arc::default(),
            oidc_keys: Arc::default(),
            lifecycle: Arc::default(),
            directory: directory.map(Arc::new),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.live.config()
    }

    /// The switches and the console's policies, at most [`settings::CACHE_TTL_MS`]
    /// old; the policies are applied to [`AppState::config`] as they are read.
    pub async fn switches(&self) -> Result<Arc<Switches>, sqlx::Error> {
        let switches = self.switches.get(&self.db, self.now()).await?;
        self.live.apply(switches.policy.as_deref().unwrap_or(""));
        Ok(switches)
    }
}
