//! Trigger adapters: each turns its platform's envelope into deliveries, and outcomes back into
//! the reply that platform expects. One Lambda function serves them all, so the handler first
//! asks [`recognise`] what the event is; each adapter is then told its trigger.

pub(crate) mod eventbridge;
pub mod signature;
pub(crate) mod sqs;
pub(crate) mod webhook;

use crate::wrapup::{ApplyRequest, InvalidRequest, Kind, Outcome, Reason, Request};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::sqs::SqsMessage;
use serde::Deserialize;
use serde_json::Value;

/// How a delivery reached the function (whatever it asks: see [`Kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// An EventBridge rule invoked the function: a custom event, or one of Genesys's own.
    EventBridge,
    /// A signed POST through the Function URL or the HTTP API.
    Webhook,
    /// A message of an SQS batch (the buffer queue, or a re-drive).
    Sqs,
    /// A direct invoke (`aws lambda invoke`, Step Functions, `invoke`).
    Direct,
}

impl Trigger {
    /// The name in logs, New Relic and the attention queue.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::EventBridge => "eventbridge",
            Self::Webhook => "webhook",
            Self::Sqs => "sqs",
            Self::Direct => "direct",
        }
    }
}

/// One request as it was delivered: how it came, which event carried it, which attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub(crate) trigger: Trigger,
    /// The EventBridge event id, the HTTP request id or the SQS message id.
    pub(crate) event_id: Option<String>,
    /// Which delivery this is (the SQS receive count; 1 otherwise).
    pub(crate) attempt: u32,
    pub(crate) request: Request,
}

impl Delivery {
    pub(crate) fn new(trigger: Trigger, event_id: Option<String>, request: Request) -> Self {
        Self {
            trigger,
            event_id,
            attempt: 1,
            request,
        }
    }

    /// A delivery of a parsed apply request, or of the `invalid_event` rejection saying why not.
    pub(crate) fn apply(
        trigger: Trigger,
        event_id: Option<String>,
        parsed: Result<ApplyRequest, InvalidRequest>,
    ) -> Self {
        let request = match parsed {
            Ok(request) => Request::Apply(request),
            Err(invalid) => Request::Decided(
                Kind::Apply,
                Outcome::decided(Reason::InvalidEvent, invalid.0),
            ),
        };
        Self::new(trigger, event_id, request)
    }

    /// An event that carries no request at all (`invalid_event`).
    pub(crate) fn invalid(trigger: Trigger, kind: Kind, message: impl Into<String>) -> Self {
        Self::new(
            trigger,
            None,
            Request::Decided(kind, Outcome::decided(Reason::InvalidEvent, message)),
        )
    }
}

/// What one invocation's event is, by its platform's envelope.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per invocation, moved once: boxing buys nothing
pub enum Envelope {
    /// A Function URL or API Gateway HTTP API request (payload 2.0), or why it is not one.
    Http(Result<Box<ApiGatewayV2httpRequest>, String>),
    /// An SQS batch (possibly empty): one delivery per message.
    SqsBatch(Vec<SqsMessage>),
    /// One delivery: an EventBridge event (custom or Genesys's own), a bare apply request, or
    /// something that is none of these (an `invalid_event` delivery).
    Single(Delivery),
    /// A direct invoke asking the function to run `doctor` as its own role, with the options
    /// still unparsed (never honoured in an SQS body, an EventBridge detail or a webhook: those
    /// only carry requests).
    Doctor(Value),
}

/// Which envelope a JSON value is, by the fields each platform always sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Http,
    Sqs,
    /// A custom EventBridge event.
    EventBridge,
    /// Genesys Cloud's own EventBridge event (a partner event source).
    GenesysEvent,
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
                Shape::GenesysEvent
            }
            Some(_) => Shape::EventBridge,
            None => Shape::Direct,
        }
    } else {
        Shape::Direct
    }
}

/// The recogniser: what this invocation's event is.
pub fn recognise(event: &Value) -> Envelope {
    match shape(event) {
        Shape::Http => Envelope::Http(
            ApiGatewayV2httpRequest::deserialize(event)
                .map(Box::new)
                .map_err(|e| format!("not an HTTP API (payload 2.0) request: {}", short(&e))),
        ),
        Shape::Sqs => match aws_lambda_events::sqs::SqsEvent::deserialize(event) {
            Ok(batch) => Envelope::SqsBatch(batch.records),
            Err(e) => Envelope::Single(Delivery::invalid(
                Trigger::Sqs,
                Kind::Apply,
                format!("not an SQS batch: {}", short(&e)),
            )),
        },
        Shape::EventBridge => Envelope::Single(eventbridge::custom(event, Trigger::EventBridge)),
        Shape::GenesysEvent => {
            Envelope::Single(eventbridge::genesys_event(event, Trigger::EventBridge))
        }
        Shape::Direct => match (event.get("doctor"), destination_payload(event)) {
            (Some(options), _) => Envelope::Doctor(options.clone()),
            // A Lambda on-failure record sent back by hand: the event it failed on.
            (None, Some(original)) if destination_payload(original).is_none() => {
                recognise(original)
            }
            (None, _) => Envelope::Single(Delivery::apply(
                Trigger::Direct,
                None,
                ApplyRequest::from_json(event),
            )),
        },
    }
}

/// The failed event inside a Lambda on-failure destination record (`requestContext` with its
/// `functionArn`, `requestPayload`, `responseContext`), if `payload` is one.
pub(crate) fn destination_payload(payload: &Value) -> Option<&Value> {
    let is_record = payload
        .get("requestContext")
        .and_then(|c| c.get("functionArn"))
        .is_some()
        && payload.get("responseContext").is_some();
    payload.get("requestPayload").filter(|_| is_record)
}

/// serde's message, bounded, without the values it quotes.
pub(crate) fn short(e: &serde_json::Error) -> String {
    crate::error::serde_problem(e)
}
