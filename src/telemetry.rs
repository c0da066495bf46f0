//! Structured logs: JSON lines on stderr (CloudWatch in Lambda; stdout stays free for the CLI's
//! result), level from Lambda's advanced logging controls. One line per outcome.

use crate::error::Transient;
use crate::wrapup::{Outcome, Status};
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::EnvFilter;

/// Where an outcome came from, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    EventBridge,
    Native,
    Webhook,
    Sqs,
    Direct,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventBridge => "eventbridge",
            Self::Native => "native",
            Self::Webhook => "webhook",
            Self::Sqs => "sqs",
            Self::Direct => "direct",
        }
    }
}

/// Who asked: attached to every outcome line.
#[derive(Debug, Clone, Copy)]
pub struct LogContext<'a> {
    pub trigger: Trigger,
    pub request_id: &'a str,
    pub event_id: Option<&'a str>,
}

/// `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), then `RUST_LOG`, else `info`.
pub fn init_logging() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_ascii_lowercase())
        .and_then(|l| EnvFilter::try_new(l).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init();
}

pub fn log_outcome(outcome: &Outcome, ctx: LogContext<'_>) {
    let d = &outcome.details;
    tracing::info!(
        event = "outcome",
        status = outcome.status.as_str(),
        reason = outcome.reason.map(|r| r.as_str()),
        conversation_id = outcome.conversation_id.as_deref(),
        participant_id = outcome.participant_id.as_deref(),
        communication_id = outcome.communication_id.as_deref(),
        wrap_up_code_id = outcome.wrap_up_code_id.as_deref(),
        wrap_up_code_name = d.wrap_up_code_name.as_deref(),
        media = d.media,
        rule = outcome.rule.as_deref(),
        genesys_correlation_id = d.correlation_id.as_deref(),
        genesys_context_id = d.context_id.as_deref(),
        trigger = ctx.trigger.as_str(),
        aws_request_id = ctx.request_id,
        event_id = ctx.event_id,
        message = outcome
            .message
            .as_deref()
            .unwrap_or(outcome.status.as_str()),
    );
}

pub fn log_transient(t: &Transient, conversation_id: Option<&str>, ctx: LogContext<'_>) {
    tracing::warn!(
        event = "outcome",
        status = "transient_failure",
        reason = t.kind.as_str(),
        conversation_id,
        retry_after_s = t.retry_after.map(|d| d.as_secs()),
        genesys_correlation_id = t.correlation_id.as_deref(),
        trigger = ctx.trigger.as_str(),
        aws_request_id = ctx.request_id,
        event_id = ctx.event_id,
        message = t.message.as_str(),
    );
}

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
