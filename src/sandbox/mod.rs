//! The built-in sandbox: the Genesys Cloud emulator with the demo org, plus in-memory secrets
//! and queues, so `invoke --sandbox`, the tests and the benches run the real handler with no
//! configuration at all. Compiled only with the `sandbox` feature: the deployed binary carries
//! none of it (no server stack, no demo credentials).
//!
//! - `emulator.rs`: Genesys Cloud on loopback (stateful, with fault injection and the
//!   unfriendly variants a real org shows); `demo.rs`: the demo org it serves;
//! - `newrelic.rs`: New Relic's Event API on loopback;
//! - `memory.rs`: in-memory Secrets Manager, SQS and Parameter Store;
//! - `runtime_api.rs` and `lambda_api.rs`: Lambda's Runtime API and Invoke API on loopback;
//! - `loopback.rs`: the HTTP server each of them runs on;
//! - `clock.rs`: a manual clock, so nothing waits for time to pass.

mod clock;
pub mod demo;
pub mod emulator;
pub mod lambda_api;
mod loopback;
mod memory;
pub mod newrelic;
pub mod runtime_api;

pub use clock::ManualClock;
pub use loopback::{read_body, serve_loopback, LoopbackServer, Reply};
pub use memory::{MemoryParameters, MemoryQueues, MemorySecretStore, QueueCall, SecretsFailure};

use crate::app::{App, Dependencies, StartupError};
use crate::clock::Clock;
use crate::config::Settings;
use crate::rules::Rules;
use crate::triggers::signature;
use demo::{GENESYS_SECRET_ID, WEBHOOK_SECRET_ID};
use emulator::Emulator;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The rules `invoke --sandbox` uses unless `WRAPUP_RULES_FILE` says otherwise: the `events/`
/// samples of Genesys events rely on them.
const SANDBOX_RULES: &str = include_str!("../../rules/sandbox.json");

/// The sandbox: the Genesys Cloud emulator with the demo org, and in-memory secrets and queues.
pub struct Sandbox {
    /// The Genesys Cloud emulator.
    pub emulator: Emulator,
    /// Secrets Manager, in memory (the demo org's client and the webhook key).
    pub secrets: Arc<MemorySecretStore>,
    /// SQS, in memory.
    pub queues: Arc<MemoryQueues>,
}

impl Sandbox {
    /// Starts the emulator and fills the secrets.
    pub async fn start() -> std::io::Result<Self> {
        let emulator = Emulator::start(demo::org()).await?;
        let secrets = Arc::new(MemorySecretStore::default());
        secrets.put(
            GENESYS_SECRET_ID,
            json!({"clientId": demo::CLIENT_ID, "clientSecret": demo::CLIENT_SECRET, "environment": "sandbox.invalid"})
                .to_string(),
        );
        secrets.put(
            WEBHOOK_SECRET_ID,
            json!({"signingKey": demo::SIGNING_KEY}).to_string(),
        );
        Ok(Self {
            emulator,
            secrets,
            queues: Arc::new(MemoryQueues::default()),
        })
    }

    /// The environment of a deployment pointed at this sandbox, with `overrides` on top (an
    /// empty value unsets a variable). Setting any `WRAPUP_RULES*` replaces the sandbox's rules.
    pub fn env(&self, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
        let base = self.emulator.base_url().to_string();
        let mut env: BTreeMap<String, String> = [
            ("GENESYS_SECRET_ID", GENESYS_SECRET_ID),
            ("WEBHOOK_SECRET_ID", WEBHOOK_SECRET_ID),
            ("GENESYS_API_BASE_URL", base.as_str()),
            ("GENESYS_LOGIN_BASE_URL", base.as_str()),
            ("WRAPUP_RULES", SANDBOX_RULES),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if overrides.iter().any(|(k, _)| k.starts_with("WRAPUP_RULES")) {
            env.remove("WRAPUP_RULES");
        }
        for (k, v) in overrides {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        env
    }

    /// The real app, configured by [`Sandbox::env`], on in-memory secrets and queues; with
    /// `AWS_ENDPOINT_URL_SQS` among the overrides, on the SQS there (moto's server in the tests),
    /// as the deployed function would be.
    pub async fn app(
        &self,
        overrides: &[(&str, &str)],
        clock: Arc<dyn Clock>,
    ) -> Result<App, StartupError> {
        let env = self.env(overrides);
        let settings = Settings::from_lookup(|k| env.get(k).cloned())?;
        let rules = Rules::load(
            &settings.rules,
            None,
            clock.clone(),
            settings.rules_cache_ttl,
        )
        .await;
        let queues: Arc<dyn crate::queues::Queues> = match env.get("AWS_ENDPOINT_URL_SQS") {
            Some(endpoint) => Arc::new(crate::queues::SqsQueues::new(&sqs_config(endpoint))),
            None => self.queues.clone(),
        };
        let deps = Dependencies {
            secrets: self.secrets.clone(),
            queues,
            clock,
            dynamodb: Some(dynamodb_client(
                env.get("AWS_ENDPOINT_URL_DYNAMODB").map(String::as_str),
            )),
        };
        App::new(settings, deps, rules)
    }
}

/// A DynamoDB client for the sandbox's app: `endpoint` (moto's server in the tests) with test
/// credentials, tuned as the deployed one, in `us-east-1` (moto keeps tables per region; the
/// tests run the binary with that region too).
pub fn dynamodb_client(endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "sandbox", "sandbox", None, None, "sandbox",
        ))
        .http_client(aws_http_client());
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(crate::lease::tuned(builder).build())
}

/// The SDK configuration of the sandbox app's SQS at `endpoint`, with test credentials, in
/// `us-east-1`.
fn sqs_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new("sandbox", "sandbox", None, None, "sandbox"),
        ))
        .http_client(aws_http_client())
        .endpoint_url(endpoint)
        .build()
}

/// Creates a lease table as the template does (partition key `pk`, a string; on demand; with
/// `ttl`, time to live on `expiresAt`) on the DynamoDB at `endpoint`, under a fresh name.
pub async fn create_lock_table(endpoint: &str, ttl: bool) -> Result<String, String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let name = format!("wrapup-leases-{}", uuid::Uuid::new_v4().simple());
    let db = dynamodb_client(Some(endpoint));
    db.create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(built(
            AttributeDefinition::builder()
                .attribute_name(crate::lease::KEY)
                .attribute_type(ScalarAttributeType::S)
                .build(),
        )?)
        .key_schema(built(
            KeySchemaElement::builder()
                .attribute_name(crate::lease::KEY)
                .key_type(KeyType::Hash)
                .build(),
        )?)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    if ttl {
        db.update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(built(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(crate::lease::EXPIRES_AT)
                    .build(),
            )?)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
    }
    Ok(name)
}

fn built<T>(b: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, String> {
    b.map_err(|e| e.to_string())
}

/// The HTTP client the function builds (with the builtin roots), for a bench's floor that must
/// pay what the function pays.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, StartupError> {
    Ok(crate::http::client(
        timeout,
        &crate::config::TlsRoots::Builtin,
    )?)
}

/// The AWS SDK's HTTP client as the function has it (every call through its reqwest client,
/// with the builtin roots), for the SDK clients tests and benches make themselves: the SDK is
/// built without an HTTP client of its own.
pub fn aws_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    // The builtin roots and reqwest's defaults cannot fail to build.
    let http = crate::http::client(
        std::time::Duration::from_secs(10),
        &crate::config::TlsRoots::Builtin,
    )
    .unwrap_or_else(|_| reqwest::Client::new());
    crate::http::SdkHttp::shared(http)
}

/// Signs an HTTP sample again with the sandbox key at `now`, so samples never go stale. Only
/// events that already carry a signature header are re-signed: an unsigned sample stays unsigned.
pub fn resign_sample(event: &mut Value, now: i64) {
    let signed = event
        .get("headers")
        .and_then(Value::as_object)
        .is_some_and(|h| {
            h.keys()
                .any(|k| k.eq_ignore_ascii_case(signature::SIGNATURE_HEADER))
        });
    if signed {
        signature::resign_event(event, demo::SIGNING_KEY.as_bytes(), now);
    }
}

/// Secrets Manager's `GetSecretValue` on loopback, answering from `secrets` (awsJson1.1, as the
/// AWS SDK speaks it): the deployed code path, `AWS_ENDPOINT_URL_SECRETS_MANAGER` and all, with
/// the sandbox's secrets. Each request is a counted read; [`MemorySecretStore::fail_with`]
/// makes it answer with Secrets Manager's error instead.
pub async fn secrets_manager(secrets: Arc<MemorySecretStore>) -> std::io::Result<LoopbackServer> {
    serve_loopback(move |req| {
        let secrets = secrets.clone();
        async move {
            let body: Value = serde_json::from_slice(&read_body(req).await).unwrap_or(Value::Null);
            let id = body["SecretId"].as_str().unwrap_or_default().to_owned();
            let (status, answer) = match secrets.read(&id) {
                Ok(Some(value)) => (200, json!({
                    "ARN": format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:{id}-AbCdEf"),
                    "Name": id, "SecretString": value, "VersionId": "v1", "VersionStages": ["AWSCURRENT"]
                })),
                Ok(None) => (400, json!({
                    "__type": "ResourceNotFoundException",
                    "message": "Secrets Manager can't find the specified secret."
                })),
                Err(failure) => (failure.status, json!({
                    "__type": failure.error_type, "message": "injected"
                })),
            };
            let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
                answer.to_string(),
            )));
            *response.status_mut() = hyper::StatusCode::from_u16(status)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            Ok(response)
        }
    })
    .await
}
