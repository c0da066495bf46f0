//! CloudWatch metrics in Embedded Metric Format: one JSON line per invocation on stderr, which
//! CloudWatch Logs turns into metrics with no API call. Hand-written: the format is one small
//! JSON document, and the crates that emit it bring a metrics framework we would not use.

use crate::wrapup::{Outcome, Status};
use std::sync::atomic::{AtomicU64, Ordering};

/// What one invocation did, for its CloudWatch metrics line.
#[derive(Debug, Default)]
pub struct Tally {
    applied: AtomicU64,
    already_applied: AtomicU64,
    rejected: AtomicU64,
    skipped: AtomicU64,
    transient: AtomicU64,
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
    }

    pub fn transient(&self) {
        self.transient.fetch_add(1, Ordering::Relaxed);
    }

    pub fn transient_failures(&self) -> u64 {
        self.transient.load(Ordering::Relaxed)
    }

    /// One CloudWatch Embedded Metric Format line. A buffered batch with failures still
    /// succeeds, so `TransientFailures` is what alarms watch (the function's `Errors` stays 0).
    pub fn emf_line(
        &self,
        namespace: &str,
        function_name: Option<&str>,
        timestamp_ms: u128,
    ) -> String {
        let names = [
            "Applied",
            "AlreadyApplied",
            "Rejected",
            "Skipped",
            "TransientFailures",
        ];
        let values = [
            &self.applied,
            &self.already_applied,
            &self.rejected,
            &self.skipped,
            &self.transient,
        ];
        let mut doc = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": if function_name.is_some() { serde_json::json!([["FunctionName"]]) } else { serde_json::json!([[]]) },
                    "Metrics": names.iter().map(|n| serde_json::json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
                }]
            }
        });
        if let Some(function) = function_name {
            doc["FunctionName"] = serde_json::json!(function);
        }
        for (name, value) in names.iter().zip(values) {
            doc[*name] = serde_json::json!(value.load(Ordering::Relaxed));
        }
        doc.to_string()
    }
}

pub const METRICS_NAMESPACE: &str = "GenesysWrapUp";

/// Writes the invocation's metrics line to stderr (CloudWatch in Lambda; stdout stays the CLI's).
pub fn emit_metrics(tally: &Tally) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    eprintln!(
        "{}",
        tally.emf_line(METRICS_NAMESPACE, function.as_deref(), now)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_line_is_embedded_metric_format() {
        let tally = Tally::default();
        tally.outcome(&Outcome::new(Status::Applied));
        tally.outcome(&Outcome::new(Status::Applied));
        tally.transient();
        let line: serde_json::Value =
            serde_json::from_str(&tally.emf_line("NS", Some("fn"), 1_700_000_000_000)).unwrap();
        assert_eq!(line["Applied"], 2);
        assert_eq!(line["TransientFailures"], 1);
        assert_eq!(line["Rejected"], 0);
        assert_eq!(line["FunctionName"], "fn");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "NS");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["FunctionName"]])
        );
        assert_eq!(directive["Metrics"].as_array().unwrap().len(), 5);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }
}
