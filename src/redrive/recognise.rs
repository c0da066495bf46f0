//! What a message in the attention queue is: its kind, recognised by what its writer puts on
//! it, the original event inside, the conversation it is about, and the reasons a run can
//! select by.

use crate::triggers::{destination_payload, recognise as envelope, Envelope};
use crate::wrapup::{Reason, Request, Status};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// The kinds the platform writes, which `--reason` names by their kind.
    const PLATFORM: [Self; 3] = [Self::LambdaFailure, Self::EventBridgeDlq, Self::BufferDlq];

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

/// Every reason a message in the attention queue can have: the function's rejections, and
/// the kinds of what the platform moved there.
pub(crate) fn reasons() -> Vec<&'static str> {
    Reason::ALL
        .iter()
        .filter(|r| r.status() == Status::Rejected)
        .map(|r| r.as_str())
        .chain(Kind::PLATFORM.iter().map(|k| k.as_str()))
        .collect()
}

/// The known reason closest to a mistyped one (by edit distance), if any is close.
pub(crate) fn closest_reason(typed: &str) -> Option<&'static str> {
    let typed = typed.trim().to_ascii_lowercase();
    reasons()
        .into_iter()
        .map(|r| (edit_distance(&typed, r), r))
        .filter(|(d, r)| *d <= (r.len() / 3).max(2))
        .min()
        .map(|(_, r)| r)
}

/// Levenshtein distance, on bytes (reasons are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// One received message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) receipt_handle: String,
    pub(crate) body: String,
    /// String message attributes.
    pub(crate) attributes: BTreeMap<String, String>,
    /// SQS's own attributes (`DeadLetterQueueSourceArn`, `SentTimestamp`, ...).
    pub(crate) system: BTreeMap<String, String>,
}

impl Message {
    /// When SQS accepted it (`SentTimestamp`, epoch milliseconds).
    pub(super) fn sent_at_ms(&self) -> Option<u64> {
        self.system.get("SentTimestamp")?.parse().ok()
    }
}

/// What a message is, why it is there, the event to send on, and what a person needs to see.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recognised {
    pub(crate) kind: Kind,
    /// The rejection's reason; for what the platform moved, the kind.
    pub(crate) reason: String,
    pub(crate) original: Option<String>,
    /// A rejection recorded in a dry run.
    pub(crate) dry_run: bool,
    /// The conversation the original is about, when it names one.
    pub(crate) conversation_id: Option<String>,
    /// Why it is here, in its writer's words: the rejection's message (Genesys's own, quoted),
    /// Lambda's error, EventBridge's error.
    pub(crate) message: Option<String>,
}

pub(crate) fn recognise(message: &Message) -> Recognised {
    let attribute = |name: &str| {
        message
            .attributes
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let body: Option<Value> = serde_json::from_str(&message.body).ok();
    let of = |kind: Kind, original: Option<String>, said: Option<String>| {
        let conversation_id = original
            .as_deref()
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .and_then(|o| conversation_of(&o));
        Recognised {
            kind,
            reason: kind.as_str().to_owned(),
            original,
            dry_run: false,
            conversation_id,
            message: said,
        }
    };
    if let Some(reason) = attribute("reason") {
        return Recognised {
            kind: Kind::Rejection,
            reason: reason.to_owned(),
            original: Some(message.body.clone()),
            dry_run: attribute("dryRun") == Some("true"),
            conversation_id: attribute("conversationId")
                .map(str::to_owned)
                .or_else(|| body.as_ref().and_then(conversation_of)),
            message: attribute("message").map(str::to_owned),
        };
    }
    if let (Some(code), Some(_)) = (attribute("ERROR_CODE"), attribute("RULE_ARN")) {
        let said = joined(&[Some(code), attribute("ERROR_MESSAGE")]);
        return of(Kind::EventBridgeDlq, Some(message.body.clone()), said);
    }
    if let Some(record) = body.as_ref().filter(|b| destination_payload(b).is_some()) {
        let original = destination_payload(record).and_then(|o| serde_json::to_string(o).ok());
        fn text(v: &Value) -> Option<&str> {
            v.as_str().filter(|s| !s.is_empty())
        }
        let said = joined(&[
            record["requestContext"].get("condition").and_then(text),
            record["responsePayload"].get("errorType").and_then(text),
            record["responsePayload"].get("errorMessage").and_then(text),
        ]);
        return of(Kind::LambdaFailure, original, said);
    }
    let source = message.system.get("DeadLetterQueueSourceArn");
    if source.is_some() || body.as_ref().is_some_and(is_request) {
        let said = source.map(|arn| {
            let queue = arn.rsplit(':').next().unwrap_or(arn);
            format!("moved here by SQS from {queue} after its last receive")
        });
        return of(Kind::BufferDlq, Some(message.body.clone()), said);
    }
    of(Kind::Unknown, None, None)
}

/// The parts that are there, joined by ": ".
fn joined(parts: &[Option<&str>]) -> Option<String> {
    let text: Vec<&str> = parts.iter().flatten().copied().collect();
    (!text.is_empty()).then(|| text.join(": "))
}

/// The conversation an event is about: the request's, as the function reads it, else a
/// `conversationId` (or `interactionId`) the event carries, as written.
fn conversation_of(event: &Value) -> Option<String> {
    if let Envelope::Single(delivery) = envelope(event) {
        if let Some(id) = delivery.request.conversation_id() {
            return Some(id.hyphenated().to_string());
        }
    }
    let written = |v: &Value| {
        ["conversationId", "interactionId"]
            .iter()
            .find_map(|k| v.get(k)?.as_str())
            .filter(|s| !s.is_empty() && s.len() <= 100)
            .map(str::to_owned)
    };
    written(event).or_else(|| written(event.get("detail")?))
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
