//! Trigger adapters: each turns its platform's envelope into deliveries, and outcomes back into
//! the reply that platform expects. One Lambda function serves them all, so the handler first
//! asks [`recognise`] what the event is; each adapter is then told its trigger.
//!
//! - `shape.rs`: which platform's envelope an event is, by the fields it always sends;
//! - `eventbridge.rs`: custom events and Genesys's own, with their event id and attempt;
//! - `sqs.rs`: the buffer queue's batches, and the partial batch reply;
//! - `webhook.rs`: the Function URL and HTTP API, checked by `signature.rs` (HMAC-SHA256);
//! - `delivery.rs`: what each of them makes, a delivery and its trigger.

mod delivery;
pub(crate) mod eventbridge;
mod shape;
pub mod signature;
pub(crate) mod sqs;
pub(crate) mod webhook;

pub(crate) use delivery::{short, Delivery, Trigger};
pub(crate) use shape::{destination_payload, shape, Shape};

use crate::wrapup::{ApplyRequest, Kind};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::sqs::SqsMessage;
use serde::Deserialize;
use serde_json::Value;

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
