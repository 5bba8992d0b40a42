//! The state every handler shares: database pool, configuration, hasher, clock.

use std::sync::Arc;

use crate::config::Config;
use crate::db::{self, Clock, Db, DbError};
use crate::hasher::{HashError, Hasher};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub hasher: Arc<Hasher>,
    pub clock: Arc<Clock>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl AppState {
    /// Connects to the configured database and applies the migrations.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let db = db::connect(&config.database_url).await?;
        db::migrate(&db).await?;
        Self::with_db(config, db)
    }

    pub fn with_db(config: Config, db: Db) -> Result<Self, StartError> {
        let hasher = Hasher::new(&config.argon2)?;
        Ok(Self {
            db,
            config: Arc::new(config),
            hasher: Arc::new(hasher),
            clock: Arc::new(Clock::default()),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
