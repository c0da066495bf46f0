//! CloudWatch metrics in Embedded Metric Format: a few JSON lines per invocation on stderr,
//! which CloudWatch Logs turns into metrics with no API call. Hand-written: the format is a
//! small JSON document, and the crates that emit it bring a metrics framework we would not use.
//!
//! Dimensions stay low-cardinality: the function name, plus the rejection reason or the Genesys
//! endpoint and status code. Ids never become dimensions.

use crate::wrapup::{Outcome, Status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub const METRICS_NAMESPACE: &str = "GenesysWrapUp";

static COLD: AtomicBool = AtomicBool::new(true);

/// What one invocation did.
#[derive(Debug, Default)]
pub struct Tally {
    applied: AtomicU64,
    already_applied: AtomicU64,
    rejected: AtomicU64,
    skipped: AtomicU64,
    transient: AtomicU64,
    reasons: Mutex<BTreeMap<&'static str, u64>>,
}

impl Tally {
    pub fn outcome(&self, outcome: &Outcome) {
        let counter = match outcome.status {
            Status::Applied => &self.applied,
            Status::AlreadyApplied => &self.already_applied,
            Status::Rejected => &self.rejected,
            Status::Skipped => &self.skipped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(reason) = outcome.reason {
            *self
                .reasons
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(reason.as_str())
                .or_default() += 1;
        }
    }

    pub fn transient(&self) {
        self.transient.fetch_add(1, Ordering::Relaxed);
    }

    pub fn transient_failures(&self) -> u64 {
        self.transient.load(Ordering::Relaxed)
    }
}

/// Genesys calls of this process since the last report, by endpoint and HTTP status (0 = no
/// answer), and the in-place retries among them.
#[derive(Debug, Default)]
pub struct CallStats {
    calls: Mutex<BTreeMap<(&'static str, u16), u64>>,
    retries: AtomicU64,
}

impl CallStats {
    pub fn call(&self, endpoint: &'static str, status: u16) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((endpoint, status))
            .or_default() += 1;
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the counts (Lambda runs one invocation at a time per process).
    fn drain(&self) -> (BTreeMap<(&'static str, u16), u64>, u64) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()));
        (calls, self.retries.swap(0, Ordering::Relaxed))
    }
}

fn document(
    namespace: &str,
    function: Option<&str>,
    extra_dimensions: &[(&str, String)],
    metrics: &[(&str, &str, f64)],
    timestamp_ms: u64,
) -> String {
    let mut dimensions: Vec<&str> = function.map(|_| "FunctionName").into_iter().collect();
    dimensions.extend(extra_dimensions.iter().map(|(k, _)| *k));
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions],
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }]
        }
    });
    if let Some(f) = function {
        doc["FunctionName"] = json!(f);
    }
    for (k, v) in extra_dimensions {
        doc[*k] = json!(v);
    }
    for (name, _, value) in metrics {
        doc[*name] = Value::from(*value);
    }
    doc.to_string()
}

/// The invocation's EMF lines: outcomes, latency, cold start and retries; rejections by reason;
/// Genesys calls by endpoint and status. A buffered batch with failures still succeeds, so
/// `TransientFailures` is what alarms watch (the function's `Errors` stays 0).
pub fn emf_lines(
    tally: &Tally,
    calls: &CallStats,
    latency: Duration,
    cold_start: bool,
    function: Option<&str>,
    timestamp_ms: u64,
) -> Vec<String> {
    let count = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
    let (calls, retries) = calls.drain();
    let mut lines = vec![document(
        METRICS_NAMESPACE,
        function,
        &[],
        &[
            ("Applied", "Count", count(&tally.applied)),
            ("AlreadyApplied", "Count", count(&tally.already_applied)),
            ("Rejected", "Count", count(&tally.rejected)),
            ("Skipped", "Count", count(&tally.skipped)),
            ("TransientFailures", "Count", count(&tally.transient)),
            ("Retries", "Count", retries as f64),
            (
                "HandlerLatency",
                "Milliseconds",
                latency.as_secs_f64() * 1_000.0,
            ),
            ("ColdStart", "Count", if cold_start { 1.0 } else { 0.0 }),
        ],
        timestamp_ms,
    )];
    for (reason, n) in tally
        .reasons
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        lines.push(document(
            METRICS_NAMESPACE,
            function,
            &[("Reason", (*reason).to_owned())],
            &[("Outcomes", "Count", *n as f64)],
            timestamp_ms,
        ));
    }
    for ((endpoint, status), n) in calls {
        lines.push(document(
            METRICS_NAMESPACE,
            function,
            &[
                ("Endpoint", endpoint.to_owned()),
                ("StatusCode", status.to_string()),
            ],
            &[("GenesysCalls", "Count", n as f64)],
            timestamp_ms,
        ));
    }
    lines
}

/// Writes the invocation's metrics to stderr (CloudWatch in Lambda; stdout stays the CLI's).
pub fn emit_metrics(tally: &Tally, calls: &CallStats, latency: Duration) {
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    let mut out = String::new();
    for line in emf_lines(tally, calls, latency, cold_start, function.as_deref(), now) {
        out.push_str(&line);
        out.push('\n');
    }
    eprint!("{out}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrapup::Reason;

    #[test]
    fn the_metrics_lines_are_embedded_metric_format() {
        let tally = Tally::default();
        tally.outcome(&Outcome::new(Status::Applied));
        tally.outcome(&Outcome::new(Status::Applied));
        tally.outcome(&Outcome::rejected(Reason::DivisionMismatch, "x"));
        tally.transient();
        let calls = CallStats::default();
        calls.call("get_conversation", 200);
        calls.call("get_conversation", 200);
        calls.call("post_wrapup", 429);
        calls.retry();
        let lines: Vec<Value> = emf_lines(
            &tally,
            &calls,
            Duration::from_millis(12),
            true,
            Some("fn"),
            1_700_000_000_000,
        )
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
        let directive = &main["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], METRICS_NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(lines[1]["Reason"], "division_mismatch");
        assert_eq!(
            lines[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Reason"]])
        );
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
        assert!(emf_lines(&Tally::default(), &calls, Duration::ZERO, false, None, 0).len() == 1);
    }
}
