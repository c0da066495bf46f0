//! The log line: one JSON object per event, with the fields named as outcomes and New Relic
//! name them (camelCase: one name for one thing wherever it appears), the `level` Lambda's
//! log-level filter reads, and the invocation's `awsRequestId` and `xrayTraceId` on every line
//! written while it runs, as Powertools' loggers do.

use serde_json::{Map, Value};
use std::future::Future;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The ids every line of an invocation carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct InvocationIds {
    pub(crate) aws_request_id: String,
    /// Lambda's `Lambda-Runtime-Trace-Id` (X-Ray's `Root=...;Parent=...;Sampled=...`).
    pub(crate) xray_trace_id: Option<String>,
}

tokio::task_local! {
    static INVOCATION: InvocationIds;
}

/// Runs `work` with `ids` on every line it logs.
pub(crate) async fn with_invocation<F: Future>(ids: InvocationIds, work: F) -> F::Output {
    INVOCATION.scope(ids, work).await
}

/// The function's log line format (JSON lines), for the function's subscriber and for tests
/// that read its lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert(
            "level".into(),
            Value::String(event.metadata().level().as_str().to_owned()),
        );
        let _ = INVOCATION.try_with(|ids| {
            line.insert(
                "awsRequestId".into(),
                Value::String(ids.aws_request_id.clone()),
            );
            if let Some(trace) = &ids.xray_trace_id {
                line.insert("xrayTraceId".into(), Value::String(trace.clone()));
            }
        });
        event.record(&mut Fields(&mut line));
        // The function's own lines need no target (it is a module path of this crate).
        if !event
            .metadata()
            .target()
            .starts_with(env!("CARGO_CRATE_NAME"))
        {
            line.insert(
                "target".into(),
                Value::String(event.metadata().target().to_owned()),
            );
        }
        // Plain data always serialises; a failure would only lose this line.
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields, as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}
