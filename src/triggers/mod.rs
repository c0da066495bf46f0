//! Trigger adapters: each turns its platform's envelope into units of work, and outcomes back
//! into the reply that platform expects. One Lambda function serves them all, so the entry
//! point recognises the envelope first.

pub mod eventbridge;
pub mod signature;
pub mod sqs;
pub mod webhook;

use crate::app::{App, Invocation};
use crate::apply::{apply, apply_native};
use crate::error::{Transient, TransientKind};
use crate::telemetry::newrelic::{outcome_event, transient_event, EventContext};
use crate::telemetry::{emit_metrics, log_outcome, log_transient, LogContext, Trigger};
use crate::wrapup::rules::NativeEvent;
use crate::wrapup::{ApplyRequest, Outcome, Reason, Status};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// API Gateway HTTP API or Function URL, payload format 2.0.
    Http,
    Sqs,
    EventBridge,
    /// A bare apply request (direct invoke, Step Functions) or anything unrecognised.
    Direct,
}

pub fn recognise(event: &Value) -> Envelope {
    let Some(obj) = event.as_object() else {
        return Envelope::Direct;
    };
    let first_record_source = obj
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str);
    if obj
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some_and(Value::is_object)
    {
        Envelope::Http
    } else if first_record_source == Some("aws:sqs") {
        Envelope::Sqs
    } else if obj.contains_key("detail-type")
        && obj.contains_key("source")
        && obj.contains_key("detail")
    {
        Envelope::EventBridge
    } else {
        Envelope::Direct
    }
}

/// One request's worth of work, whatever envelope carried it.
#[derive(Debug, Clone)]
pub struct Unit {
    pub trigger: Trigger,
    pub event_id: Option<String>,
    pub work: Work,
    /// Which delivery this is (SQS receive count; 1 otherwise).
    pub attempt: u32,
}

#[derive(Debug, Clone)]
pub enum Work {
    Apply(ApplyRequest),
    /// A Genesys event: wrap-up rules pick the code.
    Native(NativeEvent),
    /// Decided without calling Genesys (invalid event, no rule, ...).
    Done(Outcome),
}

impl Unit {
    /// An EventBridge event or a bare apply request (the whole event, or an SQS message body).
    pub fn from_event(event: &Value) -> Self {
        match recognise(event) {
            Envelope::EventBridge => eventbridge::unit(event),
            Envelope::Direct => Self::from_request(Trigger::Direct, None, ApplyRequest::from_json(event)),
            Envelope::Http | Envelope::Sqs => Self {
                trigger: Trigger::Sqs,
                event_id: None,
                work: Work::Done(Outcome::rejected(
                    Reason::InvalidEvent,
                    "an HTTP request or SQS batch cannot be nested in another event; send the apply request",
                )),
                attempt: 1,
            },
        }
    }

    pub fn from_request(
        trigger: Trigger,
        event_id: Option<String>,
        parsed: Result<ApplyRequest, crate::wrapup::request::InvalidRequest>,
    ) -> Self {
        let work = match parsed {
            Ok(request) => Work::Apply(request),
            Err(invalid) => Work::Done(Outcome::rejected(Reason::InvalidEvent, invalid.0)),
        };
        Self {
            trigger,
            event_id,
            work,
            attempt: 1,
        }
    }

    /// Messages about the same conversation are handled one after another.
    pub fn conversation_key(&self) -> Option<String> {
        match &self.work {
            Work::Apply(r) => Some(r.conversation_id.hyphenated().to_string()),
            Work::Native(e) => Some(e.conversation_id.hyphenated().to_string()),
            Work::Done(_) => None,
        }
    }
}

/// The whole function: one event in, the platform's reply out; `Err` means "retry me".
pub async fn handle(app: &App, event: Value, inv: &Invocation) -> Result<Value, Transient> {
    let started = std::time::Instant::now();
    let result = match recognise(&event) {
        Envelope::Http => Ok(webhook::handle(app, event, inv).await),
        Envelope::Sqs => sqs::handle(app, &event, inv).await,
        Envelope::EventBridge | Envelope::Direct => {
            let unit = Unit::from_event(&event);
            run(app, unit, inv, || event.to_string())
                .await
                .map(|o| o.to_json())
        }
    };
    emit_metrics(&inv.tally, &app.stats, started.elapsed());
    if let Some(sink) = &app.new_relic {
        sink.deliver(inv.take_events()).await;
    }
    result
}

/// Runs one unit: applies it, logs and counts the outcome, and records a rejection in the
/// attention queue (with `original`, the payload to re-drive once the cause is fixed).
pub async fn run(
    app: &App,
    unit: Unit,
    inv: &Invocation,
    original: impl FnOnce() -> String,
) -> Result<Outcome, Transient> {
    let ctx = LogContext {
        trigger: unit.trigger,
        request_id: &inv.request_id,
        event_id: unit.event_id.as_deref(),
    };
    let started = std::time::Instant::now();
    let (result, ids) = match unit.work {
        Work::Done(outcome) => (Ok(outcome), None),
        Work::Apply(request) => (
            match app.client_for(request.org_id) {
                Ok(genesys) => apply(genesys, &request, inv.deadline).await,
                Err(unknown) => Ok(unknown.outcome()),
            },
            Some((
                request.conversation_id.hyphenated().to_string(),
                request.wrap_up_code_id.hyphenated().to_string(),
            )),
        ),
        Work::Native(event) => (
            match app.client_for(event.org_id) {
                Ok(genesys) => {
                    apply_native(
                        genesys,
                        app.rules.current().await.as_ref(),
                        &event,
                        inv.deadline,
                    )
                    .await
                }
                Err(unknown) => {
                    let mut outcome = unknown.outcome();
                    outcome.conversation_id = Some(event.conversation_id.hyphenated().to_string());
                    Ok(outcome)
                }
            },
            Some((
                event.conversation_id.hyphenated().to_string(),
                String::new(),
            )),
        ),
    };
    let conversation = ids.as_ref().map(|(c, _)| c.clone());
    if app.new_relic.is_some() {
        let event_ctx = EventContext {
            trigger: unit.trigger,
            request_id: &inv.request_id,
            attempt: unit.attempt,
            duration: started.elapsed(),
        };
        inv.record_event(match &result {
            Ok(outcome) => outcome_event(outcome, event_ctx),
            Err(t) => transient_event(
                t,
                conversation.as_deref(),
                ids.as_ref().map(|(_, w)| w.as_str()),
                event_ctx,
            ),
        });
    }
    match &result {
        Ok(outcome) => {
            log_outcome(outcome, ctx);
            inv.tally.outcome(outcome);
            if outcome.status == Status::Rejected {
                if let Err(t) = report_rejection(app, outcome, &original(), ctx).await {
                    inv.tally.transient();
                    return Err(t);
                }
            }
        }
        Err(t) => {
            log_transient(t, conversation.as_deref(), ctx);
            inv.tally.transient();
        }
    }
    result
}

/// Sends a rejected request to the attention queue, when one is configured. Failing to record
/// it is transient: the platform retries rather than lose the rejection.
async fn report_rejection(
    app: &App,
    outcome: &Outcome,
    original: &str,
    ctx: LogContext<'_>,
) -> Result<(), Transient> {
    let Some(queue_url) = app.settings.attention_queue_url.as_deref() else {
        return Ok(());
    };
    let attributes = [
        (
            "reason",
            outcome
                .reason
                .map(Reason::as_str)
                .unwrap_or("rejected")
                .to_owned(),
        ),
        ("message", outcome.message.clone().unwrap_or_default()),
        (
            "conversationId",
            outcome.conversation_id.clone().unwrap_or_default(),
        ),
        (
            "wrapUpCodeId",
            outcome.wrap_up_code_id.clone().unwrap_or_default(),
        ),
        ("trigger", ctx.trigger.as_str().to_owned()),
        ("awsRequestId", ctx.request_id.to_owned()),
    ];
    app.queues
        .send(queue_url, original, &attributes)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::error!(error = %e, "could not record a rejection in the attention queue");
            Transient::new(
                TransientKind::Upstream,
                format!("could not record the rejection in the attention queue: {e}"),
            )
        })
}
