//! Shared harness: the real handler, the sandbox emulator and a manual clock.

pub(crate) mod moto;

use genesys_wrapup::sandbox::demo;
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::sandbox::ManualClock;
use genesys_wrapup::sandbox::Sandbox;
use genesys_wrapup::signature;
use genesys_wrapup::{handle, App, Clock, Deadline, Invocation, Transient};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Harness {
    pub sandbox: Sandbox,
    pub clock: Arc<ManualClock>,
    pub app: App,
}

impl Harness {
    pub(crate) async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// The sandbox's deployment, with these environment variables on top.
    pub(crate) async fn with_env(env: &[(&str, &str)]) -> Self {
        let sandbox = Sandbox::start().await.expect("sandbox starts");
        let clock = Arc::new(ManualClock::starting_now());
        let app = sandbox.app(env, clock.clone()).await.expect("app builds");
        Self {
            sandbox,
            clock,
            app,
        }
    }

    pub(crate) fn invocation(&self) -> Invocation {
        Invocation::new(
            "test-request",
            Deadline::after(self.clock.as_ref(), Duration::from_secs(30)),
        )
    }

    pub(crate) async fn invoke(&self, event: Value) -> Result<Value, Transient> {
        self.invoke_with(event, &self.invocation()).await
    }

    pub(crate) async fn invoke_with(
        &self,
        event: Value,
        inv: &Invocation,
    ) -> Result<Value, Transient> {
        let reply = handle(&self.app, &event, inv).await?;
        Ok(serde_json::to_value(reply).expect("replies serialise"))
    }

    pub(crate) fn emulator(&self) -> &genesys_wrapup::sandbox::emulator::Emulator {
        &self.sandbox.emulator
    }

    pub(crate) fn count(&self, route: Route) -> usize {
        self.emulator().count(route)
    }

    /// Calls to the Genesys API (not the token endpoint).
    pub(crate) fn api_calls(&self) -> usize {
        self.count(Route::GetConversation)
            + self.count(Route::GetWrapupCode)
            + self.count(Route::PostWrapup)
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// A Function URL event for `body`, signed now with the sandbox key.
    pub(crate) fn webhook(&self, body: &str) -> Value {
        let signed = signature::sign(demo::SIGNING_KEY.as_bytes(), self.now(), body.as_bytes());
        http_event(
            "POST",
            "/",
            body,
            &[
                ("content-type", "application/json"),
                ("x-signature-timestamp", &self.now().to_string()),
                ("x-signature-256", &signed),
            ],
        )
    }
}

pub(crate) fn apply_request(conversation: &str, code: &str) -> Value {
    json!({"conversationId": conversation, "wrapUpCode": {"id": code}})
}

/// An apply request's text, as a webhook, an SQS message or a New Relic test sends it.
pub(crate) fn body(conversation: &str, code: &str) -> String {
    apply_request(conversation, code).to_string()
}

/// An apply request naming its code by name.
pub(crate) fn by_name(conversation: &str, name: &str) -> Value {
    json!({"conversationId": conversation, "wrapUpCode": {"name": name}})
}

/// A custom EventBridge event carrying `detail`. Its `id` follows from the detail: the same
/// request is the same event (a redelivery), another request another event.
pub(crate) fn eventbridge(detail: Value) -> Value {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    detail.to_string().hash(&mut hasher);
    let id = uuid::Uuid::from_u64_pair(hasher.finish(), 0x4000_8000_0000_0000).to_string();
    json!({
        "version": "0", "id": id,
        "detail-type": "Apply Wrap-Up", "source": "com.example.crm",
        "account": "123456789012", "time": "2026-11-25T09:08:00Z", "region": "eu-west-1",
        "resources": [], "detail": detail
    })
}

/// A Function URL (payload 2.0) request.
pub(crate) fn http_event(method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc", "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:09:08:00 +0000", "timeEpoch": 1764061680000u64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "test"}
        },
        "body": body, "isBase64Encoded": false
    })
}

/// Status code, parsed JSON body and `Retry-After` of a webhook response.
pub(crate) fn http_parts(response: &Value) -> (u16, Value, Option<u64>) {
    let status = response["statusCode"].as_u64().expect("statusCode") as u16;
    let body: Value =
        serde_json::from_str(response["body"].as_str().unwrap_or("null")).expect("JSON body");
    let retry_after = response["headers"]["retry-after"]
        .as_str()
        .and_then(|v| v.parse().ok());
    (status, body, retry_after)
}

pub(crate) const BUFFER_QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:wrapup-buffer";
pub(crate) const BUFFER_QUEUE_URL: &str =
    "https://sqs.eu-west-1.amazonaws.com/123456789012/wrapup-buffer";
pub(crate) const ATTENTION_QUEUE_URL: &str =
    "https://sqs.eu-west-1.amazonaws.com/123456789012/wrapup-attention";

/// An SQS batch as Lambda delivers it: `(messageId, body, ApproximateReceiveCount)`.
pub(crate) fn sqs_batch(messages: &[(&str, String, u32)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body, receives)| {
            json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": receives.to_string(), "SentTimestamp": "1764061680000",
                               "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1764061680000"},
                "messageAttributes": {}, "md5OfBody": "0", "eventSource": "aws:sqs",
                "eventSourceARN": BUFFER_QUEUE_ARN, "awsRegion": "eu-west-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The ids in a batch response's `batchItemFailures`.
pub(crate) fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .expect("batchItemFailures")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

/// The sandbox's loopback Secrets Manager answering every read with this error.
pub(crate) async fn secrets_manager_failing(
    error_type: &'static str,
    status: u16,
) -> genesys_wrapup::sandbox::LoopbackServer {
    use genesys_wrapup::sandbox::{secrets_manager, MemorySecretStore, SecretsFailure};
    let store = Arc::new(MemorySecretStore::default());
    store.fail_with(Some(SecretsFailure { error_type, status }));
    secrets_manager(store).await.unwrap()
}

/// Log lines exactly as the function writes them (JSON, every level), captured for the test
/// that asked, on its own thread (`#[tokio::test]`'s runtime runs the handler's tasks there).
///
/// One global subscriber serves the whole test binary and writes only for threads that capture:
/// scoped subscribers (`set_default`) race with callsites registering on other threads, and a
/// callsite cached as disabled would silently drop the lines a test looks for.
pub(crate) struct Capture {
    buffer: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURING: std::cell::RefCell<Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Writes to the current thread's capture, if any.
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(buffer) = c.borrow().as_ref() {
                buffer.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Captures this thread's log lines until dropped.
    pub(crate) fn start() -> Self {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            use tracing_subscriber::layer::SubscriberExt;
            use tracing_subscriber::Layer;
            // Decided per event, never cached per callsite: only capturing threads pay.
            let capturing = tracing_subscriber::filter::DynFilterFn::new(|_, _| {
                CAPTURING.with(|c| c.borrow().is_some())
            })
            .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes());
            let layer = tracing_subscriber::fmt::layer()
                .event_format(genesys_wrapup::JsonLines)
                .with_writer(|| ThreadCapture)
                .with_filter(capturing);
            let _ =
                tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
        });
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        CAPTURING.with(|c| *c.borrow_mut() = Some(buffer.clone()));
        Self { buffer }
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.buffer.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.with(|c| *c.borrow_mut() = None);
    }
}

/// The AWS SDK's variables for loopback services: a region and dummy credentials, and no
/// instance metadata lookups.
pub(crate) const AWS_TEST_ENV: [(&str, &str); 4] = [
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// A deployment on loopback: the sandbox's Genesys emulator, and its secrets served as
/// Secrets Manager, for the real binary (doctor, rules check).
pub(crate) struct Setup {
    pub(crate) sandbox: Sandbox,
    pub(crate) secrets: genesys_wrapup::sandbox::LoopbackServer,
}

pub(crate) async fn setup() -> Setup {
    let sandbox = Sandbox::start().await.unwrap();
    let secrets = genesys_wrapup::sandbox::secrets_manager(sandbox.secrets.clone())
        .await
        .unwrap();
    Setup { sandbox, secrets }
}

impl Setup {
    /// The environment of a deployment on these services, with `extra` on top.
    pub(crate) fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let base = self.sandbox.emulator.base_url().to_string();
        let mut env: Vec<(String, String)> = [
            ("GENESYS_SECRET_ID", demo::GENESYS_SECRET_ID),
            ("WEBHOOK_SECRET_ID", demo::WEBHOOK_SECRET_ID),
            ("GENESYS_API_BASE_URL", &base),
            ("GENESYS_LOGIN_BASE_URL", &base),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                &format!("http://{}", self.secrets.addr),
            ),
        ]
        .iter()
        .chain(AWS_TEST_ENV.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            env.push((k.to_string(), v.to_string()));
        }
        env
    }
}
