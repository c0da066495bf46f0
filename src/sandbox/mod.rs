//! The built-in sandbox: the Genesys Cloud emulator with the demo org, plus in-memory secrets,
//! so `invoke --sandbox` and the tests run the real handler with no configuration at all.

pub mod demo;
pub mod emulator;
pub mod newrelic;

use crate::app::{App, StartupError};
use crate::clock::Clock;
use crate::config::{RulesSetting, Settings};
use crate::rules_source::{local_rules, Rules};
use crate::wrapup::rules::RuleSet;

/// The rules `invoke --sandbox` uses unless `WRAPUP_RULES_FILE` says otherwise.
pub const SANDBOX_RULES: &str = include_str!("../../rules/sandbox.json");
use crate::queues::MemoryQueues;
use crate::secrets::MemorySecretStore;
use crate::triggers::signature;
use emulator::Emulator;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct Sandbox {
    pub emulator: Emulator,
    pub secrets: Arc<MemorySecretStore>,
    pub queues: Arc<MemoryQueues>,
}

impl Sandbox {
    pub async fn start() -> std::io::Result<Self> {
        let emulator = Emulator::start(demo::org()).await?;
        let secrets = Arc::new(MemorySecretStore::new());
        let settings = Self::base_settings(&emulator);
        secrets.put(
            &settings.genesys_secret_id,
            json!({"clientId": demo::CLIENT_ID, "clientSecret": demo::CLIENT_SECRET, "environment": "sandbox.invalid"})
                .to_string(),
        );
        if let Some(id) = &settings.webhook_secret_id {
            secrets.put(id, json!({"signingKey": demo::SIGNING_KEY}).to_string());
        }
        Ok(Self {
            emulator,
            secrets,
            queues: Arc::new(MemoryQueues::new()),
        })
    }

    fn base_settings(emulator: &Emulator) -> Settings {
        Settings::for_endpoints(emulator.base_url(), emulator.base_url())
    }

    /// Settings pointing at the emulator; tests adjust them before building an [`App`].
    pub fn settings(&self) -> Settings {
        Self::base_settings(&self.emulator)
    }

    pub fn app(&self, clock: Arc<dyn Clock>) -> Result<App, StartupError> {
        self.app_with(self.settings(), clock)
    }

    /// The app on these settings; rules from `settings.rules` (a file, inline JSON), else the
    /// sandbox's own rule set, which the `events/` samples of Genesys events rely on.
    pub fn app_with(&self, settings: Settings, clock: Arc<dyn Clock>) -> Result<App, StartupError> {
        let rules = match (&settings.rules, local_rules(&settings.rules)?) {
            (RulesSetting::Inline(_) | RulesSetting::File(_), Some(rules)) => rules,
            _ => RuleSet::parse(SANDBOX_RULES, "rules/sandbox.json")?,
        };
        Ok(
            App::new(settings, self.secrets.clone(), self.queues.clone(), clock)?
                .with_rules(Rules::fixed(rules)),
        )
    }
}

/// Signs an HTTP sample again with `key` at `now`, so samples never go stale. Only events that
/// already carry a signature header are re-signed: an unsigned sample stays unsigned.
pub fn resign_http_event(event: &mut Value, key: &[u8], now: i64) {
    let Some(headers) = event.get("headers").and_then(Value::as_object) else {
        return;
    };
    let signed = headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case(signature::SIGNATURE_HEADER));
    if !signed {
        return;
    }
    let body = event.get("body").and_then(Value::as_str).unwrap_or("");
    let raw = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let value = signature::sign(key, now, &raw);
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.retain(|k, _| {
            !k.eq_ignore_ascii_case(signature::SIGNATURE_HEADER)
                && !k.eq_ignore_ascii_case(signature::TIMESTAMP_HEADER)
        });
        headers.insert(
            signature::TIMESTAMP_HEADER.to_owned(),
            Value::String(now.to_string()),
        );
        headers.insert(signature::SIGNATURE_HEADER.to_owned(), Value::String(value));
    }
}

/// What a loopback service answers.
pub type Reply = Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::io::Error>;

/// A loopback HTTP server; it stops when dropped.
pub struct LoopbackServer {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `handler` on a fresh loopback port until the returned server is dropped. Returning an
/// error from `handler` closes the connection unanswered (a "connection reset" fault).
pub async fn serve_loopback<F, Fut>(handler: F) -> std::io::Result<LoopbackServer>
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper::service::service_fn(handler),
                    )
                    .await;
            });
        }
    });
    Ok(LoopbackServer { addr, task })
}

/// The whole request body; an unreadable one counts as empty (the handlers then refuse it).
pub async fn read_body(req: hyper::Request<hyper::body::Incoming>) -> bytes::Bytes {
    use http_body_util::BodyExt;
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}
