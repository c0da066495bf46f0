//! New Relic custom events (`eventType: GenesysWrapUp`), one gzip POST per invocation to the
//! Event API. Delivery never changes an outcome: it has a total budget (2 s by default,
//! retries included) and follows New Relic's telemetry-SDK rules: 429 → wait `Retry-After` if
//! it fits, 413 → split, other 4xx → drop and log once, 5xx/timeouts → one retry if time allows.

use crate::clock::Clock;
use crate::config::{LicenseKey, NewRelicConfig};
use crate::error::Transient;
use crate::secrets::SecretCache;
use crate::triggers::Trigger;
use crate::wrapup::{Kind, Outcome};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub(crate) const EVENT_TYPE: &str = "GenesysWrapUp";
/// What an `observe` rule records: Copilot's prediction beside the agent's code.
pub(crate) const PREDICTION_EVENT_TYPE: &str = "WrapUpPrediction";
/// What `doctor --send-test-event` posts, so a test never counts as an outcome.
pub(crate) const DOCTOR_EVENT_TYPE: &str = "GenesysWrapUpDoctor";

/// New Relic accepts 1 MB per POST; chunks stay under this before compression.
pub(crate) const MAX_CHUNK_BYTES: usize = 900_000;
pub(crate) const MAX_VALUE_CHARS: usize = 4_096;
const US_COLLECTOR: &str = "https://insights-collector.newrelic.com";
const EU_COLLECTOR: &str = "https://insights-collector.eu01.nr-data.net";

pub(crate) type Event = Map<String, Value>;

/// What an event knows besides the outcome.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventContext<'a> {
    pub(crate) trigger: Trigger,
    pub(crate) kind: Kind,
    pub(crate) request_id: &'a str,
    pub(crate) attempt: u32,
    pub(crate) duration: Duration,
    pub(crate) dry_run: bool,
}

fn put(event: &mut Event, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        event.insert(
            key.to_owned(),
            Value::String(v.chars().take(MAX_VALUE_CHARS).collect()),
        );
    }
}

fn base(ctx: EventContext<'_>) -> Event {
    let mut e = Event::new();
    e.insert("eventType".into(), Value::String(EVENT_TYPE.into()));
    put(&mut e, "trigger", Some(ctx.trigger.as_str()));
    put(&mut e, "request", Some(ctx.kind.as_str()));
    put(&mut e, "awsRequestId", Some(ctx.request_id));
    e.insert("attempt".into(), Value::from(ctx.attempt));
    // New Relic takes only strings and numbers: 1 for a dry run, 0 for a real one.
    e.insert("dryRun".into(), Value::from(u8::from(ctx.dry_run)));
    e.insert(
        "durationMs".into(),
        Value::from(ctx.duration.as_secs_f64() * 1_000.0),
    );
    e
}

pub(crate) fn outcome_event(outcome: &Outcome, ctx: EventContext<'_>) -> Event {
    let mut e = base(ctx);
    let d = &outcome.details;
    put(&mut e, "status", Some(outcome.status.as_str()));
    put(&mut e, "reason", outcome.reason.map(|r| r.as_str()));
    put(&mut e, "message", outcome.message.as_deref());
    put(&mut e, "conversationId", outcome.conversation_id.as_deref());
    put(&mut e, "participantId", outcome.participant_id.as_deref());
    put(
        &mut e,
        "communicationId",
        outcome.communication_id.as_deref(),
    );
    put(&mut e, "mediaType", d.media);
    put(&mut e, "wrapUpCodeId", outcome.wrap_up_code_id.as_deref());
    put(
        &mut e,
        "wrapUpCodeName",
        outcome.wrap_up_code_name.as_deref(),
    );
    put(
        &mut e,
        "currentWrapUpCode",
        outcome.current_wrap_up_code.as_deref(),
    );
    put(
        &mut e,
        "currentWrapUpCodeName",
        outcome.current_wrap_up_code_name.as_deref(),
    );
    put(&mut e, "divisionId", d.division_id.as_deref());
    put(&mut e, "queueId", d.queue_id.as_deref());
    put(&mut e, "userId", d.user_id.as_deref());
    put(&mut e, "genesysCorrelationId", d.correlation_id.as_deref());
    put(&mut e, "rule", outcome.rule.as_deref());
    if let Some(confidence) = outcome.predicted_confidence {
        e.insert("predictedConfidence".into(), Value::from(confidence));
    }
    if outcome.remembered {
        e.insert("remembered".into(), Value::from(1));
    }
    e
}

/// The `WrapUpPrediction` event an `observe` rule records for one agent communication: the
/// agent's code beside Copilot's most confident prediction (New Relic takes strings and
/// numbers only: `agreed` and `timedOut` are 1 or 0, so `average(agreed)` is the agreement
/// rate).
pub(crate) fn prediction_event(outcome: &Outcome, ctx: EventContext<'_>) -> Option<Event> {
    let o = outcome.details.observation.as_deref()?;
    let mut e = Event::new();
    e.insert(
        "eventType".into(),
        Value::String(PREDICTION_EVENT_TYPE.into()),
    );
    put(&mut e, "conversationId", outcome.conversation_id.as_deref());
    put(&mut e, "participantId", Some(&o.participant_id));
    put(&mut e, "queueId", o.queue_id.as_deref());
    put(&mut e, "agentCode", o.agent_code.as_deref());
    put(&mut e, "agentCodeName", o.agent_code_name.as_deref());
    put(&mut e, "predictedCode", o.predicted_code.as_deref());
    put(
        &mut e,
        "predictedCodeName",
        o.predicted_code_name.as_deref(),
    );
    if let Some(confidence) = o.confidence {
        e.insert("confidence".into(), Value::from(confidence));
    }
    e.insert("agreed".into(), Value::from(u8::from(o.agreed)));
    if let Some(rank) = o.rank {
        e.insert("rank".into(), Value::from(rank));
    }
    e.insert("timedOut".into(), Value::from(u8::from(o.timed_out)));
    put(&mut e, "rule", outcome.rule.as_deref());
    put(&mut e, "awsRequestId", Some(ctx.request_id));
    e.insert("dryRun".into(), Value::from(u8::from(ctx.dry_run)));
    Some(e)
}

pub(crate) fn transient_event(
    t: &Transient,
    conversation_id: Option<uuid::Uuid>,
    code_id: Option<uuid::Uuid>,
    ctx: EventContext<'_>,
) -> Event {
    let mut e = base(ctx);
    let text = |id: Option<uuid::Uuid>| id.map(|id| id.hyphenated().to_string());
    put(&mut e, "status", Some("transient_failure"));
    put(&mut e, "reason", Some(t.kind.as_str()));
    put(&mut e, "message", Some(&t.message));
    put(&mut e, "conversationId", text(conversation_id).as_deref());
    put(&mut e, "wrapUpCodeId", text(code_id).as_deref());
    put(&mut e, "genesysCorrelationId", t.correlation_id.as_deref());
    put(
        &mut e,
        "currentWrapUpCode",
        t.current_wrap_up_code.as_deref(),
    );
    e
}

pub(crate) struct NewRelicSink {
    http: reqwest::Client,
    settings: NewRelicConfig,
    secrets: Arc<SecretCache>,
    clock: Arc<dyn Clock>,
    warned: AtomicBool,
}

enum Delivery {
    Sent,
    TooLarge,
    Dropped(String),
}

impl NewRelicSink {
    pub(crate) fn new(
        http: reqwest::Client,
        settings: NewRelicConfig,
        secrets: Arc<SecretCache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            settings,
            secrets,
            clock,
            warned: AtomicBool::new(false),
        }
    }

    /// Sends `events`; returns within the budget whatever New Relic does.
    pub(crate) async fn deliver(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let until = self.clock.now() + self.settings.budget;
        if tokio::time::timeout(self.settings.budget, self.deliver_until(events, until))
            .await
            .is_err()
        {
            self.warn_once("New Relic delivery ran out of its time budget; events dropped");
        }
    }

    /// For `doctor`: the license key is readable, and where events go.
    pub(crate) async fn describe(&self) -> Result<String, String> {
        let key = self.license_key().await?;
        if key.expose_secret().trim().is_empty() {
            return Err("the license key is empty".into());
        }
        let url = self
            .events_url(&key)
            .ok_or("no New Relic events URL could be formed")?;
        Ok(format!(
            "license key present; events go to {} (account {})",
            url.host_str().unwrap_or("?"),
            self.settings.account_id
        ))
    }

    /// For `doctor --send-test-event`: one `GenesysWrapUpDoctor` event, and what New Relic said.
    pub(crate) async fn send_test_event(&self, attributes: Event) -> Result<(), String> {
        let key = self.license_key().await?;
        let url = self
            .events_url(&key)
            .ok_or("no New Relic events URL could be formed")?;
        let mut event = attributes;
        event.insert("eventType".into(), Value::String(DOCTOR_EVENT_TYPE.into()));
        let until = self.clock.now() + self.settings.budget;
        match self.post(&url, &key, &[event], until).await {
            Delivery::Sent => Ok(()),
            Delivery::TooLarge => Err("New Relic refused the event as too large".into()),
            Delivery::Dropped(why) => Err(why),
        }
    }

    async fn deliver_until(&self, events: Vec<Event>, until: SystemTime) {
        let key = match self.license_key().await {
            Ok(k) => k,
            Err(e) => return self.warn_once(&format!("New Relic license key unavailable: {e}")),
        };
        let Some(url) = self.events_url(&key) else {
            return self.warn_once("no New Relic events URL could be formed");
        };
        let mut queue: VecDeque<Vec<Event>> = chunks(events).into();
        while let Some(chunk) = queue.pop_front() {
            match self.post(&url, &key, &chunk, until).await {
                Delivery::Sent => {}
                Delivery::TooLarge if chunk.len() > 1 => {
                    let mut first = chunk;
                    let second = first.split_off(first.len() / 2);
                    queue.push_front(second);
                    queue.push_front(first);
                }
                Delivery::TooLarge => {
                    self.warn_once("New Relic refused an event as too large; dropped")
                }
                Delivery::Dropped(why) => self.warn_once(&why),
            }
        }
    }

    fn remaining(&self, until: SystemTime) -> Duration {
        until
            .duration_since(self.clock.now())
            .unwrap_or(Duration::ZERO)
    }

    async fn post(
        &self,
        url: &reqwest::Url,
        key: &SecretString,
        chunk: &[Event],
        until: SystemTime,
    ) -> Delivery {
        let body = match gzip_json(chunk) {
            Ok(b) => b,
            Err(e) => return Delivery::Dropped(format!("could not encode New Relic events: {e}")),
        };
        let mut retried = false;
        loop {
            let left = self.remaining(until);
            if left.is_zero() {
                return Delivery::Dropped("New Relic delivery ran out of its time budget".into());
            }
            let sent = self
                .http
                .post(url.clone())
                .header("Api-Key", key.expose_secret())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .timeout(left)
                .body(body.clone())
                .send()
                .await;
            let (status, retry_after) = match sent {
                Ok(r) => (
                    r.status().as_u16(),
                    crate::http::parse_retry_after(r.headers()),
                ),
                Err(e) => (
                    0,
                    if e.is_timeout() {
                        None
                    } else {
                        Some(Duration::from_millis(100))
                    },
                ),
            };
            let wait = match status {
                200..=299 => return Delivery::Sent,
                413 => return Delivery::TooLarge,
                429 => retry_after.unwrap_or(Duration::from_secs(1)),
                400..=499 => return Delivery::Dropped(format!("New Relic answered {status}; events dropped (check the account id and license key)")),
                _ => retry_after.unwrap_or(Duration::from_millis(100)),
            };
            if retried || wait >= self.remaining(until) {
                return Delivery::Dropped(format!(
                    "New Relic unavailable (HTTP {status}); events dropped"
                ));
            }
            retried = true;
            self.clock.sleep(wait).await;
        }
    }

    async fn license_key(&self) -> Result<SecretString, String> {
        match &self.settings.license_key {
            LicenseKey::Inline(key) => Ok(key.clone()),
            LicenseKey::SecretId(id) => {
                let raw = self.secrets.get(id).await.map_err(|e| e.to_string())?;
                Ok(key_from_secret(raw.expose_secret()))
            }
        }
    }

    /// `NEW_RELIC_EVENTS_URL`, else the US or EU collector for the account.
    fn events_url(&self, key: &SecretString) -> Option<reqwest::Url> {
        if let Some(url) = &self.settings.events_url {
            return Some(url.clone());
        }
        let eu = self.settings.eu || key.expose_secret().starts_with("eu01x");
        let base = reqwest::Url::parse(if eu { EU_COLLECTOR } else { US_COLLECTOR }).ok()?;
        Some(crate::http::build_url(
            &base,
            &["v1", "accounts", &self.settings.account_id, "events"],
        ))
    }

    fn warn_once(&self, message: &str) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(sink = "new_relic", "{message}");
        } else {
            tracing::debug!(sink = "new_relic", "{message}");
        }
    }
}

/// A secret holding the key as plain text or as `{"licenseKey": "..."}`.
fn key_from_secret(raw: &str) -> SecretString {
    let from_json = serde_json::from_str::<Value>(raw).ok().and_then(|v| {
        ["licenseKey", "LicenseKey", "license_key", "apiKey", "key"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
    });
    SecretString::from(from_json.unwrap_or_else(|| raw.trim().to_owned()))
}

/// Splits events into chunks whose JSON stays under [`MAX_CHUNK_BYTES`].
fn chunks(events: Vec<Event>) -> Vec<Vec<Event>> {
    let mut out: Vec<Vec<Event>> = Vec::new();
    let mut size = 0;
    for event in events {
        let len = serde_json::to_vec(&event)
            .map(|b| b.len())
            .unwrap_or(MAX_CHUNK_BYTES);
        match out.last_mut() {
            Some(chunk) if size + len < MAX_CHUNK_BYTES => {
                size += len + 1;
                chunk.push(event);
            }
            _ => {
                size = len + 2;
                out.push(vec![event]);
            }
        }
    }
    out
}

fn gzip_json(events: &[Event]) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(events)?;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(&json)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_limit() {
        let big = "x".repeat(4_000);
        let events: Vec<Event> = (0..600)
            .map(|i| {
                let mut e = Event::new();
                e.insert("i".into(), Value::from(i));
                e.insert("v".into(), Value::String(big.clone()));
                e
            })
            .collect();
        let parts = chunks(events);
        assert!(parts.len() >= 3);
        for p in &parts {
            assert!(serde_json::to_vec(p).unwrap().len() <= MAX_CHUNK_BYTES);
        }
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 600);
    }

    #[test]
    fn license_keys_come_as_text_or_json() {
        assert_eq!(key_from_secret(" abc \n").expose_secret(), "abc");
        assert_eq!(
            key_from_secret(r#"{"licenseKey":"def"}"#).expose_secret(),
            "def"
        );
    }
}
