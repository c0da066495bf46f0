//! Every setting, its default and its validation, in one place. Settings are read once at cold
//! start; only `GENESYS_SECRET_ID` is required, and every other setting is optional with a safe
//! default, so a deployment that sets only the secret keeps working as features are added.
//! Each component receives its own part (`GenesysConfig`, `HandlerConfig`, `NewRelicConfig`,
//! ...), not the whole; only `doctor`, whose job is to check them all, reads every setting.
//!
//! - this file: the settings, their defaults, and the components' parts;
//! - `values.rs`: the forms settings are written in (durations, table names, the org map, a
//!   Genesys environment, a base URL), parsed and checked;
//! - `tests.rs`: every setting's default, bounds and message.

mod values;

pub(crate) use values::{parse_base_url, validate_environment};
use values::{parse_duration, parse_org_secrets, validate_table};

use reqwest::Url;
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// Genesys's quoted limit per OAuth client.
const GENESYS_REQUESTS_PER_MINUTE: u32 = 300;

/// Every setting of a deployment, read and validated once from the environment
/// ([`Settings::from_lookup`]). Only `GENESYS_SECRET_ID` is required.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Secrets Manager id/ARN of `{"clientId", "clientSecret", "environment"}`.
    pub(crate) genesys_secret_id: String,
    pub(crate) genesys: GenesysConfig,
    /// Genesys org id → Secrets Manager id of that org's OAuth client. Empty: every event uses
    /// `GENESYS_SECRET_ID`; otherwise an event from an org not listed is `unknown_org`.
    pub(crate) org_secrets: BTreeMap<Uuid, String>,
    pub(crate) secret_cache_ttl: Duration,
    /// What the handler itself needs: dry run, the attention queue, webhooks and batches.
    pub(crate) handler: HandlerConfig,
    /// The buffer queue of buffered mode (EventBridge → SQS → the function), if any.
    pub(crate) buffer_queue_url: Option<String>,
    /// The optional New Relic custom-event sink.
    pub(crate) new_relic: Option<NewRelicConfig>,
    /// Where the wrap-up rules for Genesys events come from.
    pub(crate) rules: RulesSetting,
    /// How long rules read from Parameter Store are cached.
    pub(crate) rules_cache_ttl: Duration,
    /// `KMS_KEY_ARN`: the customer managed key of the secrets and queues, whose policy `doctor`
    /// checks.
    pub(crate) kms_key_arn: Option<String>,
    /// `WRAPUP_LOCK_TABLE`: the DynamoDB table of per-conversation leases (a name or ARN).
    /// Unset: no lease, delivery is at least once.
    pub(crate) lock_table: Option<String>,
    /// `WRAPUP_IDEMPOTENCY_TTL`: how long the lease table remembers a decided request.
    pub(crate) idempotency_ttl: Duration,
    /// `WRAPUP_TLS_ROOTS`: the certificates every outbound HTTPS connection is verified against.
    pub(crate) tls_roots: TlsRoots,
    /// `WRAPUP_INIT_PREFETCH_SECONDS`: how long Lambda's INIT may spend fetching the credentials
    /// the first event needs (Genesys secrets and tokens, the webhook key, New Relic's key);
    /// zero: none are fetched before an event asks.
    pub(crate) init_prefetch: Duration,
}

/// Where the certificates every outbound HTTPS connection (Genesys, New Relic, AWS) is verified
/// against come from: `WRAPUP_TLS_ROOTS`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum TlsRoots {
    /// `builtin` (the default): Mozilla's root certificates, compiled into the binary. No file
    /// is read.
    #[default]
    Builtin,
    /// `system`: the operating system's CA bundle, one PEM file: `SSL_CERT_FILE` when set, else
    /// the first of the distributions' usual bundles that exists. For a TLS-inspecting proxy
    /// whose CA is installed there.
    System(std::path::PathBuf),
}

/// Where distributions keep their CA bundle, one PEM file each (a hashed certificate directory
/// is never read): Amazon Linux (Lambda's `provided.al2023`), RHEL and Fedora; Debian, Ubuntu and
/// Alpine; openSUSE; macOS and the BSDs.
const CA_BUNDLES: [&str; 5] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

impl TlsRoots {
    /// The roots setting alone (commands that need no other setting read it so).
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match get("WRAPUP_TLS_ROOTS").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("builtin") => Ok(Self::Builtin),
            Some("system") => match get("SSL_CERT_FILE") {
                Some(file) if std::path::Path::new(&file).is_file() => {
                    Ok(Self::System(file.into()))
                }
                Some(file) => Err(ConfigError::new(
                    "SSL_CERT_FILE",
                    format!("names {file:?}, which is not a file (WRAPUP_TLS_ROOTS=system reads the CA bundle there)"),
                )),
                None => CA_BUNDLES
                    .iter()
                    .map(std::path::Path::new)
                    .find(|path| path.is_file())
                    .map(|path| Self::System(path.to_owned()))
                    .ok_or_else(|| {
                        ConfigError::new(
                            "WRAPUP_TLS_ROOTS",
                            format!(
                                "is system, but no CA bundle was found (looked for {}): set SSL_CERT_FILE to the bundle",
                                CA_BUNDLES.join(", ")
                            ),
                        )
                    }),
            },
            Some(other) => Err(ConfigError::new(
                "WRAPUP_TLS_ROOTS",
                format!("must be builtin (Mozilla's roots, compiled in) or system (the OS CA bundle), got {other:?}"),
            )),
        }
    }
}

/// What the handler needs around the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct HandlerConfig {
    /// `WRAPUP_DRY_RUN=true`: every read and check happens, no write is sent.
    pub(crate) dry_run: bool,
    /// Receives every permanent rejection, with the reason as a message attribute.
    pub(crate) attention_queue_url: Option<String>,
    pub(crate) webhook: WebhookConfig,
    pub(crate) batch: BatchConfig,
    /// `WRAPUP_PREDICTION_WAIT`: how long a Copilot summary that is not ready is waited for,
    /// from the event's own time.
    pub(crate) prediction_wait: Duration,
}

/// What the Genesys client needs: where Genesys is, how long a call may take, what to cache.
#[derive(Debug, Clone)]
pub(crate) struct GenesysConfig {
    /// Used when the secret has no `environment`, e.g. `mypurecloud.ie`.
    pub(crate) environment: Option<String>,
    pub(crate) api_base_url: Option<Url>,
    pub(crate) login_base_url: Option<Url>,
    /// Budget of one HTTP call (connect + response), well under the function timeout.
    pub(crate) call_timeout: Duration,
    pub(crate) code_cache_ttl: Duration,
    /// This instance's share of the OAuth client's budget (300/min across instances).
    pub(crate) rate_limit_per_minute: u32,
}

/// The signed webhook.
#[derive(Debug, Clone)]
pub(crate) struct WebhookConfig {
    /// Without it every webhook request is refused (fail closed).
    pub(crate) secret_id: Option<String>,
    /// `WEBHOOK_MODE=enqueue`: verify, check the shape, send to this buffer queue, answer 202.
    pub(crate) enqueue_to: Option<String>,
}

/// SQS batches.
#[derive(Debug, Clone)]
pub(crate) struct BatchConfig {
    /// Messages of one batch in flight at once; `None` = the whole batch.
    pub(crate) concurrency: Option<usize>,
    /// Longest visibility timeout a failed message is given (the backoff cap).
    pub(crate) max_backoff: Duration,
    /// The buffer queue's `maxReceiveCount` (`SQS_MAX_RECEIVE_COUNT`): a message failing its
    /// last receive is counted as moved to the attention queue.
    pub(crate) max_receive_count: Option<u32>,
    /// Time an unstarted message needs before the deadline (a read and a write, the lease's put
    /// when there is a table, and a reserve); with less left it is handed back unstarted.
    pub(crate) time_to_start: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum RulesSetting {
    /// No rules: every Genesys event is `skipped` (`no_rule`).
    #[default]
    None,
    /// `WRAPUP_RULES`: the JSON itself (small sets; Lambda's environment holds 4 KB).
    Inline(String),
    /// `WRAPUP_RULES_FILE`: a JSON file (local runs, the sandbox, rules shipped in the package).
    File(std::path::PathBuf),
    /// `WRAPUP_RULES_PARAMETER`: an SSM Parameter Store parameter name or ARN (deployments).
    Parameter(String),
}

impl RulesSetting {
    /// The rules setting alone (`rules check` reads it without the rest of the configuration).
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match (
            get("WRAPUP_RULES"),
            get("WRAPUP_RULES_FILE"),
            get("WRAPUP_RULES_PARAMETER"),
        ) {
            (None, None, None) => Ok(Self::None),
            (Some(json), None, None) => Ok(Self::Inline(json)),
            (None, Some(path), None) => Ok(Self::File(path.into())),
            (None, None, Some(name)) => Ok(Self::Parameter(name)),
            _ => Err(ConfigError::new(
                "WRAPUP_RULES",
                "set only one of WRAPUP_RULES, WRAPUP_RULES_FILE and WRAPUP_RULES_PARAMETER",
            )),
        }
    }
}

/// Where the New Relic license key comes from: preferably Secrets Manager.
#[derive(Debug, Clone)]
pub(crate) enum LicenseKey {
    SecretId(String),
    Inline(secrecy::SecretString),
}

#[derive(Debug, Clone)]
pub(crate) struct NewRelicConfig {
    pub(crate) account_id: String,
    pub(crate) license_key: LicenseKey,
    /// `NEW_RELIC_EVENTS_URL`, else chosen from the region.
    pub(crate) events_url: Option<Url>,
    /// `NEW_RELIC_REGION=EU`; without it, an `eu01x` key prefix also means EU.
    pub(crate) eu: bool,
    /// Total time delivery may add to an invocation, retries included.
    pub(crate) budget: Duration,
}

impl Settings {
    /// Reads settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`: the environment, or the sandbox's and tests' own map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let genesys_secret_id = get("GENESYS_SECRET_ID")
            .ok_or_else(|| ConfigError::new("GENESYS_SECRET_ID", "is required and not set"))?;
        let base_url = |name: &'static str| -> Result<Option<Url>, ConfigError> {
            get(name)
                .map(|v| parse_base_url(&v).map_err(|p| ConfigError::new(name, p)))
                .transpose()
        };
        let sqs_concurrency = number(&get, "SQS_MAX_CONCURRENCY", 1, 1, 1_000)?;
        let genesys = GenesysConfig {
            environment: get("GENESYS_ENVIRONMENT")
                .map(|env| {
                    validate_environment(&env)
                        .map_err(|problem| ConfigError::new("GENESYS_ENVIRONMENT", problem))
                })
                .transpose()?,
            api_base_url: base_url("GENESYS_API_BASE_URL")?,
            login_base_url: base_url("GENESYS_LOGIN_BASE_URL")?,
            call_timeout: seconds(&get, "GENESYS_CALL_TIMEOUT_SECONDS", 5, 1, 20)?,
            code_cache_ttl: seconds(&get, "WRAPUP_CODE_CACHE_TTL_SECONDS", 600, 0, 86_400)?,
            rate_limit_per_minute: number(
                &get,
                "GENESYS_RATE_LIMIT_PER_MINUTE",
                (GENESYS_REQUESTS_PER_MINUTE / sqs_concurrency).max(1),
                1,
                100_000,
            )?,
        };

        let buffer_queue_url = base_url("BUFFER_QUEUE_URL")?.map(String::from);
        let enqueue = match get("WEBHOOK_MODE")
            .map(|m| m.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("apply") => false,
            Some("enqueue") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "WEBHOOK_MODE",
                    format!("must be apply or enqueue, got {other:?}"),
                ))
            }
        };
        let webhook = WebhookConfig {
            secret_id: get("WEBHOOK_SECRET_ID"),
            enqueue_to: match (enqueue, &buffer_queue_url) {
                (false, _) => None,
                (true, Some(url)) => Some(url.clone()),
                (true, None) => {
                    return Err(ConfigError::new(
                        "BUFFER_QUEUE_URL",
                        "is required when WEBHOOK_MODE=enqueue",
                    ))
                }
            },
        };
        let batch = BatchConfig {
            concurrency: get("BATCH_CONCURRENCY")
                .map(|_| number(&get, "BATCH_CONCURRENCY", 1, 1, 10_000).map(|n| n as usize))
                .transpose()?,
            max_backoff: seconds(&get, "SQS_MAX_BACKOFF_SECONDS", 900, 1, 43_200)?,
            max_receive_count: get("SQS_MAX_RECEIVE_COUNT")
                .map(|_| number(&get, "SQS_MAX_RECEIVE_COUNT", 1, 1, 1_000))
                .transpose()?,
            // A read and a write, with a second's reserve; with the lease table, its put too.
            time_to_start: genesys.call_timeout * 2
                + Duration::from_secs(1)
                + get("WRAPUP_LOCK_TABLE").map_or(Duration::ZERO, |_| LEASE_CALL_TIMEOUT),
        };

        let org_secrets = match get("GENESYS_ORG_SECRETS") {
            None => BTreeMap::new(),
            Some(raw) => {
                parse_org_secrets(&raw).map_err(|p| ConfigError::new("GENESYS_ORG_SECRETS", p))?
            }
        };
        let rules = RulesSetting::from_lookup(&lookup)?;

        Ok(Self {
            genesys_secret_id,
            genesys,
            org_secrets,
            secret_cache_ttl: seconds(&get, "SECRET_CACHE_TTL_SECONDS", 300, 0, 86_400)?,
            handler: HandlerConfig {
                dry_run: flag(&get, "WRAPUP_DRY_RUN")?,
                attention_queue_url: base_url("ATTENTION_QUEUE_URL")?.map(String::from),
                webhook,
                batch,
                prediction_wait: match get("WRAPUP_PREDICTION_WAIT") {
                    None => DEFAULT_PREDICTION_WAIT,
                    Some(raw) => parse_duration(&raw, Duration::ZERO, MAX_PREDICTION_WAIT)
                        .map_err(|p| ConfigError::new("WRAPUP_PREDICTION_WAIT", p))?,
                },
            },
            buffer_queue_url,
            new_relic: new_relic_config(&get)?,
            rules,
            rules_cache_ttl: seconds(&get, "WRAPUP_RULES_CACHE_TTL_SECONDS", 300, 0, 86_400)?,
            kms_key_arn: get("KMS_KEY_ARN"),
            lock_table: get("WRAPUP_LOCK_TABLE")
                .map(|t| validate_table(&t).map(|()| t))
                .transpose()
                .map_err(|p| ConfigError::new("WRAPUP_LOCK_TABLE", p))?,
            idempotency_ttl: match get("WRAPUP_IDEMPOTENCY_TTL") {
                None => DEFAULT_IDEMPOTENCY_TTL,
                Some(raw) => parse_duration(&raw, MIN_IDEMPOTENCY_TTL, MAX_IDEMPOTENCY_TTL)
                    .map_err(|p| ConfigError::new("WRAPUP_IDEMPOTENCY_TTL", p))?,
            },
            tls_roots: TlsRoots::from_lookup(&lookup)?,
            // Lambda gives INIT 10 s in all: the rest of start-up takes milliseconds.
            init_prefetch: seconds(&get, "WRAPUP_INIT_PREFETCH_SECONDS", 3, 0, 8)?,
        })
    }
}

/// How long a decided request is remembered unless `WRAPUP_IDEMPOTENCY_TTL` says otherwise.
pub(crate) const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);
/// All attempts of one call to the lease table (the SDK retries throttling and 5xx with
/// backoff): a request that starts must have this much time for taking the lease.
pub(crate) const LEASE_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a Copilot summary that is not ready is waited for unless `WRAPUP_PREDICTION_WAIT`
/// says otherwise: Genesys writes it seconds after the agent's part ends.
const DEFAULT_PREDICTION_WAIT: Duration = Duration::from_secs(120);
/// The longest: a summary that is not there after an hour will not come.
const MAX_PREDICTION_WAIT: Duration = Duration::from_secs(3_600);

/// The shortest a request may be remembered: longer than any lease and the minutes a
/// redelivery takes to come back.
const MIN_IDEMPOTENCY_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest: beyond a week, a redelivery is no redelivery (EventBridge gives up after 24
/// hours, Genesys after four days, an SQS queue keeps messages 14 days at most).
const MAX_IDEMPOTENCY_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

fn new_relic_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<NewRelicConfig>, ConfigError> {
    let Some(account_id) = get("NEW_RELIC_ACCOUNT_ID") else {
        return Ok(None);
    };
    if !account_id.chars().all(|c| c.is_ascii_digit()) || account_id.len() > 20 {
        return Err(ConfigError::new(
            "NEW_RELIC_ACCOUNT_ID",
            "must be the numeric account id",
        ));
    }
    let license_key = match (
        get("NEW_RELIC_LICENSE_KEY_SECRET_ID"),
        get("NEW_RELIC_LICENSE_KEY"),
    ) {
        (Some(id), _) => LicenseKey::SecretId(id),
        (None, Some(key)) => LicenseKey::Inline(secrecy::SecretString::from(key)),
        (None, None) => {
            return Err(ConfigError::new(
                "NEW_RELIC_LICENSE_KEY_SECRET_ID",
                "(or NEW_RELIC_LICENSE_KEY) is required when NEW_RELIC_ACCOUNT_ID is set",
            ))
        }
    };
    let events_url = get("NEW_RELIC_EVENTS_URL")
        .map(|v| parse_base_url(&v).map_err(|p| ConfigError::new("NEW_RELIC_EVENTS_URL", p)))
        .transpose()?;
    let eu = match get("NEW_RELIC_REGION")
        .map(|r| r.to_ascii_uppercase())
        .as_deref()
    {
        None | Some("US") => false,
        Some("EU") => true,
        Some(other) => {
            return Err(ConfigError::new(
                "NEW_RELIC_REGION",
                format!("must be US or EU, got {other:?}"),
            ))
        }
    };
    Ok(Some(NewRelicConfig {
        account_id,
        license_key,
        events_url,
        eu,
        // New Relic must never noticeably delay an outcome.
        budget: Duration::from_secs(2),
    }))
}

/// `true` or `false` (any case); absent is `false`.
fn flag(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    match get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ConfigError::new(
            name,
            format!("must be true or false, got {other:?}"),
        )),
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("must be a whole number from {min} to {max}, got {raw:?}"),
            )),
        },
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default_seconds: u64,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    match get(name) {
        None => Ok(Duration::from_secs(default_seconds)),
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Duration::from_secs(n)),
            _ => Err(ConfigError::new(
                name,
                format!("must be a whole number of seconds from {min} to {max}, got {raw:?}"),
            )),
        },
    }
}

#[cfg(test)]
mod tests;
