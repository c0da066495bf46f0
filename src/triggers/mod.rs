//! Trigger adapters: each turns its platform's envelope into units of work, and outcomes back
//! into the reply that platform expects. One Lambda function serves them all, so the handler
//! first asks [`recognise`] what arrived; each adapter is then told its trigger.

pub(crate) mod eventbridge;
pub mod signature;
pub(crate) mod sqs;
pub(crate) mod webhook;

use crate::wrapup::rules::NativeEvent;
use crate::wrapup::{ApplyRequest, InvalidRequest, Outcome, Reason};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::sqs::SqsMessage;
use serde::Deserialize;
use serde_json::Value;

/// How a request reached the function, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A custom EventBridge event (an apply request in `detail`).
    EventBridge,
    /// Genesys Cloud's own EventBridge events, decided by wrap-up rules.
    Native,
    Webhook,
    Sqs,
    /// A direct invoke (`aws lambda invoke`, Step Functions, `invoke`).
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

/// One request's worth of work, whatever envelope carried it.
#[derive(Debug, Clone)]
pub struct Unit {
    pub(crate) trigger: Trigger,
    pub(crate) event_id: Option<String>,
    /// Which delivery this is (SQS receive count; 1 otherwise).
    pub(crate) attempt: u32,
    pub(crate) work: Work,
}

#[derive(Debug, Clone)]
pub enum Work {
    Apply(ApplyRequest),
    /// A Genesys event: wrap-up rules pick the code.
    Native(NativeEvent),
    /// Decided without calling Genesys (an invalid event, a topic no rule acts on).
    Done(Outcome),
}

impl Unit {
    pub(crate) fn new(trigger: Trigger, event_id: Option<String>, work: Work) -> Self {
        Self {
            trigger,
            event_id,
            attempt: 1,
            work,
        }
    }

    /// A unit for a parsed apply request, or the `invalid_event` rejection explaining why not.
    pub(crate) fn request(
        trigger: Trigger,
        event_id: Option<String>,
        parsed: Result<ApplyRequest, InvalidRequest>,
    ) -> Self {
        let work = match parsed {
            Ok(request) => Work::Apply(request),
            Err(invalid) => Work::Done(Outcome::rejected(Reason::InvalidEvent, invalid.0)),
        };
        Self::new(trigger, event_id, work)
    }

    pub(crate) fn invalid(trigger: Trigger, message: impl Into<String>) -> Self {
        Self::new(
            trigger,
            None,
            Work::Done(Outcome::rejected(Reason::InvalidEvent, message)),
        )
    }

    /// The code an apply request names (rules name theirs later), for telemetry.
    pub(crate) fn requested_code(&self) -> Option<uuid::Uuid> {
        match &self.work {
            Work::Apply(r) => r.wrap_up.code.id(),
            Work::Native(_) | Work::Done(_) => None,
        }
    }

    /// Messages about the same conversation are handled one after another.
    pub(crate) fn conversation_key(&self) -> Option<uuid::Uuid> {
        match &self.work {
            Work::Apply(r) => Some(r.conversation_id),
            Work::Native(e) => Some(e.conversation_id),
            Work::Done(_) => None,
        }
    }
}

/// What arrived, recognised once from the raw event.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per invocation, moved once: boxing buys nothing
pub enum Arrival {
    /// A Function URL or API Gateway HTTP API request (payload 2.0), or why it is not one.
    Http(Result<Box<ApiGatewayV2httpRequest>, String>),
    /// An SQS batch (possibly empty).
    Sqs(Vec<SqsMessage>),
    /// One unit: an EventBridge event (custom or Genesys's own), a bare apply request, or
    /// something that is none of these (an `invalid_event` unit).
    Single(Unit),
    /// A direct invoke asking the function to run `doctor` as its own role (never honoured in
    /// an SQS body, an EventBridge detail or a webhook: those only carry apply requests).
    Doctor(crate::doctor::Options),
}

/// Which envelope a JSON value is, by the fields each platform always sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Http,
    Sqs,
    /// A custom EventBridge event.
    EventBridge,
    /// Genesys Cloud's own EventBridge event (a partner event source).
    Genesys,
    /// A bare apply request, or anything unrecognised.
    Direct,
}

pub(crate) fn shape(event: &Value) -> Shape {
    let Some(obj) = event.as_object() else {
        return Shape::Direct;
    };
    let records = obj.get("Records").and_then(Value::as_array);
    let from_sqs = records.is_some_and(|records| {
        records.is_empty()
            || records[0].get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
    });
    if obj
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some_and(Value::is_object)
    {
        Shape::Http
    } else if from_sqs {
        Shape::Sqs
    } else if obj.contains_key("detail-type") && obj.contains_key("detail") {
        match obj.get("source").and_then(Value::as_str) {
            Some(source) if source.starts_with(eventbridge::GENESYS_SOURCE_PREFIX) => {
                Shape::Genesys
            }
            Some(_) => Shape::EventBridge,
            None => Shape::Direct,
        }
    } else {
        Shape::Direct
    }
}

/// The recogniser: what this invocation's event is.
pub fn recognise(event: &Value) -> Arrival {
    match shape(event) {
        Shape::Http => Arrival::Http(
            ApiGatewayV2httpRequest::deserialize(event)
                .map(Box::new)
                .map_err(|e| format!("not an HTTP API (payload 2.0) request: {}", short(&e))),
        ),
        Shape::Sqs => match aws_lambda_events::sqs::SqsEvent::deserialize(event) {
            Ok(batch) => Arrival::Sqs(batch.records),
            Err(e) => Arrival::Single(Unit::invalid(
                Trigger::Sqs,
                format!("not an SQS batch: {}", short(&e)),
            )),
        },
        Shape::EventBridge => Arrival::Single(eventbridge::custom(event, Trigger::EventBridge)),
        Shape::Genesys => Arrival::Single(eventbridge::native(event, Trigger::Native)),
        Shape::Direct => match event.get("doctor") {
            Some(options) => match crate::doctor::Options::deserialize(options) {
                Ok(options) => Arrival::Doctor(options),
                Err(e) => Arrival::Single(Unit::invalid(
                    Trigger::Direct,
                    format!("not doctor options: {}", short(&e)),
                )),
            },
            None => Arrival::Single(Unit::request(
                Trigger::Direct,
                None,
                ApplyRequest::from_json(event),
            )),
        },
    }
}

/// serde's message, bounded, without the values it quotes.
fn short(e: &serde_json::Error) -> String {
    crate::error::serde_problem(e)
}
