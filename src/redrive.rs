//! Sending what waits in the attention queue on again, once its cause is fixed. Four kinds of
//! message land there, each recognised by what its writer puts on it:
//!
//! | kind | written by | recognised by | the original event |
//! |---|---|---|---|
//! | `rejection` | the function | its `reason` attribute (and `dryRun`) | the body |
//! | `lambda_failure` | Lambda's on-failure destination | `requestContext`, `requestPayload`, `responseContext` | `requestPayload` |
//! | `eventbridge_dlq` | an EventBridge rule's dead-letter queue | `ERROR_CODE` and `RULE_ARN` attributes | the body |
//! | `buffer_dlq` | SQS's redrive from the buffer queue | `DeadLetterQueueSourceArn`, else a body the function reads | the body |
//!
//! Each original goes to a queue (the buffer queue) or to the function (an asynchronous
//! invoke); a message is deleted only once it was sent on. Anything else is left in the queue.

use crate::triggers::{destination_payload, recognise as envelope, Envelope};
use crate::wrapup::{Reason, Request};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long a received message stays hidden while the run decides about it; skipped and
/// failed ones are made visible again at the end.
const HOLD: Duration = Duration::from_secs(300);

/// What a message in the attention queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Rejection,
    LambdaFailure,
    EventBridgeDlq,
    BufferDlq,
    Unknown,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Rejection => "rejection",
            Self::LambdaFailure => "lambda_failure",
            Self::EventBridgeDlq => "eventbridge_dlq",
            Self::BufferDlq => "buffer_dlq",
            Self::Unknown => "unknown",
        }
    }
}

/// One received message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) receipt_handle: String,
    pub(crate) body: String,
    /// String message attributes.
    pub(crate) attributes: BTreeMap<String, String>,
    /// SQS's own attributes (`DeadLetterQueueSourceArn`, ...).
    pub(crate) system: BTreeMap<String, String>,
}

/// What a message is, why it is there, and the event to send on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recognised {
    pub(crate) kind: Kind,
    /// The rejection's reason; for what the platform moved, the kind.
    pub(crate) reason: String,
    pub(crate) original: Option<String>,
    /// A rejection recorded in a dry run.
    pub(crate) dry_run: bool,
}

pub(crate) fn recognise(message: &Message) -> Recognised {
    let attribute = |name: &str| message.attributes.get(name).map(String::as_str);
    let of = |kind: Kind, original: Option<String>| Recognised {
        kind,
        reason: kind.as_str().to_owned(),
        original,
        dry_run: false,
    };
    if let Some(reason) = attribute("reason") {
        return Recognised {
            kind: Kind::Rejection,
            reason: reason.to_owned(),
            original: Some(message.body.clone()),
            dry_run: attribute("dryRun") == Some("true"),
        };
    }
    if attribute("ERROR_CODE").is_some() && attribute("RULE_ARN").is_some() {
        return of(Kind::EventBridgeDlq, Some(message.body.clone()));
    }
    let body: Option<Value> = serde_json::from_str(&message.body).ok();
    if let Some(original) = body.as_ref().and_then(destination_payload) {
        return of(Kind::LambdaFailure, serde_json::to_string(original).ok());
    }
    let from_buffer = message.system.contains_key("DeadLetterQueueSourceArn")
        || body.as_ref().is_some_and(is_request);
    if from_buffer {
        return of(Kind::BufferDlq, Some(message.body.clone()));
    }
    of(Kind::Unknown, None)
}

/// A body the function reads as a request: an EventBridge event (custom or Genesys's own) or
/// an apply request.
fn is_request(body: &Value) -> bool {
    match envelope(body) {
        Envelope::Single(delivery) => !matches!(
            &delivery.request,
            Request::Decided(_, outcome) if outcome.reason == Some(Reason::InvalidEvent)
        ),
        _ => false,
    }
}

/// Where originals go.
#[derive(Debug, Clone)]
pub(crate) enum Destination {
    /// An SQS queue (the buffer queue): the body as the function's SQS trigger reads it.
    Queue(String),
    /// The function, invoked asynchronously with the event.
    Function(String),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queue(url) => write!(f, "queue {url}"),
            Self::Function(name) => write!(f, "function {name}"),
        }
    }
}

/// What to send on.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) from: String,
    pub(crate) to: Destination,
    /// Only these reasons (empty: every one).
    pub(crate) reasons: BTreeSet<String>,
    pub(crate) include_dry_run: bool,
    pub(crate) max: Option<usize>,
    /// List only; change nothing.
    pub(crate) dry_run: bool,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Sent,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Line {
    pub(crate) message_id: String,
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
    pub(crate) action: Action,
    pub(crate) detail: String,
}

/// The run's result, as `--json` prints it.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) sent: usize,
    pub(crate) skipped: usize,
    pub(crate) failed: usize,
    pub(crate) messages: Vec<Line>,
}

impl Report {
    fn push(&mut self, line: Line) {
        match line.action {
            Action::Sent => self.sent += 1,
            Action::Skipped => self.skipped += 1,
            Action::Failed => self.failed += 1,
        }
        self.messages.push(line);
    }
}

/// The SQS and Lambda calls of a run.
pub(crate) struct Clients {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
}

/// Receives every message of `options.from` once, and sends each original on or leaves it.
pub(crate) async fn run(clients: &Clients, options: &Options) -> Result<Report, String> {
    let mut report = Report::default();
    let mut seen = BTreeSet::new();
    let mut held = Vec::new();
    'receiving: loop {
        let batch = receive(&clients.sqs, &options.from).await?;
        let fresh: Vec<Message> = batch
            .into_iter()
            .filter(|m| seen.insert(m.id.clone()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        let mut fresh = fresh.into_iter();
        while let Some(message) = fresh.next() {
            if options.max.is_some_and(|max| report.messages.len() >= max) {
                // This message and the rest of the batch were received but not handled.
                held.push(message.receipt_handle);
                held.extend(fresh.map(|m| m.receipt_handle));
                break 'receiving;
            }
            let line = handle(clients, options, &message).await;
            if line.action != Action::Sent {
                held.push(message.receipt_handle.clone());
            }
            report.push(line);
        }
    }
    // What stays in the queue is visible again at once, as it was before the run.
    for receipt in held {
        let _ = clients
            .sqs
            .change_message_visibility()
            .queue_url(&options.from)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await;
    }
    Ok(report)
}

async fn handle(clients: &Clients, options: &Options, message: &Message) -> Line {
    let found = recognise(message);
    let line = |action: Action, detail: String| Line {
        message_id: message.id.clone(),
        kind: found.kind.as_str(),
        reason: found.reason.clone(),
        action,
        detail,
    };
    let Some(original) = found.original.as_deref() else {
        return line(
            Action::Failed,
            "not a message this function or the platform writes: left in the queue".into(),
        );
    };
    if !options.reasons.is_empty() && !options.reasons.contains(&found.reason) {
        return line(Action::Skipped, "another reason than --reason".into());
    }
    if found.dry_run && !options.include_dry_run {
        return line(
            Action::Skipped,
            "rejected in a dry run (--include-dry-run sends it)".into(),
        );
    }
    if options.dry_run {
        return line(
            Action::Skipped,
            format!("dry run: would send to {}", options.to),
        );
    }
    if let Err(why) = send(clients, &options.to, original).await {
        return line(Action::Failed, format!("{why}; left in the queue"));
    }
    match clients
        .sqs
        .delete_message()
        .queue_url(&options.from)
        .receipt_handle(&message.receipt_handle)
        .send()
        .await
    {
        Ok(_) => line(Action::Sent, format!("to {}", options.to)),
        Err(e) => line(
            Action::Failed,
            format!(
                "sent to {}, but not deleted ({}): a second run would send it again, which the function answers already_applied",
                options.to,
                crate::aws_errors::explain(&e, "sqs:DeleteMessage", &format!("queue {}", options.from))
            ),
        ),
    }
}

async fn send(clients: &Clients, to: &Destination, original: &str) -> Result<(), String> {
    match to {
        Destination::Queue(url) => clients
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(original)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "could not send to {url}: {}",
                    crate::aws_errors::explain(&e, "sqs:SendMessage", &format!("queue {url}"))
                )
            }),
        Destination::Function(name) => {
            let sent = clients
                .lambda
                .invoke()
                .function_name(name)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(original.as_bytes()))
                .send()
                .await;
            match sent {
                Ok(out) if out.status_code == 202 => Ok(()),
                Ok(out) => Err(format!(
                    "{name} answered {} to an asynchronous invoke",
                    out.status_code
                )),
                Err(e) => Err(format!(
                    "could not invoke {name}: {}",
                    crate::aws_errors::explain(
                        &e,
                        "lambda:InvokeFunction",
                        &format!("function {name}")
                    )
                )),
            }
        }
    }
}

/// Up to ten messages, with every attribute, held for [`HOLD`].
async fn receive(sqs: &aws_sdk_sqs::Client, queue: &str) -> Result<Vec<Message>, String> {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    let out = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .visibility_timeout(HOLD.as_secs() as i32)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not receive from {queue}: {}",
                crate::aws_errors::explain(&e, "sqs:ReceiveMessage", &format!("queue {queue}"))
            )
        })?;
    Ok(out
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| Message {
            id: m.message_id.unwrap_or_default(),
            receipt_handle: m.receipt_handle.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            attributes: m
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.string_value?)))
                .collect(),
            system: m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(body: Value, attributes: &[(&str, &str)]) -> Message {
        Message {
            id: "m".into(),
            receipt_handle: "r".into(),
            body: body.to_string(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            system: BTreeMap::new(),
        }
    }

    const REQUEST: &str = r#"{"conversationId": "c0000000-0000-4000-8000-000000000001", "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000001"}}"#;

    #[test]
    fn each_kind_is_recognised_and_unwrapped() {
        let request: Value = serde_json::from_str(REQUEST).unwrap();
        let rejection = recognise(&message(
            request.clone(),
            &[("reason", "division_mismatch"), ("dryRun", "true")],
        ));
        assert_eq!(
            (rejection.kind, rejection.reason.as_str(), rejection.dry_run),
            (Kind::Rejection, "division_mismatch", true)
        );
        let record = json!({
            "version": "1.0", "timestamp": "2026-11-25T09:00:00.000Z",
            "requestContext": {"requestId": "x", "functionArn": "arn:aws:lambda:eu-west-1:1:function:f:$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": request,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "Transient.not_ended", "errorMessage": "..."}
        });
        let failure = recognise(&message(record, &[]));
        assert_eq!(failure.kind, Kind::LambdaFailure);
        assert_eq!(
            serde_json::from_str::<Value>(failure.original.as_deref().unwrap()).unwrap(),
            request
        );
        let dead = recognise(&message(
            request.clone(),
            &[
                ("ERROR_CODE", "SDK_CLIENT_ERROR"),
                ("RULE_ARN", "arn:aws:events:eu-west-1:1:rule/x"),
                ("TARGET_ARN", "arn"),
            ],
        ));
        assert_eq!(
            (dead.kind, dead.reason.as_str()),
            (Kind::EventBridgeDlq, "eventbridge_dlq")
        );
        let moved = recognise(&message(
            request,
            &[("conversationId", "c"), ("trigger", "webhook")],
        ));
        assert_eq!(moved.kind, Kind::BufferDlq);
        let unknown = recognise(&message(json!({"hello": "world"}), &[]));
        assert_eq!((unknown.kind, unknown.original), (Kind::Unknown, None));
    }
}
