//! The composition root: clients and caches built once per process (cold start) and shared by
//! every invocation and every message of a batch.

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, HandlerConfig, Settings};
use crate::genesys::{CallStats, GenesysClient, Orgs, Shared};
use crate::lease::Leases;
use crate::queues::{Queues, SqsQueues};
use crate::rules::{Rules, SsmParameters};
use crate::secrets::{SecretCache, SecretStore, SecretsManagerStore};
use crate::telemetry::newrelic::NewRelicSink;
use std::sync::Arc;

/// Everything one process builds once (cold start) and every invocation shares: the Genesys
/// client of each org, the secret cache, rules, queues, New Relic and the clock. Build it with
/// [`App::from_env`] in Lambda, or [`App::new`] with your own dependencies (the sandbox, tests).
pub struct App {
    /// The handler's own part of the configuration.
    pub(crate) handler: HandlerConfig,
    /// The whole configuration, for `doctor` (whose job is to check every setting).
    pub(crate) settings: Settings,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) secrets: Arc<SecretCache>,
    pub(crate) orgs: Orgs,
    pub(crate) rules: Rules,
    pub(crate) queues: Arc<dyn Queues>,
    pub(crate) new_relic: Option<NewRelicSink>,
    /// Per-conversation leases (`WRAPUP_LOCK_TABLE`); `None`: at least once.
    pub(crate) leases: Option<Leases>,
    /// Genesys calls of every org's client, for the metrics.
    pub(crate) stats: Arc<CallStats>,
}

/// What the process talks to besides Genesys: Secrets Manager, SQS, and time.
pub(crate) struct Dependencies {
    /// Where secrets are read from (Secrets Manager in Lambda).
    pub(crate) secrets: Arc<dyn SecretStore>,
    /// The attention and buffer queues (SQS in Lambda).
    pub(crate) queues: Arc<dyn Queues>,
    /// Time, injected so tests never wait for it.
    pub(crate) clock: Arc<dyn Clock>,
    /// DynamoDB, for the leases when `WRAPUP_LOCK_TABLE` is set.
    pub(crate) dynamodb: aws_sdk_dynamodb::Client,
}

/// Why the process could not start: one line naming the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl App {
    /// The app of `settings` on these dependencies and rules.
    pub(crate) fn new(
        settings: Settings,
        deps: Dependencies,
        rules: Rules,
    ) -> Result<Self, StartupError> {
        let http = crate::http::client(settings.genesys.call_timeout)?;
        let secrets = Arc::new(SecretCache::new(
            deps.secrets,
            deps.clock.clone(),
            settings.secret_cache_ttl,
        ));
        let new_relic = settings
            .new_relic
            .clone()
            .map(|nr| NewRelicSink::new(http.clone(), nr, secrets.clone(), deps.clock.clone()));
        let shared = Shared {
            http,
            secrets: secrets.clone(),
            clock: deps.clock.clone(),
            stats: Arc::new(CallStats::default()),
        };
        let genesys = Arc::new(settings.genesys.clone());
        let client = |secret_id: &str| {
            GenesysClient::new(shared.clone(), secret_id.to_owned(), genesys.clone())
        };
        let orgs = Orgs::new(
            client(&settings.genesys_secret_id),
            settings
                .org_secrets
                .iter()
                .map(|(org, secret_id)| (*org, client(secret_id)))
                .collect(),
        );
        let leases = settings.lock_table.clone().map(|table| {
            Leases::new(deps.dynamodb, table, deps.clock.clone())
                .remembering(settings.idempotency_ttl)
        });
        Ok(Self {
            handler: settings.handler.clone(),
            leases,
            clock: deps.clock,
            secrets,
            orgs,
            rules,
            queues: deps.queues,
            new_relic,
            stats: shared.stats,
            settings,
        })
    }

    /// The deployed configuration: environment settings, Secrets Manager, SQS and Parameter
    /// Store, with the AWS SDK's own configuration chain (so `AWS_ENDPOINT_URL_*` work as the
    /// SDK documents).
    pub async fn from_env() -> Result<Self, StartupError> {
        Self::from_lookup(|name| std::env::var(name).ok()).await
    }

    /// As [`App::from_env`], with the environment read through `lookup` (`invoke --dry-run`).
    /// Rules that do not load are no start-up error: apply requests are served, Genesys events
    /// wait (see `rules_source`).
    pub async fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, StartupError> {
        Self::from_settings(Settings::from_lookup(lookup)?).await
    }

    /// The deployed configuration's app for these settings.
    pub(crate) async fn from_settings(settings: Settings) -> Result<Self, StartupError> {
        let (deps, parameters) = aws().await;
        let rules = Rules::load(
            &settings.rules,
            Some(parameters),
            deps.clock.clone(),
            settings.rules_cache_ttl,
        )
        .await;
        Self::new(settings, deps, rules)
    }

    /// The deployed configuration's app without reading its rules, for commands that bring
    /// their own (`rules check --resolve`): no Parameter Store read, no rules log line.
    pub(crate) async fn from_settings_without_rules(
        settings: Settings,
    ) -> Result<Self, StartupError> {
        let (deps, _) = aws().await;
        let rules = Rules::load(
            &crate::config::RulesSetting::None,
            None,
            deps.clock.clone(),
            settings.rules_cache_ttl,
        )
        .await;
        Self::new(settings, deps, rules)
    }
}

/// The process's AWS clients, from the SDK's own configuration chain (so `AWS_ENDPOINT_URL_*`
/// work as the SDK documents), and the clock.
async fn aws() -> (Dependencies, Arc<SsmParameters>) {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let deps = Dependencies {
        secrets: Arc::new(SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
        )),
        queues: Arc::new(SqsQueues::new(aws_sdk_sqs::Client::new(&aws))),
        clock: Arc::new(SystemClock),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            crate::lease::tuned(aws_sdk_dynamodb::config::Builder::from(&aws)).build(),
        ),
    };
    let parameters = Arc::new(SsmParameters::new(aws_sdk_ssm::Client::new(&aws)));
    (deps, parameters)
}
