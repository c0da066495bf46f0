//! SQS batches (EventBridge → SQS → Lambda, `ReportBatchItemFailures`): each message body is
//! any other event kind, or a Lambda on-failure destination record around one; the reply lists
//! only the transient failures, each given a visibility timeout that follows the wait Genesys
//! asked for and grows with the receive count.

use super::delivery::{short, Delivery, Trigger};
use super::eventbridge;
use super::shape::{destination_payload, shape, Shape};
use crate::error::Transient;
use crate::wrapup::{ApplyRequest, Identity, Kind};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

/// First backoff of a failed message; doubles with each receive, up to the configured cap.
const BASE_BACKOFF: Duration = Duration::from_secs(30);
/// The message attribute that carries a queued webhook request's `Idempotency-Key`.
pub(crate) const IDEMPOTENCY_KEY_ATTRIBUTE: &str = "idempotencyKey";

pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) receipt_handle: Option<String>,
    pub(crate) queue_url: Option<String>,
    pub(crate) receive_count: u32,
    /// The raw body: what the attention queue receives if this message is rejected.
    pub(crate) body: String,
    pub(crate) delivery: Delivery,
}

impl Message {
    pub(crate) fn new(record: SqsMessage) -> Self {
        let body = record.body.unwrap_or_default();
        let id = record.message_id.unwrap_or_default();
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let mut delivery = match serde_json::from_str::<Value>(&body) {
            Ok(payload) => delivery(destination_payload(&payload).unwrap_or(&payload)),
            Err(e) => Delivery::invalid(
                Trigger::Sqs,
                Kind::Apply,
                format!("the message body is not JSON: {}", short(&e)),
            ),
        };
        // A webhook request queued in enqueue mode keeps its sender's `Idempotency-Key`.
        if let Some(key) = record
            .message_attributes
            .get(IDEMPOTENCY_KEY_ATTRIBUTE)
            .and_then(|a| a.string_value.as_deref())
            .filter(|k| !k.trim().is_empty())
        {
            delivery = delivery.known_as(Identity::idempotency_key(key));
        }
        // A request with no time of its own was made when it was queued.
        let sent = record
            .attributes
            .get("SentTimestamp")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        delivery = delivery.sent_at(sent);
        delivery.event_id = delivery.event_id.or_else(|| Some(id.clone()));
        delivery.attempt = receive_count;
        Self {
            id,
            receipt_handle: record.receipt_handle,
            queue_url: record
                .event_source_arn
                .as_deref()
                .and_then(queue_url_from_arn),
            receive_count,
            body,
            delivery,
        }
    }
}

/// A message body: an EventBridge event (custom or Genesys's own) or a bare apply request.
fn delivery(payload: &Value) -> Delivery {
    match shape(payload) {
        Shape::EventBridge => eventbridge::custom(payload, Trigger::Sqs),
        Shape::GenesysEvent => eventbridge::genesys_event(payload, Trigger::Sqs),
        Shape::Direct => Delivery::apply(Trigger::Sqs, None, ApplyRequest::from_json(payload)),
        Shape::Http | Shape::Sqs => Delivery::invalid(
            Trigger::Sqs,
            Kind::Apply,
            "an HTTP request or SQS batch cannot be nested in a message; send the apply request",
        ),
    }
}

/// `arn:aws:sqs:<region>:<account>:<name>` → the queue URL the SQS API takes.
fn queue_url_from_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "sqs", region, account, name] if !name.is_empty() => {
            let domain = match *partition {
                "aws-cn" => "amazonaws.com.cn",
                _ => "amazonaws.com",
            };
            Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
        }
        _ => None,
    }
}

/// The visibility timeout of a failed message: the wait asked for, or the backoff for this
/// receive, whichever is longer, never over `cap`. Every transient kind follows the same
/// schedule, `in_progress` included: a message that meets another instance's lease (which it
/// outlasts: the first backoff is longer than any ordinary lease, and a lease held after an
/// unknown write names its end) spends one receive, as any retry does, so the retry horizon
/// the receive count gives holds whatever the contention.
pub(crate) fn visibility_timeout(t: &Transient, receive_count: u32, cap: Duration) -> Duration {
    let exponent = receive_count.clamp(1, 16) - 1;
    let backoff = BASE_BACKOFF.saturating_mul(1u32 << exponent);
    t.retry_after
        .unwrap_or(Duration::ZERO)
        .max(backoff)
        .min(cap)
}

/// The batch reply: the messages to receive again.
pub(crate) fn response<'a>(failed: impl Iterator<Item = &'a str>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.to_owned();
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransientKind;
    use serde_json::json;

    fn t(retry_after: Option<u64>) -> Transient {
        Transient::new(TransientKind::RateLimited, "x")
            .with_retry_after(retry_after.map(Duration::from_secs))
    }

    #[test]
    fn backoff_follows_retry_after_and_grows_with_receives_up_to_the_cap() {
        let cap = Duration::from_secs(900);
        assert_eq!(
            visibility_timeout(&t(None), 1, cap),
            Duration::from_secs(30)
        );
        assert_eq!(
            visibility_timeout(&t(None), 3, cap),
            Duration::from_secs(120)
        );
        assert_eq!(
            visibility_timeout(&t(Some(200)), 1, cap),
            Duration::from_secs(200)
        );
        assert_eq!(
            visibility_timeout(&t(Some(20)), 2, cap),
            Duration::from_secs(60)
        );
        assert_eq!(visibility_timeout(&t(None), 50, cap), cap);
        assert_eq!(visibility_timeout(&t(Some(86_400)), 1, cap), cap);
        // Contention spends receives no faster than any other retry.
        let busy = Transient::new(TransientKind::InProgress, "x")
            .with_retry_after(Some(Duration::from_secs(5)));
        assert_eq!(visibility_timeout(&busy, 1, cap), Duration::from_secs(30));
        assert_eq!(visibility_timeout(&busy, 3, cap), Duration::from_secs(120));
    }

    #[test]
    fn queue_urls_from_arns() {
        assert_eq!(
            queue_url_from_arn("arn:aws:sqs:eu-west-1:123456789012:wrapup-buffer").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/wrapup-buffer")
        );
        assert_eq!(
            queue_url_from_arn("arn:aws-cn:sqs:cn-north-1:1:q").as_deref(),
            Some("https://sqs.cn-north-1.amazonaws.com.cn/1/q")
        );
        assert_eq!(queue_url_from_arn("arn:aws:sns:eu-west-1:1:x"), None);
        assert_eq!(queue_url_from_arn("nonsense"), None);
    }

    #[test]
    fn destination_records_are_unwrapped() {
        let record = json!({
            "version": "1.0", "timestamp": "2026-11-25T09:00:00.000Z",
            "requestContext": {"requestId": "r", "functionArn": "arn:aws:lambda:eu-west-1:1:function:f:$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"conversationId": "x"},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "Transient.not_ended"}
        });
        assert_eq!(
            destination_payload(&record),
            Some(&json!({"conversationId": "x"}))
        );
        let plain = json!({"requestPayload": 1});
        assert_eq!(destination_payload(&plain), None);
    }
}
