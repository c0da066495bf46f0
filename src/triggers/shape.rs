//! Which envelope a JSON value is, told by the fields each platform always sends, and the
//! failed event inside a Lambda on-failure record.

use super::eventbridge::GENESYS_SOURCE_PREFIX;
use serde_json::Value;

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
            Some(source) if source.starts_with(GENESYS_SOURCE_PREFIX) => Shape::GenesysEvent,
            Some(_) => Shape::EventBridge,
            None => Shape::Direct,
        }
    } else {
        Shape::Direct
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
