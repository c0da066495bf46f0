//! Sending what waits in the attention queue on again, once its cause is fixed, or dropping it
//! for good. Four kinds of message land there, each recognised by what its writer puts on it:
//!
//! | kind | written by | recognised by | the original event |
//! |---|---|---|---|
//! | `rejection` | the function | its `reason` attribute (and `dryRun`) | the body |
//! | `lambda_failure` | Lambda's on-failure destination | `requestContext`, `requestPayload`, `responseContext` | `requestPayload` |
//! | `eventbridge_dlq` | an EventBridge rule's dead-letter queue | `ERROR_CODE` and `RULE_ARN` attributes | the body |
//! | `buffer_dlq` | SQS's redrive from the buffer queue | `DeadLetterQueueSourceArn`, else a body the function reads | the body |
//!
//! Each original goes to a queue (the buffer queue) or to the function (an asynchronous invoke
//! of its alias `live`, which carries the retries and the on-failure destination); a message is
//! deleted only once it was sent on. Anything else is left in the queue. A run takes only what
//! was in the queue when it started: a replay that fails again comes back as a new message, and
//! the run ends instead of feeding on it.

use crate::triggers::{destination_payload, recognise as envelope, Envelope};
use crate::wrapup::{Reason, Request, Status};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

/// How long a received message stays hidden while the run decides about it; skipped and
/// failed ones are made visible again at the end.
const HOLD: Duration = Duration::from_secs(300);

/// The alias every trigger calls: it carries the asynchronous retries and the on-failure
/// destination (`$LATEST` has neither, so a replay that failed there would be lost).
pub(crate) const ALIAS: &str = "live";

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
    fn sent_at_ms(&self) -> Option<u64> {
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

/// A function to invoke: its name (or ARN) and the version or alias to invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Function {
    /// As given: a name, `NAME:QUALIFIER`, or a full or partial ARN.
    pub(crate) name: String,
    /// [`ALIAS`] for a name that names no version or alias; `None` when the name does.
    pub(crate) qualifier: Option<String>,
}

impl Function {
    /// An unqualified name or ARN goes through [`ALIAS`]; `NAME:QUALIFIER` or a qualified ARN
    /// is used as given.
    pub(crate) fn new(name: &str) -> Self {
        let name = name.trim();
        let parts: Vec<&str> = name.split(':').collect();
        let qualified = match parts.as_slice() {
            // arn:partition:lambda:region:account:function:name[:qualifier]
            ["arn", ..] => parts.len() > 7,
            // account:function:name[:qualifier]
            [_, "function", ..] => parts.len() > 3,
            // name[:qualifier]
            _ => parts.len() > 1,
        };
        Self {
            name: name.to_owned(),
            qualifier: (!qualified).then(|| ALIAS.to_owned()),
        }
    }
}

impl std::fmt::Display for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{}:{q}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Where originals go.
#[derive(Debug, Clone)]
pub(crate) enum Destination {
    /// An SQS queue (the buffer queue): the body as the function's SQS trigger reads it.
    Queue(String),
    /// The function, invoked asynchronously with the event.
    Function(Function),
    /// Nowhere: the message is deleted for good.
    Drop,
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queue(url) => write!(f, "queue {url}"),
            Self::Function(function) => write!(f, "function {function}"),
            Self::Drop => f.write_str("nowhere (dropped)"),
        }
    }
}

/// Whether two queue URLs name the same queue: the same account and name, in the same region
/// (read from either of SQS's host forms) or on the same host.
pub(crate) fn same_queue(a: &str, b: &str) -> bool {
    fn key(url: &str) -> Option<(String, String, String)> {
        let url = url::Url::parse(url.trim()).ok()?;
        let host = url.host_str()?.to_ascii_lowercase();
        let place = match host.split('.').collect::<Vec<_>>().as_slice() {
            ["sqs", region, ..] => (*region).to_owned(),
            [region, "queue", ..] => (*region).to_owned(),
            _ => format!("{host}:{}", url.port_or_known_default().unwrap_or(0)),
        };
        let mut path = url.path_segments()?.filter(|s| !s.is_empty());
        let (account, name) = (path.next()?, path.next()?);
        Some((place, account.to_owned(), name.to_owned()))
    }
    match (key(a), key(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/'),
    }
}

/// What to send on, or drop.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) from: String,
    pub(crate) to: Destination,
    /// Only these reasons (empty: every one).
    pub(crate) reasons: BTreeSet<String>,
    pub(crate) include_dry_run: bool,
    /// Only the rejections of a dry run.
    pub(crate) only_dry_run: bool,
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
    Dropped,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Dropped => "dropped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Line {
    pub(crate) message_id: String,
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
    pub(crate) action: Action,
    pub(crate) detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
}

/// The run's result, as `--json` prints it.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) sent: usize,
    pub(crate) skipped: usize,
    pub(crate) failed: usize,
    pub(crate) dropped: usize,
    pub(crate) messages: Vec<Line>,
}

impl Report {
    fn push(&mut self, line: Line) {
        match line.action {
            Action::Sent => self.sent += 1,
            Action::Skipped => self.skipped += 1,
            Action::Failed => self.failed += 1,
            Action::Dropped => self.dropped += 1,
        }
        self.messages.push(line);
    }
}

/// The SQS and Lambda calls of a run.
pub(crate) struct Clients {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
}

/// What the run already did, so it never feeds on its own replays.
struct Run {
    /// When the run started, in epoch milliseconds: a message SQS accepted later is not this
    /// run's (a replay that failed again, or something new).
    started_ms: u64,
    /// Every original sent on so far (canonical JSON, else the text): one that comes back, even
    /// under a clock that disagrees with SQS's, is not sent twice.
    sent: BTreeSet<String>,
}

impl Run {
    fn came_back(&self, message: &Message, original: &str) -> Option<&'static str> {
        if message.sent_at_ms().is_some_and(|at| at > self.started_ms) {
            return Some("it arrived after this run started (a replay that failed again, or new): the next run takes it");
        }
        if self.sent.contains(&canonical(original)) {
            return Some(
                "its event was sent on earlier in this run and came back: the next run takes it",
            );
        }
        None
    }
}

/// One spelling per JSON value (keys sorted), so a payload that comes back is recognised
/// whatever order its writer put the keys in; text that is not JSON stays as it is.
fn canonical(text: &str) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => sorted(&v).to_string(),
        Err(_) => text.to_owned(),
    }
}

/// Receives every message that was in `options.from` when the run started, once, and sends
/// each original on, drops it, or leaves it.
pub(crate) async fn run(clients: &Clients, options: &Options) -> Result<Report, String> {
    let started_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut state = Run {
        started_ms,
        sent: BTreeSet::new(),
    };
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
            let line = handle(clients, options, &mut state, &message).await;
            if !matches!(line.action, Action::Sent | Action::Dropped) {
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

/// Whether the options select this message, and why not.
fn selected(options: &Options, found: &Recognised) -> Result<(), String> {
    if !options.reasons.is_empty() && !options.reasons.contains(&found.reason) {
        return Err("another reason than --reason".into());
    }
    if options.only_dry_run && !found.dry_run {
        return Err("not rejected in a dry run (--only-dry-run)".into());
    }
    if found.dry_run && !options.include_dry_run && !options.only_dry_run {
        let verb = match options.to {
            Destination::Drop => "drops",
            _ => "sends",
        };
        return Err(format!(
            "rejected in a dry run (--only-dry-run or --include-dry-run {verb} it)"
        ));
    }
    Ok(())
}

async fn handle(clients: &Clients, options: &Options, run: &mut Run, message: &Message) -> Line {
    let found = recognise(message);
    let line = |action: Action, detail: String| Line {
        message_id: message.id.clone(),
        kind: found.kind.as_str(),
        reason: found.reason.clone(),
        action,
        detail,
        conversation_id: found.conversation_id.clone(),
        message: found.message.clone(),
    };
    if let Some(why) = run.came_back(message, found.original.as_deref().unwrap_or(&message.body)) {
        return line(Action::Skipped, why.into());
    }
    let Some(original) = found.original.as_deref() else {
        return line(
            Action::Failed,
            "not a message this function or the platform writes: left in the queue".into(),
        );
    };
    if let Err(why) = selected(options, &found) {
        return line(Action::Skipped, why);
    }
    if options.dry_run {
        let what = match &options.to {
            Destination::Drop => "dry run: would drop it".to_owned(),
            to => format!("dry run: would send to {to}"),
        };
        return line(Action::Skipped, what);
    }
    if !matches!(options.to, Destination::Drop) {
        if let Err(why) = send(clients, &options.to, original).await {
            return line(Action::Failed, format!("{why}; left in the queue"));
        }
        run.sent.insert(canonical(original));
    }
    let deleted = clients
        .sqs
        .delete_message()
        .queue_url(&options.from)
        .receipt_handle(&message.receipt_handle)
        .send()
        .await;
    let explain = |e: &aws_sdk_sqs::error::SdkError<_, _>| {
        crate::aws_errors::explain(e, "sqs:DeleteMessage", &format!("queue {}", options.from))
    };
    match (&options.to, deleted) {
        (Destination::Drop, Ok(_)) => line(Action::Dropped, "deleted from the queue".into()),
        (Destination::Drop, Err(e)) => line(
            Action::Failed,
            format!("not deleted ({}): left in the queue", explain(&e)),
        ),
        (to, Ok(_)) => line(Action::Sent, format!("to {to}")),
        (to, Err(e)) => line(
            Action::Failed,
            format!(
                "sent to {to}, but not deleted ({}): a second run would send it again, which the function answers already_applied",
                explain(&e)
            ),
        ),
    }
}

async fn send(clients: &Clients, to: &Destination, original: &str) -> Result<(), String> {
    match to {
        Destination::Drop => Ok(()),
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
        Destination::Function(function) => {
            let sent = clients
                .lambda
                .invoke()
                .function_name(&function.name)
                .set_qualifier(function.qualifier.clone())
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(original.as_bytes()))
                .send()
                .await;
            match sent {
                Ok(out) if out.status_code == 202 => Ok(()),
                Ok(out) => Err(format!(
                    "{function} answered {} to an asynchronous invoke",
                    out.status_code
                )),
                Err(e) => Err(format!(
                    "could not invoke {function}: {}",
                    crate::aws_errors::explain(
                        &e,
                        "lambda:InvokeFunction",
                        &format!("function {function}")
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
            &[
                ("reason", "division_mismatch"),
                ("dryRun", "true"),
                (
                    "message",
                    "code c0de… is in division Sales, not in the conversation's",
                ),
            ],
        ));
        assert_eq!(
            (rejection.kind, rejection.reason.as_str(), rejection.dry_run),
            (Kind::Rejection, "division_mismatch", true)
        );
        // What a person needs to see: the conversation (from the body when the attributes
        // lack it) and the rejection's own words.
        assert_eq!(
            rejection.conversation_id.as_deref(),
            Some("c0000000-0000-4000-8000-000000000001")
        );
        assert_eq!(
            rejection.message.as_deref(),
            Some("code c0de… is in division Sales, not in the conversation's")
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
            failure.message.as_deref(),
            Some("RetriesExhausted: Transient.not_ended: ...")
        );
        assert_eq!(
            failure.conversation_id.as_deref(),
            Some("c0000000-0000-4000-8000-000000000001")
        );
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
        assert_eq!(dead.message.as_deref(), Some("SDK_CLIENT_ERROR"));
        let moved = recognise(&message(
            request,
            &[("conversationId", "c"), ("trigger", "webhook")],
        ));
        assert_eq!(moved.kind, Kind::BufferDlq);
        let unknown = recognise(&message(json!({"hello": "world"}), &[]));
        assert_eq!((unknown.kind, unknown.original), (Kind::Unknown, None));
    }

    #[test]
    fn an_unqualified_function_goes_through_the_alias_live() {
        let live = |name: &str| Function::new(name).qualifier;
        assert_eq!(live("my-stack-wrapup").as_deref(), Some("live"));
        assert_eq!(
            live("arn:aws:lambda:eu-west-1:123456789012:function:my-stack-wrapup").as_deref(),
            Some("live")
        );
        assert_eq!(
            live("123456789012:function:my-stack-wrapup").as_deref(),
            Some("live")
        );
        for qualified in [
            "my-stack-wrapup:7",
            "my-stack-wrapup:$LATEST",
            "arn:aws:lambda:eu-west-1:123456789012:function:my-stack-wrapup:live",
            "123456789012:function:my-stack-wrapup:blue",
        ] {
            assert_eq!(live(qualified), None, "{qualified} is used as given");
        }
        assert_eq!(
            Function::new("my-stack-wrapup").to_string(),
            "my-stack-wrapup:live"
        );
        assert_eq!(Function::new("f:7").to_string(), "f:7");
    }

    #[test]
    fn a_queue_is_the_same_queue_whichever_way_its_url_is_written() {
        let q = "https://sqs.eu-west-1.amazonaws.com/123456789012/my-attention";
        assert!(same_queue(q, q));
        assert!(same_queue(q, &format!("{q}/")));
        assert!(same_queue(
            q,
            "https://eu-west-1.queue.amazonaws.com/123456789012/my-attention"
        ));
        assert!(same_queue(
            "http://127.0.0.1:5000/123456789012/a",
            "http://127.0.0.1:5000/123456789012/a"
        ));
        assert!(!same_queue(
            q,
            "https://sqs.eu-west-1.amazonaws.com/123456789012/my-buffer"
        ));
        assert!(!same_queue(
            q,
            "https://sqs.us-east-1.amazonaws.com/123456789012/my-attention"
        ));
        assert!(!same_queue(
            "http://127.0.0.1:5000/123456789012/a",
            "http://127.0.0.1:5001/123456789012/a"
        ));
    }

    #[test]
    fn reasons_are_the_ones_the_attention_queue_holds_and_typos_find_theirs() {
        let all = reasons();
        for reason in [
            "forbidden",
            "division_mismatch",
            "genesys_rejected",
            "lambda_failure",
            "buffer_dlq",
        ] {
            assert!(all.contains(&reason), "{reason}");
        }
        // Skipped outcomes never reach the attention queue.
        assert!(!all.contains(&"no_rule") && !all.contains(&"code_present"));
        assert_eq!(closest_reason("forbiden"), Some("forbidden"));
        assert_eq!(
            closest_reason("Division-Mismatch"),
            Some("division_mismatch")
        );
        assert_eq!(closest_reason("lambda_failures"), Some("lambda_failure"));
        assert_eq!(closest_reason("something else entirely"), None);
    }

    #[test]
    fn a_payload_is_recognised_whatever_the_order_of_its_keys() {
        assert_eq!(
            canonical(r#"{"b": 1, "a": {"d": [1, {"f": 2, "e": 3}], "c": null}}"#),
            canonical(r#"{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}"#)
        );
        assert_ne!(canonical(r#"{"a": 1}"#), canonical(r#"{"a": 2}"#));
        assert_eq!(canonical("not json"), "not json");
    }
}
