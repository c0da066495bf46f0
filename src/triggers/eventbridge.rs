//! EventBridge: custom events whose `detail` is an apply request, and Genesys's own partner
//! events, which need wrap-up rules to say which code applies.

use super::delivery::{short, Delivery, Trigger};
use crate::wrapup::{
    ApplyRequest, EventFacts, GenesysEvent, Identity, Kind, Outcome, Reason, Request, Topic,
};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub(crate) const GENESYS_SOURCE_PREFIX: &str = "aws.partner/genesys.com/";

/// The identity of an EventBridge event: its `id`, made at its `time`.
fn identity(event: &EventBridgeEvent<Value>) -> Option<Identity> {
    let id = event.id.as_deref().filter(|id| !id.trim().is_empty())?;
    Some(Identity::event_id(id).sent_at(event.time.map(std::time::SystemTime::from)))
}

/// A custom event: its `detail` is the apply request, its `id` the request's identity.
pub(crate) fn custom(event: &Value, trigger: Trigger) -> Delivery {
    match EventBridgeEvent::<Value>::deserialize(event) {
        Ok(event) => {
            let delivery = Delivery::apply(
                trigger,
                event.id.clone(),
                ApplyRequest::from_json(&event.detail),
            );
            match identity(&event) {
                Some(identity) => delivery.known_as(identity),
                None => delivery,
            }
        }
        Err(e) => Delivery::invalid(
            trigger,
            Kind::Apply,
            format!("not an EventBridge event: {}", short(&e)),
        ),
    }
}

/// A Genesys conversation event (`detail.eventBody`, enums in upper case). Topics the rules
/// cannot use are skipped: the integration may send more than they need.
pub(crate) fn genesys_event(event: &Value, trigger: Trigger) -> Delivery {
    let event = match EventBridgeEvent::<Value>::deserialize(event) {
        Ok(e) => e,
        Err(e) => {
            return Delivery::invalid(
                trigger,
                Kind::GenesysEvent,
                format!("not an EventBridge event: {}", short(&e)),
            )
        }
    };
    // The event's `id`, made at its `eventTime` (else the event's `time`).
    let known = identity(&event).map(|id| match event.detail["eventBody"]["eventTime"].as_i64() {
        Some(ms) => id.sent_at_epoch_ms(Some(ms)),
        None => id,
    });
    let delivery = |request| {
        let delivery = Delivery::new(trigger, event.id.clone(), request);
        match &known {
            Some(identity) => delivery.known_as(identity.clone()),
            None => delivery,
        }
    };
    let decided = |outcome| delivery(Request::Decided(Kind::GenesysEvent, outcome));
    let Some(topic) = Topic::from_detail_type(&event.detail_type) else {
        return decided(Outcome::decided(
            Reason::NoRule,
            format!(
                "Genesys topic {} is not one this function acts on",
                event.detail_type
            ),
        ));
    };
    let body = &event.detail["eventBody"];
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = |key: &str| text(key).and_then(|v| Uuid::parse_str(&v).ok());
    let Some(conversation_id) = id("conversationId") else {
        return decided(Outcome::decided(
            Reason::InvalidEvent,
            "the Genesys event has no conversationId UUID in detail.eventBody",
        ));
    };
    delivery(Request::GenesysEvent(GenesysEvent {
        org_id: org_from_source(&event.source),
        topic,
        conversation_id,
        participant_id: id("participantId"),
        session_id: id("sessionId"),
        facts: EventFacts {
            topic: Some(topic.as_str()),
            queue_id: text("queueId"),
            user_id: text("userId"),
            division_id: text("divisionId"),
            media_type: text("mediaType"),
            direction: text("direction"),
            disconnect_type: text("disconnectType"),
            // `acw` carries the code now on the communication (none: absent or empty).
            current_wrap_up_code: (topic == Topic::Acw)
                .then(|| text("wrapupCode").filter(|c| !c.trim().is_empty())),
        },
    }))
}

/// The org id in `aws.partner/genesys.com/cloud/<orgId>/<name>`.
fn org_from_source(source: &str) -> Option<Uuid> {
    source
        .strip_prefix(GENESYS_SOURCE_PREFIX)?
        .strip_prefix("cloud/")?
        .split('/')
        .next()
        .and_then(|org| Uuid::parse_str(org).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_org_comes_from_the_partner_source() {
        assert_eq!(
            org_from_source("aws.partner/genesys.com/cloud/6d2b4a3c-1f0e-4b8a-9c7d-5e4f3a2b1c0d/x")
                .map(|o| o.to_string())
                .as_deref(),
            Some("6d2b4a3c-1f0e-4b8a-9c7d-5e4f3a2b1c0d")
        );
        assert_eq!(
            org_from_source("aws.partner/genesys.com/cloud/acme/x"),
            None
        );
        assert_eq!(org_from_source("com.example.crm"), None);
    }
}
