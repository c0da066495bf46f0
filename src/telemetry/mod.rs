//! Structured logs: JSON lines on stderr (CloudWatch in Lambda; stdout stays free for the CLI's
//! result), fields named in camelCase as outcomes and New Relic name them, the invocation's
//! `awsRequestId` and `xrayTraceId` on every line. One line per outcome.
//!
//! - `lines.rs`: the function's own JSON log line, with the invocation's ids on every line;
//! - `emf.rs`: the invocation's CloudWatch metrics, as embedded metric format lines;
//! - `newrelic.rs`: New Relic custom events, sent once per invocation.

pub(crate) mod emf;
mod lines;
pub(crate) mod newrelic;

pub(crate) use emf::{emit_metrics, Tally};
pub use lines::JsonLines;
pub(crate) use lines::{with_invocation, InvocationIds};

use crate::error::Transient;
use crate::triggers::Trigger;
use crate::wrapup::{Kind, Outcome};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Who asked: attached to every outcome line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogContext<'a> {
    pub(crate) trigger: Trigger,
    pub(crate) kind: Kind,
    pub(crate) request_id: &'a str,
    pub(crate) event_id: Option<&'a str>,
    pub(crate) dry_run: bool,
}

/// The level, first found of: `WRAPUP_LOG_LEVEL` (the function's own), `AWS_LAMBDA_LOG_LEVEL`
/// (Lambda's advanced logging controls), `RUST_LOG` (a level, or `target=level` directives);
/// else `info`.
///
/// The AWS SDK's own lines are off (its credential and region probes print a screenful when
/// none are configured): every AWS failure the function or a command meets is said in its own
/// one line. `RUST_LOG` naming an SDK crate (`RUST_LOG=aws_config=debug`) turns them back on.
///
/// The template sets the function's level in `WRAPUP_LOG_LEVEL` and keeps Lambda's own filter at
/// `TRACE`: Lambda gives a line without a `level` field the level INFO, so a platform level of
/// WARN or above would drop the EMF metric lines (which carry none) with the INFO logs. The
/// metrics are written whatever this level says.
pub fn init_logging() {
    let env = |name: &str| std::env::var(name).ok();
    let (filter, unknown) = log_filter(
        env("WRAPUP_LOG_LEVEL").as_deref(),
        env("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        env("RUST_LOG").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .event_format(JsonLines)
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .finish()
        .with(filter)
        .try_init();
    if let Some(value) = unknown {
        tracing::warn!(
            "WRAPUP_LOG_LEVEL {value:?} is not a level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL); logging at the next setting's level"
        );
    }
}

/// A level name as Lambda spells them (TRACE to FATAL, any case); tracing's levels end at ERROR.
fn level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_lowercase().as_str() {
        "fatal" => Some(LevelFilter::ERROR),
        level => level.parse::<LevelFilter>().ok(),
    }
}

/// Where the AWS SDK's crates log (`aws_config`, `aws_smithy_runtime`, `aws_sdk_sqs`, ...):
/// `Targets` matches a target by prefix.
const SDK_TARGETS: &str = "aws_";

/// The filter from the function's own level, Lambda's, or `RUST_LOG`, with the AWS SDK's own
/// lines off unless `RUST_LOG` names them; and the function's own value when it is no level.
/// `Targets` parses `RUST_LOG` without regular expressions (`EnvFilter`'s regex engine was a
/// quarter of a megabyte of the binary).
fn log_filter(
    own: Option<&str>,
    lambda: Option<&str>,
    rust_log: Option<&str>,
) -> (Targets, Option<String>) {
    let own = own.filter(|v| !v.trim().is_empty());
    let unknown = own.filter(|v| level(v).is_none()).map(str::to_owned);
    let chosen = own.and_then(level).or_else(|| lambda.and_then(level));
    let directives = rust_log.and_then(|d| d.parse::<Targets>().ok());
    // `RUST_LOG`'s directives for the SDK's crates, honoured whichever level is chosen.
    let sdk: Vec<(String, LevelFilter)> = directives
        .iter()
        .flat_map(|d| d.iter())
        .filter(|(target, _)| target.starts_with(SDK_TARGETS))
        .map(|(target, level)| (target.to_owned(), level))
        .collect();
    let filter = match (chosen, directives) {
        (Some(level), _) => Targets::new().with_default(level),
        (None, Some(directives)) => directives,
        (None, None) => Targets::new().with_default(LevelFilter::INFO),
    };
    let filter = if sdk.is_empty() {
        filter.with_target(SDK_TARGETS, LevelFilter::OFF)
    } else {
        filter.with_targets(sdk)
    };
    (filter, unknown)
}

pub(crate) fn log_outcome(outcome: &Outcome, ctx: LogContext<'_>) {
    let d = &outcome.details;
    tracing::info!(
        event = "outcome",
        status = outcome.status.as_str(),
        reason = outcome.reason.map(|r| r.as_str()),
        conversationId = outcome.conversation_id.as_deref(),
        participantId = outcome.participant_id.as_deref(),
        communicationId = outcome.communication_id.as_deref(),
        wrapUpCodeId = outcome.wrap_up_code_id.as_deref(),
        wrapUpCodeName = outcome.wrap_up_code_name.as_deref(),
        currentWrapUpCode = outcome.current_wrap_up_code.as_deref(),
        currentWrapUpCodeName = outcome.current_wrap_up_code_name.as_deref(),
        mediaType = d.media,
        divisionId = d.division_id.as_deref(),
        queueId = d.queue_id.as_deref(),
        userId = d.user_id.as_deref(),
        rule = outcome.rule.as_deref(),
        predictedConfidence = outcome.predicted_confidence,
        remembered = outcome.remembered.then_some(true),
        genesysCorrelationId = d.correlation_id.as_deref(),
        genesysContextId = d.context_id.as_deref(),
        trigger = ctx.trigger.as_str(),
        request = ctx.kind.as_str(),
        eventId = ctx.event_id,
        dryRun = ctx.dry_run,
        message = outcome
            .message
            .as_deref()
            .unwrap_or(outcome.status.as_str()),
    );
}

pub(crate) fn log_transient(
    t: &Transient,
    conversation_id: Option<uuid::Uuid>,
    ctx: LogContext<'_>,
) {
    tracing::warn!(
        event = "outcome",
        status = "transient_failure",
        reason = t.kind.as_str(),
        conversationId = conversation_id.map(tracing::field::display),
        retryAfterSeconds = t.retry_after.map(|d| d.as_secs()),
        currentWrapUpCode = t.current_wrap_up_code.as_deref(),
        genesysCorrelationId = t.correlation_id.as_deref(),
        trigger = ctx.trigger.as_str(),
        request = ctx.kind.as_str(),
        eventId = ctx.event_id,
        dryRun = ctx.dry_run,
        message = t.message.as_str(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_comes_from_the_function_then_lambda_then_rust_log_then_info() {
        let enabled = |f: &Targets, level| f.would_enable("genesys_wrapup", &level);
        let (f, _) = log_filter(None, Some("DEBUG"), Some("error"));
        assert!(enabled(&f, tracing::Level::DEBUG) && !enabled(&f, tracing::Level::TRACE));
        let (f, _) = log_filter(None, Some("FATAL"), None);
        assert!(enabled(&f, tracing::Level::ERROR) && !enabled(&f, tracing::Level::WARN));
        let (f, _) = log_filter(None, None, Some("warn,genesys_wrapup=trace"));
        assert!(enabled(&f, tracing::Level::TRACE));
        assert!(!f.would_enable("hyper", &tracing::Level::INFO));
        let (f, _) = log_filter(None, Some("not a level"), None);
        assert!(enabled(&f, tracing::Level::INFO) && !enabled(&f, tracing::Level::DEBUG));
        // The template: Lambda passes everything, the function filters itself.
        let (f, unknown) = log_filter(Some("warn"), Some("TRACE"), None);
        assert!(enabled(&f, tracing::Level::WARN) && !enabled(&f, tracing::Level::INFO));
        assert_eq!(unknown, None);
        let (f, unknown) = log_filter(Some("loud"), Some("ERROR"), None);
        assert!(enabled(&f, tracing::Level::ERROR) && !enabled(&f, tracing::Level::WARN));
        assert_eq!(unknown.as_deref(), Some("loud"), "said, not fatal");
    }

    #[test]
    fn the_aws_sdks_own_lines_are_off_unless_rust_log_names_them() {
        let sdk = |f: &Targets, target: &str, level| f.would_enable(target, &level);
        for (own, lambda, rust_log) in [
            (None, None, None),
            (Some("trace"), None, None),
            (None, Some("DEBUG"), None),
            (None, None, Some("trace")),
            (None, None, Some("warn,genesys_wrapup=trace")),
        ] {
            let (f, _) = log_filter(own, lambda, rust_log);
            for target in [
                "aws_config::imds::region",
                "aws_config::meta::credentials::chain",
                "aws_smithy_runtime::client::retries",
                "aws_sdk_sqs::operation",
            ] {
                assert!(
                    !sdk(&f, target, tracing::Level::ERROR),
                    "{target} with {own:?}/{lambda:?}/{rust_log:?}"
                );
            }
            assert!(sdk(&f, "genesys_wrapup::cli", tracing::Level::ERROR));
        }
        let (f, _) = log_filter(None, None, Some("info,aws_config=debug"));
        assert!(sdk(&f, "aws_config::imds::region", tracing::Level::DEBUG));
        assert!(sdk(&f, "genesys_wrapup", tracing::Level::INFO));
        let (f, _) = log_filter(Some("warn"), None, Some("aws_config=debug"));
        assert!(sdk(&f, "aws_config::meta", tracing::Level::DEBUG));
        assert!(!sdk(&f, "genesys_wrapup", tracing::Level::INFO));
        assert!(sdk(&f, "genesys_wrapup", tracing::Level::WARN));
    }
}
