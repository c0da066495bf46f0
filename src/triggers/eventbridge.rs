//! EventBridge: custom events whose `detail` is an apply request. Genesys's own partner events
//! are recognised by their source and need wrap-up rules to say which code applies.

use super::{Unit, Work};
use crate::telemetry::Trigger;
use crate::wrapup::rules::{EventFacts, NativeEvent, Topic};
use crate::wrapup::{ApplyRequest, Outcome, Reason};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub const GENESYS_PARTNER_SOURCE_PREFIX: &str = "aws.partner/genesys.com/";

pub fn unit(event: &Value) -> Unit {
    let event = match EventBridgeEvent::<Value>::deserialize(event) {
        Ok(e) => e,
        Err(e) => {
            return Unit {
                trigger: Trigger::EventBridge,
                event_id: None,
                work: Work::Done(Outcome::rejected(
                    Reason::InvalidEvent,
                    format!("not an EventBridge event: {e}"),
                )),
                attempt: 1,
            }
        }
    };
    if event.source.starts_with(GENESYS_PARTNER_SOURCE_PREFIX) {
        return native_unit(&event);
    }
    Unit::from_request(
        Trigger::EventBridge,
        event.id,
        ApplyRequest::from_value(event.detail),
    )
}

/// The org id in `aws.partner/genesys.com/cloud/<orgId>/<name>`.
pub fn org_from_source(source: &str) -> Option<Uuid> {
    source
        .strip_prefix(GENESYS_PARTNER_SOURCE_PREFIX)?
        .strip_prefix("cloud/")?
        .split('/')
        .next()
        .and_then(|org| Uuid::parse_str(org).ok())
}

/// A Genesys conversation event (`detail.eventBody`, enums in upper case). Other topics are
/// skipped: the integration may send more than the rules can use.
fn native_unit(event: &EventBridgeEvent<Value>) -> Unit {
    let unit = |work| Unit {
        trigger: Trigger::Native,
        event_id: event.id.clone(),
        work,
        attempt: 1,
    };
    let Some(topic) = Topic::from_detail_type(&event.detail_type) else {
        return unit(Work::Done(Outcome::skipped(
            Reason::NoRule,
            format!(
                "Genesys topic {} is not one this function acts on",
                event.detail_type
            ),
        )));
    };
    let body = &event.detail["eventBody"];
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = |key: &str| text(key).and_then(|v| Uuid::parse_str(&v).ok());
    let Some(conversation_id) = id("conversationId") else {
        return unit(Work::Done(Outcome::rejected(
            Reason::InvalidEvent,
            "the Genesys event has no conversationId UUID in detail.eventBody",
        )));
    };
    unit(Work::Native(NativeEvent {
        org_id: org_from_source(&event.source),
        topic,
        conversation_id,
        participant_id: id("participantId"),
        session_id: id("sessionId"),
        facts: EventFacts {
            topic: Some(topic.as_str()),
            queue_id: text("queueId"),
            division_id: text("divisionId"),
            media_type: text("mediaType"),
            direction: text("direction"),
            disconnect_type: text("disconnectType"),
        },
    }))
}
