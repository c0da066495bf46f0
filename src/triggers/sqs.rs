//! SQS batches (EventBridge → SQS → Lambda, `ReportBatchItemFailures`). Messages run
//! concurrently, except that messages about one conversation run one after another; only
//! transient failures are reported, each with a visibility timeout that follows the wait
//! Genesys asked for and grows with the receive count.

use super::{run, Unit, Work};
use crate::app::{App, Invocation};
use crate::error::{Transient, TransientKind};
use crate::queues::queue_url_from_arn;
use crate::telemetry::Trigger;
use crate::wrapup::{Outcome, Reason};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Semaphore;

/// First backoff of a failed message; doubles with each receive, up to the configured cap.
pub const BASE_BACKOFF: Duration = Duration::from_secs(30);

struct Message {
    id: String,
    receipt_handle: Option<String>,
    queue_url: Option<String>,
    receive_count: u32,
    body: String,
    unit: Unit,
}

impl Message {
    fn new(record: SqsMessage) -> Self {
        let body = record.body.unwrap_or_default();
        let unit = match serde_json::from_str::<Value>(&body) {
            Ok(payload) => {
                let mut unit = Unit::from_event(unwrap_destination_record(&payload));
                if unit.trigger != Trigger::Native {
                    unit.trigger = Trigger::Sqs;
                }
                unit
            }
            Err(e) => Unit {
                trigger: Trigger::Sqs,
                event_id: None,
                work: Work::Done(Outcome::rejected(
                    Reason::InvalidEvent,
                    format!("the message body is not JSON: {e}"),
                )),
                attempt: 1,
            },
        };
        let id = record.message_id.unwrap_or_default();
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        Self {
            unit: Unit {
                event_id: unit.event_id.or_else(|| Some(id.clone())),
                attempt: receive_count,
                ..unit
            },
            id,
            receipt_handle: record.receipt_handle,
            queue_url: record
                .event_source_arn
                .as_deref()
                .and_then(queue_url_from_arn),
            receive_count,
            body,
        }
    }
}

/// A Lambda on-failure destination record carries the failed event in `requestPayload`.
pub fn unwrap_destination_record(payload: &Value) -> &Value {
    let is_record = payload
        .get("requestContext")
        .and_then(|c| c.get("functionArn"))
        .is_some()
        && payload.get("responseContext").is_some();
    match payload.get("requestPayload") {
        Some(inner) if is_record => inner,
        _ => payload,
    }
}

/// The visibility timeout of a failed message: the wait asked for, or the backoff for this
/// receive, whichever is longer, never over `cap`.
pub fn visibility_timeout(t: &Transient, receive_count: u32, cap: Duration) -> Duration {
    let exponent = receive_count.clamp(1, 16) - 1;
    let backoff = BASE_BACKOFF.saturating_mul(1u32 << exponent);
    t.retry_after
        .unwrap_or(Duration::ZERO)
        .max(backoff)
        .min(cap)
}

enum Fate {
    Done,
    Failed,
    NotStarted,
}

pub async fn handle(app: &App, event: &Value, inv: &Invocation) -> Result<Value, Transient> {
    let batch = SqsEvent::deserialize(event).map_err(|e| {
        Transient::new(
            TransientKind::Upstream,
            format!("unreadable SQS batch: {e}"),
        )
    })?;
    let messages: Vec<Message> = batch.records.into_iter().map(Message::new).collect();

    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        let key = m
            .unit
            .conversation_key()
            .unwrap_or_else(|| format!("message:{}", m.id));
        match by_key.get(&key) {
            Some(&g) => groups[g].push(i),
            None => {
                by_key.insert(key, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    let permits = Semaphore::new(
        app.settings
            .batch_concurrency
            .unwrap_or(messages.len())
            .max(1),
    );
    let results = join_all(
        groups
            .iter()
            .map(|group| run_group(app, &messages, group, &permits, inv)),
    )
    .await;

    let mut failed: Vec<usize> = results
        .into_iter()
        .flatten()
        .filter(|(_, r)| !matches!(r, Fate::Done))
        .map(|(i, _)| i)
        .collect();
    failed.sort_unstable();
    let failures: Vec<Value> = failed
        .iter()
        .map(|&i| json!({"itemIdentifier": messages[i].id}))
        .collect();
    Ok(json!({ "batchItemFailures": failures }))
}

/// Time an unstarted message needs: reading and writing, with the reserve.
fn time_to_start(app: &App) -> Duration {
    app.settings.genesys_call_timeout * 2 + Duration::from_secs(1)
}

async fn run_group(
    app: &App,
    messages: &[Message],
    group: &[usize],
    permits: &Semaphore,
    inv: &Invocation,
) -> Vec<(usize, Fate)> {
    let mut out = Vec::with_capacity(group.len());
    let mut stop = false;
    for &i in group {
        let message = &messages[i];
        let Ok(_permit) = permits.acquire().await else {
            out.push((i, Fate::NotStarted));
            continue;
        };
        // After a transient failure, later messages about the same conversation wait too, so
        // they are not applied out of order.
        if stop || inv.deadline.remaining(app.clock.as_ref()) < time_to_start(app) {
            tracing::info!(message_id = %message.id, "not started: deadline near or an earlier message of this conversation failed");
            out.push((i, Fate::NotStarted));
            continue;
        }
        match run(app, message.unit.clone(), inv, || message.body.clone()).await {
            Ok(_) => out.push((i, Fate::Done)),
            Err(t) => {
                stop = true;
                delay_redelivery(app, message, &t).await;
                out.push((i, Fate::Failed));
            }
        }
    }
    out
}

async fn delay_redelivery(app: &App, message: &Message, t: &Transient) {
    let (Some(queue_url), Some(receipt)) = (
        message.queue_url.as_deref(),
        message.receipt_handle.as_deref(),
    ) else {
        return;
    };
    let wait = visibility_timeout(t, message.receive_count, app.settings.max_backoff);
    let seconds = i32::try_from(wait.as_secs()).unwrap_or(43_200);
    if let Err(e) = app
        .queues
        .change_visibility(queue_url, receipt, seconds)
        .await
    {
        // The message still comes back, after the queue's own visibility timeout.
        tracing::warn!(message_id = %message.id, error = %e, "could not set the retry delay");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            unwrap_destination_record(&record),
            &json!({"conversationId": "x"})
        );
        let plain = json!({"requestPayload": 1});
        assert_eq!(unwrap_destination_record(&plain), &plain);
    }
}
