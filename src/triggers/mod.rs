//! Trigger adapters: each turns its platform's envelope into apply requests, and outcomes back
//! into the reply that platform expects. One Lambda function serves them all, so the entry
//! point recognises the envelope first.

pub mod eventbridge;
pub mod signature;
pub mod webhook;

use crate::app::{App, Invocation};
use crate::apply::apply;
use crate::error::Transient;
use crate::telemetry::{log_outcome, log_transient, LogContext, Trigger};
use crate::wrapup::{ApplyRequest, Outcome, Reason};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// API Gateway HTTP API or Function URL, payload format 2.0.
    Http,
    EventBridge,
    /// A bare apply request (direct invoke, Step Functions) or anything unrecognised.
    Direct,
}

pub fn recognise(event: &Value) -> Envelope {
    let Some(obj) = event.as_object() else {
        return Envelope::Direct;
    };
    if obj
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some_and(Value::is_object)
    {
        Envelope::Http
    } else if obj.contains_key("detail-type")
        && obj.contains_key("source")
        && obj.contains_key("detail")
    {
        Envelope::EventBridge
    } else {
        Envelope::Direct
    }
}

/// The whole function: one event in, the platform's reply out; `Err` means "retry me".
pub async fn handle(app: &App, event: Value, inv: &Invocation) -> Result<Value, Transient> {
    match recognise(&event) {
        Envelope::Http => Ok(webhook::handle(app, event, inv).await),
        Envelope::EventBridge => eventbridge::handle(app, event, inv)
            .await
            .map(|o| o.to_json()),
        Envelope::Direct => {
            let ctx = LogContext {
                trigger: Trigger::Direct,
                request_id: &inv.request_id,
                event_id: None,
            };
            apply_value(app, event, inv, ctx).await.map(|o| o.to_json())
        }
    }
}

/// Parses an apply request and applies it, logging the outcome either way.
pub async fn apply_value(
    app: &App,
    payload: Value,
    inv: &Invocation,
    ctx: LogContext<'_>,
) -> Result<Outcome, Transient> {
    match ApplyRequest::from_value(payload) {
        Ok(request) => apply_logged(app, &request, inv, ctx).await,
        Err(invalid) => {
            let outcome = Outcome::rejected(Reason::InvalidEvent, invalid.0);
            log_outcome(&outcome, ctx);
            Ok(outcome)
        }
    }
}

pub async fn apply_logged(
    app: &App,
    request: &ApplyRequest,
    inv: &Invocation,
    ctx: LogContext<'_>,
) -> Result<Outcome, Transient> {
    let result = apply(&app.genesys, request, inv.deadline).await;
    match &result {
        Ok(outcome) => log_outcome(outcome, ctx),
        Err(t) => log_transient(
            t,
            Some(&request.conversation_id.hyphenated().to_string()),
            ctx,
        ),
    }
    result
}
