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
//!
//! - `recognise.rs`: what a message is (the table above), the original inside, its
//!   conversation, and the reasons a run selects by;
//! - this file: a run (receive, select, send on, delete, report);
//! - `tests.rs`: recognition, selection and canonical forms, without AWS (the runs against moto
//!   are in `tests/it/redrive.rs`).

mod recognise;

pub(crate) use recognise::{closest_reason, reasons};
use recognise::{recognise, Message, Recognised};
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
mod tests;
