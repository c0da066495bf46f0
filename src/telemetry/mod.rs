//! Structured logs: JSON lines on stderr (CloudWatch in Lambda; stdout stays free for the CLI's
//! result), level from Lambda's advanced logging controls. One line per outcome.

#[cfg(test)]
mod dashboards;
pub(crate) mod emf;
pub(crate) mod newrelic;

pub use emf::{emit_metrics, Tally};

use crate::error::Transient;
use crate::triggers::Trigger;
use crate::wrapup::Outcome;
use tracing_subscriber::EnvFilter;

/// Who asked: attached to every outcome line.
#[derive(Debug, Clone, Copy)]
pub struct LogContext<'a> {
    pub trigger: Trigger,
    pub request_id: &'a str,
    pub event_id: Option<&'a str>,
    pub dry_run: bool,
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
        wrap_up_code_name = outcome.wrap_up_code_name.as_deref(),
        current_wrap_up_code = outcome.current_wrap_up_code.as_deref(),
        media = d.media,
        rule = outcome.rule.as_deref(),
        genesys_correlation_id = d.correlation_id.as_deref(),
        genesys_context_id = d.context_id.as_deref(),
        trigger = ctx.trigger.as_str(),
        aws_request_id = ctx.request_id,
        event_id = ctx.event_id,
        dry_run = ctx.dry_run,
        message = outcome
            .message
            .as_deref()
            .unwrap_or(outcome.status.as_str()),
    );
}

pub fn log_transient(t: &Transient, conversation_id: Option<uuid::Uuid>, ctx: LogContext<'_>) {
    tracing::warn!(
        event = "outcome",
        status = "transient_failure",
        reason = t.kind.as_str(),
        conversation_id = conversation_id.map(tracing::field::display),
        retry_after_s = t.retry_after.map(|d| d.as_secs()),
        current_wrap_up_code = t.current_wrap_up_code.as_deref(),
        genesys_correlation_id = t.correlation_id.as_deref(),
        trigger = ctx.trigger.as_str(),
        aws_request_id = ctx.request_id,
        event_id = ctx.event_id,
        dry_run = ctx.dry_run,
        message = t.message.as_str(),
    );
}
