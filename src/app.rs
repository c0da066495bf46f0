//! The composition root: clients and caches built once per process (cold start) and shared by
//! every invocation and every message of a batch.

use crate::clock::{Clock, Deadline, SystemClock};
use crate::config::{ConfigError, Settings};
use crate::genesys::client::http_client;
use crate::genesys::GenesysClient;
use crate::queues::{Queues, SqsQueues};
use crate::rules_source::{Rules, SsmParameters};
use crate::secrets::{SecretCache, SecretStore, SecretsManagerStore};
use crate::telemetry::emf::CallStats;
use crate::telemetry::newrelic::{Event, NewRelicSink};
use crate::telemetry::Tally;
use crate::wrapup::rules::RulesError;
use crate::wrapup::{Outcome, Reason};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

pub struct App {
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<SecretCache>,
    /// The client of `GENESYS_SECRET_ID`'s org (every event, without an org map).
    pub genesys: GenesysClient,
    /// One client (token, caches, rate limiter) per mapped org.
    pub orgs: BTreeMap<Uuid, GenesysClient>,
    pub rules: Rules,
    pub queues: Arc<dyn Queues>,
    pub new_relic: Option<NewRelicSink>,
    /// Genesys calls of every org's client, for the metrics.
    pub stats: Arc<CallStats>,
}

/// An org the org map does not list.
#[derive(Debug, Clone, Copy)]
pub struct UnknownOrg(pub Uuid);

impl UnknownOrg {
    pub fn outcome(self) -> Outcome {
        Outcome::rejected(
            Reason::UnknownOrg,
            format!("Genesys org {} is not in GENESYS_ORG_SECRETS", self.0),
        )
    }
}

/// What one invocation knows about itself, and what it did (for its metrics line).
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: Deadline,
    pub tally: Tally,
    /// New Relic events of this invocation, sent in one POST at its end.
    pub events: std::sync::Mutex<Vec<Event>>,
}

impl Invocation {
    pub fn new(request_id: impl Into<String>, deadline: Deadline) -> Self {
        Self {
            request_id: request_id.into(),
            deadline,
            tally: Tally::default(),
            events: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn record_event(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }

    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("configuration error: {0}")]
    Rules(#[from] RulesError),
}

impl App {
    pub fn new(
        settings: Settings,
        store: Arc<dyn SecretStore>,
        queues: Arc<dyn Queues>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let settings = Arc::new(settings);
        let http = http_client(settings.genesys_call_timeout)?;
        let secrets = Arc::new(SecretCache::new(
            store,
            clock.clone(),
            settings.secret_cache_ttl,
        ));
        let new_relic = settings
            .new_relic
            .clone()
            .map(|nr| NewRelicSink::new(http.clone(), nr, secrets.clone(), clock.clone()));
        let stats = Arc::new(CallStats::default());
        let client = |secret_id: &str| {
            GenesysClient::new(
                http.clone(),
                secret_id.to_owned(),
                settings.clone(),
                secrets.clone(),
                clock.clone(),
                stats.clone(),
            )
        };
        let genesys = client(&settings.genesys_secret_id);
        let orgs = settings
            .org_secrets
            .iter()
            .map(|(org, secret_id)| (*org, client(secret_id)))
            .collect();
        Ok(Self {
            settings,
            clock,
            secrets,
            genesys,
            orgs,
            rules: Rules::fixed(Default::default()),
            queues,
            new_relic,
            stats,
        })
    }

    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// The client for `org`: its own with an org map, the default one otherwise. An org the
    /// map does not list is rejected before any Genesys call.
    pub fn client_for(&self, org: Option<Uuid>) -> Result<&GenesysClient, UnknownOrg> {
        match org {
            Some(org) if !self.orgs.is_empty() => self.orgs.get(&org).ok_or(UnknownOrg(org)),
            _ => Ok(&self.genesys),
        }
    }

    /// The deployed configuration: environment settings, Secrets Manager and SQS, with the
    /// AWS SDK's own configuration chain (so `AWS_ENDPOINT_URL_*` work as the SDK documents).
    pub async fn from_env() -> Result<Self, StartupError> {
        let settings = Settings::from_env()?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = Arc::new(SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
        ));
        let queues = Arc::new(SqsQueues::new(aws_sdk_sqs::Client::new(&aws)));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let parameters = Arc::new(SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
        let rules = Rules::load(
            &settings.rules,
            Some(parameters),
            clock.clone(),
            settings.rules_cache_ttl,
        )
        .await?;
        Ok(Self::new(settings, store, queues, clock)?.with_rules(rules))
    }
}
