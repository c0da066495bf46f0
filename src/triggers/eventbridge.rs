//! EventBridge: custom events whose `detail` is an apply request. Genesys's own partner events
//! are recognised by their source and need wrap-up rules to say which code applies.

use super::apply_value;
use crate::app::{App, Invocation};
use crate::error::Transient;
use crate::telemetry::{log_outcome, LogContext, Trigger};
use crate::wrapup::{Outcome, Reason};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

pub const GENESYS_PARTNER_SOURCE_PREFIX: &str = "aws.partner/genesys.com/";

pub async fn handle(app: &App, event: Value, inv: &Invocation) -> Result<Outcome, Transient> {
    let event: EventBridgeEvent<Value> = match serde_json::from_value(event) {
        Ok(e) => e,
        Err(e) => {
            let outcome = Outcome::rejected(
                Reason::InvalidEvent,
                format!("not an EventBridge event: {e}"),
            );
            let ctx = LogContext {
                trigger: Trigger::EventBridge,
                request_id: &inv.request_id,
                event_id: None,
            };
            log_outcome(&outcome, ctx);
            return Ok(outcome);
        }
    };
    let native = event.source.starts_with(GENESYS_PARTNER_SOURCE_PREFIX);
    let ctx = LogContext {
        trigger: if native {
            Trigger::Native
        } else {
            Trigger::EventBridge
        },
        request_id: &inv.request_id,
        event_id: event.id.as_deref(),
    };
    if native {
        let outcome = Outcome::skipped(
            Reason::NoRule,
            format!(
                "Genesys event {} names no wrap-up code and no wrap-up rule matches it",
                event.detail_type
            ),
        );
        log_outcome(&outcome, ctx);
        return Ok(outcome);
    }
    apply_value(app, event.detail, inv, ctx).await
}
