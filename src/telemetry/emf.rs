//! CloudWatch metrics in Embedded Metric Format: a few JSON lines per invocation on stderr,
//! which CloudWatch Logs turns into metrics with no API call. Hand-written: the format is a
//! small JSON document, and the crates that emit it bring a metrics framework we would not use.
//!
//! Dimensions stay low-cardinality: the function name, plus the rejection reason or the Genesys
//! endpoint and status code. Ids never become dimensions. The invocation's counts are also
//! published by the version that ran (`ExecutedVersion`, from `AWS_LAMBDA_FUNCTION_VERSION`, as
//! Lambda names its own metrics' dimension), so a gradual deploy's rollback alarms read the new
//! version alone.

use crate::genesys::CallStats;
use crate::wrapup::{Outcome, Status};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub(crate) const METRICS_NAMESPACE: &str = "GenesysWrapUp";

/// The dimension naming the function version that ran, as Lambda's own metrics name it.
const VERSION_DIMENSION: &str = "ExecutedVersion";

static COLD: AtomicBool = AtomicBool::new(true);

/// What one invocation did.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    applied: AtomicU64,
    already_applied: AtomicU64,
    rejected: AtomicU64,
    skipped: AtomicU64,
    would_apply: AtomicU64,
    transient: AtomicU64,
    /// Deliveries that found another instance working on their conversation: routine, retried,
    /// and counted apart from failures.
    in_progress: AtomicU64,
    /// Redeliveries answered from what an earlier delivery decided (no Genesys call).
    remembered: AtomicU64,
    /// Observations of Copilot's prediction by confidence band: how many, and how many the
    /// agent agreed with.
    predictions: Mutex<BTreeMap<&'static str, (u64, u64)>>,
    reasons: Mutex<BTreeMap<&'static str, u64>>,
    /// Real (not dry-run) rejections recorded in the attention queue: each needs a person.
    attention_records: AtomicU64,
    /// Buffered messages that failed their last allowed receive: SQS moves them to the
    /// attention queue.
    exhausted: AtomicU64,
    /// The latest read of the wrap-up rules did not load.
    rules_invalid: AtomicBool,
}

impl Tally {
    pub(crate) fn outcome(&self, outcome: &Outcome) {
        let counter = match outcome.status {
            Status::Applied => &self.applied,
            Status::AlreadyApplied => &self.already_applied,
            Status::Rejected => &self.rejected,
            Status::Skipped => &self.skipped,
            Status::WouldApply => &self.would_apply,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if outcome.remembered {
            self.remembered.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(o) = outcome.details.observation.as_deref() {
            let mut bands = self.predictions.lock().unwrap_or_else(|p| p.into_inner());
            let band = bands.entry(confidence_band(o.confidence)).or_default();
            band.0 += 1;
            band.1 += u64::from(o.agreed);
        }
        if let Some(reason) = outcome.reason {
            *self
                .reasons
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(reason.as_str())
                .or_default() += 1;
        }
    }

    pub(crate) fn transient(&self) {
        self.transient.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn in_progress(&self) {
        self.in_progress.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn attention_record(&self) {
        self.attention_records.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn exhausted(&self) {
        self.exhausted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rules_invalid(&self, invalid: bool) {
        self.rules_invalid.store(invalid, Ordering::Relaxed);
    }
}

/// The confidence band of a prediction, a low-cardinality dimension (`none`: Copilot predicted
/// nothing for the communication).
fn confidence_band(confidence: Option<f64>) -> &'static str {
    match confidence {
        None => "none",
        Some(c) if c < 0.5 => "0.0-0.5",
        Some(c) if c < 0.7 => "0.5-0.7",
        Some(c) if c < 0.9 => "0.7-0.9",
        Some(_) => "0.9-1.0",
    }
}

/// One EMF document: dimension and metric values at the top level, `_aws` naming them.
/// Serialized straight to bytes: this runs on every invocation, and building a
/// `serde_json::Value` tree first cost more than the rest of the telemetry together.
struct Document<'a> {
    function: Option<&'a str>,
    /// The version that ran: the metrics are published a second time with it (the function's
    /// name and this version), besides the function's name alone.
    version: Option<&'a str>,
    dimensions: &'a [(&'a str, &'a str)],
    metrics: &'a [(&'a str, &'a str, f64)],
    timestamp_ms: u64,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(f) = self.function {
            map.serialize_entry("FunctionName", f)?;
        }
        if let Some(v) = self.version {
            map.serialize_entry(VERSION_DIMENSION, v)?;
        }
        for (name, value) in self.dimensions {
            map.serialize_entry(name, value)?;
        }
        for (name, _, value) in self.metrics {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("_aws", &Metadata(self))?;
        map.end()
    }
}

/// `_aws`: the timestamp and the one metric directive.
struct Metadata<'d, 'a>(&'d Document<'a>);

impl Serialize for Metadata<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let doc = self.0;
        let mut aws = serializer.serialize_map(Some(2))?;
        aws.serialize_entry("Timestamp", &doc.timestamp_ms)?;
        aws.serialize_entry("CloudWatchMetrics", &[Directive(doc)])?;
        aws.end()
    }
}

struct Directive<'d, 'a>(&'d Document<'a>);

impl Serialize for Directive<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let doc = self.0;
        let set = |version: Option<&'static str>| -> Vec<&str> {
            doc.function
                .map(|_| "FunctionName")
                .into_iter()
                .chain(version)
                .chain(doc.dimensions.iter().map(|(name, _)| *name))
                .collect()
        };
        let mut sets = vec![set(None)];
        if doc.version.is_some() {
            sets.push(set(Some(VERSION_DIMENSION)));
        }
        let definitions = doc
            .metrics
            .iter()
            .map(|(name, unit, _)| Definition { name, unit });
        let mut directive = serializer.serialize_map(Some(3))?;
        directive.serialize_entry("Namespace", METRICS_NAMESPACE)?;
        directive.serialize_entry("Dimensions", &sets)?;
        directive.serialize_entry("Metrics", &Seq::new(definitions))?;
        directive.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition<'a> {
    name: &'a str,
    unit: &'a str,
}

/// Serializes an iterator as a JSON array without collecting it.
struct Seq<I>(std::cell::Cell<Option<I>>);

impl<I> Seq<I> {
    fn new(items: I) -> Self {
        Self(std::cell::Cell::new(Some(items)))
    }
}

impl<I> Serialize for Seq<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.take().into_iter().flatten())
    }
}

fn write_document(out: &mut Vec<u8>, doc: Document<'_>) {
    // Writing plain data into a Vec cannot fail; a failure would only lose this line.
    if serde_json::to_writer(&mut *out, &doc).is_ok() {
        out.push(b'\n');
    }
}

/// The invocation's EMF lines: outcomes, latency, cold start and retries, by the function and
/// also by the version that ran; what needs a person (real rejections recorded, buffered
/// messages out of receives) and whether the rules load; rejections by reason; Genesys calls by
/// endpoint and status. A buffered batch with failures still succeeds, so `TransientFailures`
/// is what alarms watch (the function's `Errors` stays 0); `InProgress` (another instance
/// working on the conversation: routine) is counted apart, and `Remembered` counts redeliveries
/// answered from the lease table.
pub(crate) fn emf_lines(
    tally: &Tally,
    calls: &CallStats,
    latency: Duration,
    cold_start: bool,
    function: Option<&str>,
    version: Option<&str>,
    timestamp_ms: u64,
) -> Vec<u8> {
    let count = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
    let (calls, retries) = calls.drain();
    let mut out = Vec::with_capacity(1_024 + 320 * calls.len());
    write_document(
        &mut out,
        Document {
            function,
            // By version only with the function's name: a version alone names nothing.
            version: version.filter(|_| function.is_some()),
            timestamp_ms,
            dimensions: &[],
            metrics: &[
                ("Applied", "Count", count(&tally.applied)),
                ("AlreadyApplied", "Count", count(&tally.already_applied)),
                ("Rejected", "Count", count(&tally.rejected)),
                ("Skipped", "Count", count(&tally.skipped)),
                ("WouldApply", "Count", count(&tally.would_apply)),
                ("TransientFailures", "Count", count(&tally.transient)),
                ("InProgress", "Count", count(&tally.in_progress)),
                ("Remembered", "Count", count(&tally.remembered)),
                ("Retries", "Count", retries as f64),
                (
                    "HandlerLatency",
                    "Milliseconds",
                    latency.as_secs_f64() * 1_000.0,
                ),
                ("ColdStart", "Count", if cold_start { 1.0 } else { 0.0 }),
                ("AttentionRecords", "Count", count(&tally.attention_records)),
                ("Exhausted", "Count", count(&tally.exhausted)),
                (
                    "RulesInvalid",
                    "Count",
                    if tally.rules_invalid.load(Ordering::Relaxed) {
                        1.0
                    } else {
                        0.0
                    },
                ),
            ],
        },
    );
    for (reason, n) in tally
        .reasons
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        write_document(
            &mut out,
            Document {
                function,
                version: None,
                timestamp_ms,
                dimensions: &[("Reason", reason)],
                metrics: &[("Outcomes", "Count", *n as f64)],
            },
        );
    }
    for (band, (seen, agreed)) in tally
        .predictions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        write_document(
            &mut out,
            Document {
                function,
                version: None,
                timestamp_ms,
                dimensions: &[("ConfidenceBand", band)],
                metrics: &[
                    ("Predictions", "Count", *seen as f64),
                    ("PredictionAgreed", "Count", *agreed as f64),
                ],
            },
        );
    }
    for ((endpoint, status), n) in calls {
        let status = status.to_string();
        write_document(
            &mut out,
            Document {
                function,
                version: None,
                timestamp_ms,
                dimensions: &[("Endpoint", endpoint), ("StatusCode", &status)],
                metrics: &[("GenesysCalls", "Count", n as f64)],
            },
        );
    }
    out
}

/// Writes the invocation's metrics to stderr (CloudWatch in Lambda; stdout stays the CLI's),
/// in one write so concurrent log lines cannot split a document.
pub(crate) fn emit_metrics(tally: &Tally, calls: &CallStats, latency: Duration) {
    static FUNCTION: OnceLock<Option<String>> = OnceLock::new();
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    let function = FUNCTION.get_or_init(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok());
    let version = VERSION.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_VERSION")
            .ok()
            .filter(|v| !v.trim().is_empty())
    });
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let lines = emf_lines(
        tally,
        calls,
        latency,
        cold_start,
        function.as_deref(),
        version.as_deref(),
        now,
    );
    // Metrics must never fail an invocation: a closed stderr only loses them.
    let _ = std::io::stderr().lock().write_all(&lines);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrapup::Reason;
    use serde_json::{json, Value};

    fn parse(text: &[u8]) -> Vec<Value> {
        std::str::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn the_metrics_lines_are_embedded_metric_format() {
        let tally = Tally::default();
        tally.outcome(&Outcome::new(Status::Applied));
        tally.outcome(&Outcome::new(Status::Applied));
        tally.outcome(&Outcome::decided(Reason::DivisionMismatch, "x"));
        tally.transient();
        let calls = CallStats::default();
        calls.call("get_conversation", 200);
        calls.call("get_conversation", 200);
        calls.call("post_wrapup", 429);
        calls.retry();
        let lines = parse(&emf_lines(
            &tally,
            &calls,
            Duration::from_millis(12),
            true,
            Some("fn"),
            Some("7"),
            1_700_000_000_000,
        ));
        assert_eq!(lines.len(), 4);
        let main = &lines[0];
        assert_eq!(
            (main["Applied"].as_f64(), main["Rejected"].as_f64()),
            (Some(2.0), Some(1.0))
        );
        assert_eq!(
            (main["TransientFailures"].as_f64(), main["Retries"].as_f64()),
            (Some(1.0), Some(1.0))
        );
        assert_eq!(
            (main["HandlerLatency"].as_f64(), main["ColdStart"].as_f64()),
            (Some(12.0), Some(1.0))
        );
        assert_eq!(main["FunctionName"], "fn");
        assert_eq!(main["ExecutedVersion"], "7");
        let directive = &main["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], METRICS_NAMESPACE);
        // By the function, and by the version that ran (what rollback alarms read).
        assert_eq!(
            directive["Dimensions"],
            json!([["FunctionName"], ["FunctionName", "ExecutedVersion"]])
        );
        assert_eq!(directive["Metrics"].as_array().map(Vec::len), Some(14));
        assert_eq!(
            directive["Metrics"][9],
            json!({"Name": "HandlerLatency", "Unit": "Milliseconds"})
        );
        assert_eq!(main["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(lines[1]["Reason"], "division_mismatch");
        assert_eq!(
            lines[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Reason"]])
        );
        assert!(lines[1].get("ExecutedVersion").is_none());
        let conversation_reads = lines
            .iter()
            .find(|l| l["Endpoint"] == "get_conversation")
            .unwrap();
        assert_eq!(
            (
                conversation_reads["StatusCode"].as_str(),
                conversation_reads["GenesysCalls"].as_f64()
            ),
            (Some("200"), Some(2.0))
        );
        // Drained: the next invocation starts from zero.
        let next = parse(&emf_lines(
            &Tally::default(),
            &calls,
            Duration::ZERO,
            false,
            None,
            Some("7"),
            0,
        ));
        assert_eq!(next.len(), 1);
        assert_eq!(next[0]["Applied"], 0.0);
        // Outside Lambda (no function name), no version either.
        assert_eq!(
            next[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert!(next[0].get("ExecutedVersion").is_none());
    }
}
