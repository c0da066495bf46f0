//! The composition root: clients and caches built once per process (cold start) and shared by
//! every invocation and every message of a batch.

use crate::clock::{Clock, Deadline, SystemClock};
use crate::config::{ConfigError, Settings};
use crate::genesys::client::http_client;
use crate::genesys::GenesysClient;
use crate::secrets::{SecretCache, SecretStore, SecretsManagerStore};
use std::sync::Arc;

pub struct App {
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<SecretCache>,
    pub genesys: GenesysClient,
}

/// What one invocation knows about itself.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: Deadline,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl App {
    pub fn new(
        settings: Settings,
        store: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let settings = Arc::new(settings);
        let http = http_client(settings.genesys_call_timeout)?;
        let secrets = Arc::new(SecretCache::new(
            store,
            clock.clone(),
            settings.secret_cache_ttl,
        ));
        let genesys = GenesysClient::new(
            http,
            settings.genesys_secret_id.clone(),
            settings.clone(),
            secrets.clone(),
            clock.clone(),
        );
        Ok(Self {
            settings,
            clock,
            secrets,
            genesys,
        })
    }

    /// The deployed configuration: environment settings and Secrets Manager.
    pub async fn from_env() -> Result<Self, StartupError> {
        let settings = Settings::from_env()?;
        let store = Arc::new(SecretsManagerStore::from_env().await);
        Self::new(settings, store, Arc::new(SystemClock))
    }
}
