//! The composition root: clients and caches built once per process (cold start) and shared by
//! every invocation and every message of a batch.

use crate::clock::{Clock, Deadline, SystemClock};
use crate::config::{ConfigError, HandlerConfig, Settings};
use crate::genesys::{CallStats, GenesysClient, Orgs, Shared};
use crate::lease::Leases;
use crate::queues::{Queues, SqsQueues};
use crate::rules::{Rules, SsmParameters};
use crate::secrets::{SecretCache, SecretStore, SecretsManagerStore};
use crate::telemetry::newrelic::NewRelicSink;
use futures_util::future::BoxFuture;
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
    /// DynamoDB, for the leases: present exactly when `WRAPUP_LOCK_TABLE` is set.
    pub(crate) dynamodb: Option<aws_sdk_dynamodb::Client>,
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

impl From<crate::http::ClientError> for StartupError {
    fn from(e: crate::http::ClientError) -> Self {
        match e {
            crate::http::ClientError::Roots(e) => Self::Config(e),
            crate::http::ClientError::Build(e) => Self::Http(e),
        }
    }
}

impl App {
    /// The app of `settings` on these dependencies and rules, with an HTTP client of its own.
    #[cfg(feature = "sandbox")]
    pub(crate) fn new(
        settings: Settings,
        deps: Dependencies,
        rules: Rules,
    ) -> Result<Self, StartupError> {
        let http = crate::http::client(settings.genesys.call_timeout, &settings.tls_roots)?;
        Ok(Self::assemble(settings, deps, rules, http))
    }

    /// The app of `settings` on these dependencies and rules, every HTTPS call through `http`
    /// (the AWS SDK's too, when `deps` were made by [`aws`]).
    fn assemble(
        settings: Settings,
        deps: Dependencies,
        rules: Rules,
        http: reqwest::Client,
    ) -> Self {
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
        let leases = settings
            .lock_table
            .clone()
            .zip(deps.dynamodb)
            .map(|(table, db)| {
                Leases::new(db, table, deps.clock.clone()).remembering(settings.idempotency_ttl)
            });
        Self {
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
        }
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
        let http = crate::http::client(settings.genesys.call_timeout, &settings.tls_roots)?;
        let (deps, parameters) = aws(&http, &settings).await;
        let rules = Rules::load(
            &settings.rules,
            parameters.map(|p| p as Arc<dyn crate::rules::ParameterStore>),
            deps.clock.clone(),
            settings.rules_cache_ttl,
        )
        .await;
        Ok(Self::assemble(settings, deps, rules, http))
    }

    /// The deployed configuration's app without reading its rules, for commands that bring
    /// their own (`rules check --resolve`): no Parameter Store read, no rules log line.
    pub(crate) async fn from_settings_without_rules(
        settings: Settings,
    ) -> Result<Self, StartupError> {
        let http = crate::http::client(settings.genesys.call_timeout, &settings.tls_roots)?;
        let (deps, _) = aws(&http, &settings).await;
        let rules = Rules::load(
            &crate::config::RulesSetting::None,
            None,
            deps.clock.clone(),
            settings.rules_cache_ttl,
        )
        .await;
        Ok(Self::assemble(settings, deps, rules, http))
    }
}

/// What [`App::prefetch`] did in INIT.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Prefetched {
    /// `WRAPUP_INIT_PREFETCH_SECONDS=0`: nothing fetched before an event asks.
    Off,
    /// Everything fetched; the first event pays no Secrets Manager or token round trip.
    All(usize),
    /// Some fetches failed (named, never with a value): the first event fetches those again,
    /// and reports what is still wrong.
    Failed(Vec<String>),
    /// The budget ran out: what was still in flight was dropped, and the first event fetches it.
    OutOfTime,
}

impl App {
    /// Fetches, during Lambda's INIT, what the first event would otherwise wait for: each
    /// configured org's Genesys secret and token, the webhook signing key and New Relic's
    /// license key, all at once, for at most `WRAPUP_INIT_PREFETCH_SECONDS`. Lambda often
    /// initialises an environment before any event arrives, and INIT runs at full CPU, so the
    /// first event finds them cached. It never fails or holds up INIT past the budget: a failure
    /// or a slow Secrets Manager is logged and left to the first event, which fetches again
    /// (nothing half-done stays behind: the fetches still in flight are dropped, and with them
    /// their locks).
    pub(crate) async fn prefetch(&self) -> Prefetched {
        let budget = self.settings.init_prefetch;
        if budget.is_zero() {
            return Prefetched::Off;
        }
        // A Genesys call keeps a second of its deadline for the invocation's reply, which INIT
        // has none of; the timeout below bounds the whole prefetch to `budget` all the same.
        let deadline = Deadline::after(
            self.clock.as_ref(),
            budget + std::time::Duration::from_secs(1),
        );
        let mut fetches: Vec<BoxFuture<'_, Result<(), String>>> = self
            .orgs
            .all()
            .map(|client| -> BoxFuture<'_, Result<(), String>> {
                Box::pin(async move {
                    client
                        .check_token(deadline)
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        let secret_ids =
            self.handler
                .webhook
                .secret_id
                .iter()
                .chain(
                    self.settings
                        .new_relic
                        .iter()
                        .filter_map(|nr| match &nr.license_key {
                            crate::config::LicenseKey::SecretId(id) => Some(id),
                            crate::config::LicenseKey::Inline(_) => None,
                        }),
                );
        for id in secret_ids {
            fetches.push(Box::pin(async move {
                self.secrets
                    .get(id)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }));
        }
        let count = fetches.len();
        let all = futures_util::future::join_all(fetches);
        let prefetched = match tokio::time::timeout(budget, all).await {
            Err(_) => Prefetched::OutOfTime,
            Ok(results) => {
                let failed: Vec<String> = results.into_iter().filter_map(Result::err).collect();
                if failed.is_empty() {
                    Prefetched::All(count)
                } else {
                    Prefetched::Failed(failed)
                }
            }
        };
        match &prefetched {
            Prefetched::Off => {}
            Prefetched::All(count) => tracing::debug!(
                event = "init_prefetch",
                fetched = count,
                "credentials fetched during INIT"
            ),
            Prefetched::Failed(problems) => tracing::warn!(
                event = "init_prefetch",
                "credentials could not all be fetched during INIT; the first event fetches them again: {}",
                problems.join("; ")
            ),
            Prefetched::OutOfTime => tracing::warn!(
                event = "init_prefetch",
                budgetMs = budget.as_millis() as u64,
                "credentials were not fetched within WRAPUP_INIT_PREFETCH_SECONDS; the first event fetches them"
            ),
        }
        prefetched
    }
}

/// The process's AWS clients, from the SDK's own configuration chain (so `AWS_ENDPOINT_URL_*`
/// work as the SDK documents), every call through `http`, and the clock. A client is built only
/// if this configuration uses it: DynamoDB for `WRAPUP_LOCK_TABLE`, Parameter Store for
/// `WRAPUP_RULES_PARAMETER`, and SQS at its first send. Each SDK client parses its endpoint
/// rules when it is built, about a tenth of a millisecond of every cold start
/// (docs/performance.md, "Start-up").
async fn aws(
    http: &reqwest::Client,
    settings: &Settings,
) -> (Dependencies, Option<Arc<SsmParameters>>) {
    let aws = crate::http::sdk_config(http).await;
    let deps = Dependencies {
        secrets: Arc::new(SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
        )),
        queues: Arc::new(SqsQueues::new(&aws)),
        clock: Arc::new(SystemClock),
        dynamodb: settings.lock_table.as_ref().map(|_| {
            aws_sdk_dynamodb::Client::from_conf(
                crate::lease::tuned(aws_sdk_dynamodb::config::Builder::from(&aws)).build(),
            )
        }),
    };
    let parameters = match settings.rules {
        crate::config::RulesSetting::Parameter(_) => {
            Some(Arc::new(SsmParameters::new(aws_sdk_ssm::Client::new(&aws))))
        }
        _ => None,
    };
    (deps, parameters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{emulator::Route, Sandbox};
    use crate::secrets::SecretError;
    use secrecy::SecretString;
    use std::time::Duration;

    /// A Secrets Manager that never answers.
    struct Silent;

    #[async_trait::async_trait]
    impl SecretStore for Silent {
        async fn fetch(&self, _id: &str) -> Result<SecretString, SecretError> {
            std::future::pending().await
        }
    }

    async fn app(sandbox: &Sandbox, secrets: Arc<dyn SecretStore>, prefetch: &str) -> App {
        let env = sandbox.env(&[("WRAPUP_INIT_PREFETCH_SECONDS", prefetch)]);
        let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let rules = Rules::load(
            &settings.rules,
            None,
            clock.clone(),
            settings.rules_cache_ttl,
        )
        .await;
        let deps = Dependencies {
            secrets,
            queues: sandbox.queues.clone(),
            clock,
            dynamodb: Some(crate::sandbox::dynamodb_client(None)),
        };
        App::new(settings, deps, rules).unwrap()
    }

    #[tokio::test]
    async fn init_fetches_the_secrets_and_the_token_the_first_event_needs() {
        let sandbox = Sandbox::start().await.unwrap();
        let app = app(&sandbox, sandbox.secrets.clone(), "1").await;
        // The Genesys client's secret and its token, and the webhook's signing key.
        assert_eq!(app.prefetch().await, Prefetched::All(2));
        assert_eq!(sandbox.secrets.reads(), 2);
        assert_eq!(sandbox.emulator.count(Route::Token), 1);
        // The first event finds them cached.
        let deadline = Deadline::after(&SystemClock, Duration::from_secs(10));
        app.orgs
            .default_client()
            .check_token(deadline)
            .await
            .unwrap();
        app.secrets
            .get(crate::sandbox::demo::WEBHOOK_SECRET_ID)
            .await
            .unwrap();
        assert_eq!(sandbox.secrets.reads(), 2);
        assert_eq!(sandbox.emulator.count(Route::Token), 1);
    }

    #[tokio::test]
    async fn zero_turns_the_prefetch_off() {
        let sandbox = Sandbox::start().await.unwrap();
        let app = app(&sandbox, sandbox.secrets.clone(), "0").await;
        assert_eq!(app.prefetch().await, Prefetched::Off);
        assert_eq!(sandbox.secrets.reads(), 0);
        assert_eq!(sandbox.emulator.count(Route::Token), 0);
    }

    /// Time is tokio's paused clock: the budget passes without waiting for it.
    #[tokio::test(start_paused = true)]
    async fn a_silent_secrets_manager_costs_init_the_budget_and_no_more() {
        let sandbox = Sandbox::start().await.unwrap();
        let app = app(&sandbox, Arc::new(Silent), "2").await;
        let started = tokio::time::Instant::now();
        assert_eq!(app.prefetch().await, Prefetched::OutOfTime);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        // Nothing half-done stays behind: the secret cache's lock is free for the first event.
        assert!(app.secrets.try_lock_for_test());
    }

    #[tokio::test]
    async fn a_failed_fetch_is_named_and_left_to_the_first_event() {
        let sandbox = Sandbox::start().await.unwrap();
        sandbox
            .secrets
            .remove(crate::sandbox::demo::WEBHOOK_SECRET_ID);
        let app = app(&sandbox, sandbox.secrets.clone(), "3").await;
        match app.prefetch().await {
            Prefetched::Failed(problems) => {
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert!(problems[0].contains(crate::sandbox::demo::WEBHOOK_SECRET_ID));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            sandbox.emulator.count(Route::Token),
            1,
            "the token was still fetched"
        );
    }
}
