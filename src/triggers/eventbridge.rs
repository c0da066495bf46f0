//! EventBridge: custom events whose `detail` is an apply request. Genesys's own partner events
//! are recognised by their source and need wrap-up rules to say which code applies.

use super::{Unit, Work};
use crate::telemetry::Trigger;
use crate::wrapup::{ApplyRequest, Outcome, Reason};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

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
        let outcome = Outcome::skipped(
            Reason::NoRule,
            format!(
                "Genesys event {} names no wrap-up code and no wrap-up rule matches it",
                event.detail_type
            ),
        );
        return Unit {
            trigger: Trigger::Native,
            event_id: event.id,
            work: Work::Done(outcome),
            attempt: 1,
        };
    }
    Unit::from_request(
        Trigger::EventBridge,
        event.id,
        ApplyRequest::from_value(event.detail),
    )
}
