//! The function: one event in, the platform's reply out. It reads top to bottom:
//! recognise the envelope → hand each delivery's request to the pipeline → reply in the
//! platform's own type → flush the invocation's metrics and New Relic events. `Err` means
//! "retry me".

use crate::app::App;
use crate::clock::Deadline;
use crate::doctor;
use crate::error::{Transient, TransientKind};
use crate::pipeline;
use crate::rules::RuleSet;
use crate::telemetry::newrelic::{
    outcome_event, prediction_event, transient_event, Event, EventContext,
};
use crate::telemetry::{
    emit_metrics, log_outcome, log_transient, with_invocation, InvocationIds, LogContext, Tally,
};
use crate::triggers::sqs::{self, Message};
use crate::triggers::{recognise, webhook, Delivery, Envelope, Trigger};
use crate::wrapup::{Kind, Outcome, Reason, Request, Status};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsMessage};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::Semaphore;

/// What one invocation knows about itself (its request id and deadline), and what it did (for
/// its metrics and New Relic events).
#[derive(Debug)]
pub struct Invocation {
    request_id: String,
    /// X-Ray's trace header of the invocation, for every log line.
    trace_id: Option<String>,
    deadline: Deadline,
    tally: Tally,
    /// New Relic events of this invocation, sent in one POST at its end.
    events: Mutex<Vec<Event>>,
    /// Copilot's summaries read in this invocation (a batch's messages share them).
    summaries: pipeline::SummaryCache,
}

impl Invocation {
    /// An invocation with Lambda's request id and deadline (or `invoke`'s own).
    pub fn new(request_id: impl Into<String>, deadline: Deadline) -> Self {
        Self {
            request_id: request_id.into(),
            trace_id: None,
            deadline,
            tally: Tally::default(),
            events: Mutex::new(Vec::new()),
            summaries: pipeline::SummaryCache::default(),
        }
    }

    /// The same invocation, with the X-Ray trace header Lambda sent.
    pub fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.trace_id = trace_id;
        self
    }
}

/// The reply, in the type the invoking platform expects.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// A direct invoke's or EventBridge event's outcome.
    Outcome(Outcome),
    /// The webhook's HTTP response (every answer, errors included, is a response).
    Http(ApiGatewayV2httpResponse),
    /// An SQS batch's `batchItemFailures`: the messages to receive again.
    Batch(SqsBatchResponse),
    /// `doctor --function`'s report.
    Doctor(doctor::Report),
}

/// The function: one event in, the platform's reply out. `Err` is transient trouble the
/// platform should retry (Lambda's async retries, EventBridge's, an SQS redelivery); a
/// permanent rejection is an `Ok` outcome. The Lambda runtime and `invoke` both call this.
pub async fn handle(app: &App, event: &Value, inv: &Invocation) -> Result<Reply, Transient> {
    let ids = InvocationIds {
        aws_request_id: inv.request_id.clone(),
        xray_trace_id: inv.trace_id.clone(),
    };
    with_invocation(ids, handle_event(app, event, inv)).await
}

async fn handle_event(app: &App, event: &Value, inv: &Invocation) -> Result<Reply, Transient> {
    let started = Instant::now();
    let reply = match recognise(event) {
        Envelope::Single(delivery) => run(app, &delivery, inv, || event.to_string())
            .await
            .map(Reply::Outcome),
        Envelope::Http(Ok(request)) => Ok(Reply::Http(webhook(app, &request, inv).await)),
        Envelope::Http(Err(problem)) => Ok(Reply::Http(webhook::invalid(&problem))),
        Envelope::SqsBatch(records) => Ok(Reply::Batch(batch(app, records, inv).await)),
        Envelope::Doctor(options) => match doctor::Options::deserialize(&options) {
            Ok(options) => {
                tracing::info!(event = "doctor", "running doctor as the function's role");
                Ok(Reply::Doctor(
                    // Boxed: the doctor is deep, and rare; the handler's own future stays small.
                    Box::pin(doctor::run(app, &options, doctor::RunAs::Function)).await,
                ))
            }
            Err(e) => {
                let problem = format!("not doctor options: {}", crate::error::serde_problem(&e));
                let delivery = Delivery::invalid(Trigger::Direct, Kind::Apply, problem);
                run(app, &delivery, inv, || event.to_string())
                    .await
                    .map(Reply::Outcome)
            }
        },
    };
    inv.tally.rules_invalid(app.rules.has_problem());
    emit_metrics(&inv.tally, &app.stats, started.elapsed());
    if let Some(sink) = &app.new_relic {
        let events = std::mem::take(&mut *inv.events.lock().unwrap_or_else(|p| p.into_inner()));
        sink.deliver(events).await;
    }
    reply
}

/// Runs one delivery's request through the pipeline and records the outcome: log line, metrics, New Relic
/// event, and for a rejection the attention queue (with `original`, the payload to re-drive
/// once the cause is fixed).
async fn run(
    app: &App,
    delivery: &Delivery,
    inv: &Invocation,
    original: impl FnOnce() -> String,
) -> Result<Outcome, Transient> {
    let started = Instant::now();
    let dry_run = app.handler.dry_run;
    let request = &delivery.request;
    // Only Genesys events need the rules (and may read them again from Parameter Store).
    let current = match request {
        Request::GenesysEvent(_) => Some(app.rules.current().await),
        Request::Apply(_) | Request::Decided(..) => None,
    };
    let none = RuleSet::default();
    let rules = match &current {
        Some(rules) => rules.as_deref().map_err(String::as_str),
        None => Ok(&none),
    };
    let context = pipeline::Context {
        orgs: &app.orgs,
        rules,
        clock: app.clock.as_ref(),
        deadline: inv.deadline,
        summaries: &inv.summaries,
        prediction_wait: app.handler.prediction_wait,
        dry_run,
        exclusive: app.leases.as_ref().map(|leases| pipeline::Exclusive {
            leases,
            holder: &inv.request_id,
        }),
    };
    // Boxed: the pipeline's future is deep, and the runtime nests it further.
    let result = Box::pin(pipeline::run(&context, request, delivery.identity.as_ref())).await;
    let ctx = LogContext {
        trigger: delivery.trigger,
        kind: request.kind(),
        request_id: &inv.request_id,
        event_id: delivery.event_id.as_deref(),
        dry_run,
    };
    if app.new_relic.is_some() {
        let event_ctx = EventContext {
            trigger: delivery.trigger,
            kind: request.kind(),
            request_id: &inv.request_id,
            attempt: delivery.attempt,
            duration: started.elapsed(),
            dry_run,
        };
        let event = match &result {
            Ok(outcome) => outcome_event(outcome, event_ctx),
            Err(t) => transient_event(t, request.conversation_id(), request.code_id(), event_ctx),
        };
        let prediction = result
            .as_ref()
            .ok()
            .and_then(|outcome| prediction_event(outcome, event_ctx));
        let mut events = inv.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push(event);
        events.extend(prediction);
    }
    match &result {
        Ok(outcome) => {
            log_outcome(outcome, ctx);
            inv.tally.outcome(outcome);
            if outcome.status() == Status::Rejected {
                match report_rejection(app, outcome, &original(), ctx).await {
                    // A dry run's rejections are recorded too, but page no one.
                    Ok(true) if !dry_run => inv.tally.attention_record(),
                    Ok(_) => {}
                    Err(t) => {
                        inv.tally.transient();
                        return Err(t);
                    }
                }
            }
        }
        Err(t) => {
            log_transient(t, request.conversation_id(), ctx);
            // Another instance working on the conversation is routine, not a failure.
            if t.kind == TransientKind::InProgress {
                inv.tally.in_progress();
            } else {
                inv.tally.transient();
            }
        }
    }
    result
}

/// Sends a rejected request to the attention queue, when one is configured (`Ok(true)`: sent).
/// Failing to record it is transient: the platform retries rather than lose the rejection.
async fn report_rejection(
    app: &App,
    outcome: &Outcome,
    original: &str,
    ctx: LogContext<'_>,
) -> Result<bool, Transient> {
    let Some(queue_url) = app.handler.attention_queue_url.as_deref() else {
        return Ok(false);
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let attributes = [
        (
            "reason",
            outcome.reason.map_or("rejected", Reason::as_str).to_owned(),
        ),
        ("message", text(&outcome.message)),
        ("conversationId", text(&outcome.conversation_id)),
        ("wrapUpCodeId", text(&outcome.wrap_up_code_id)),
        ("trigger", ctx.trigger.as_str().to_owned()),
        ("request", ctx.kind.as_str().to_owned()),
        ("awsRequestId", ctx.request_id.to_owned()),
        // Rejected in a dry run: fix the cause, but do not re-drive it as if it were real.
        ("dryRun", if ctx.dry_run { "true" } else { "" }.to_owned()),
    ];
    app.queues
        .send(queue_url, original, &attributes)
        .await
        .map(|_| true)
        .map_err(|e| {
            tracing::error!(error = %e, "could not record a rejection in the attention queue");
            Transient::new(
                TransientKind::Upstream,
                format!("could not record the rejection in the attention queue: {e}"),
            )
        })
}

/// The webhook: checks at the edge, then the delivery (or the buffer queue in enqueue mode).
async fn webhook(
    app: &App,
    request: &ApiGatewayV2httpRequest,
    inv: &Invocation,
) -> ApiGatewayV2httpResponse {
    let body = match webhook::precheck(request) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let secret_id = app.handler.webhook.secret_id.as_deref();
    if let Err(response) =
        webhook::authenticate(&app.secrets, secret_id, app.clock.as_ref(), request, &body).await
    {
        return *response;
    }
    let delivery = webhook::delivery(request, &body);
    if let (Some(queue_url), Request::Apply(apply)) =
        (&app.handler.webhook.enqueue_to, &delivery.request)
    {
        let mut attributes = vec![
            (
                "conversationId",
                apply.conversation_id.hyphenated().to_string(),
            ),
            ("trigger", "webhook".to_owned()),
        ];
        // The sender's key travels with the request, so the queued delivery is the same request.
        if let Some(key) = webhook::idempotency_key(request) {
            attributes.push((sqs::IDEMPOTENCY_KEY_ATTRIBUTE, key.to_owned()));
        }
        let sent = app
            .queues
            .send(queue_url, &String::from_utf8_lossy(&body), &attributes)
            .await;
        return webhook::queued(apply, sent);
    }
    let result = run(app, &delivery, inv, || {
        String::from_utf8_lossy(&body).into_owned()
    })
    .await;
    webhook::reply(&result)
}

/// An SQS batch: messages run concurrently, except that messages about one conversation run one
/// after another; only transient failures are reported, each hidden for its backoff.
async fn batch(app: &App, records: Vec<SqsMessage>, inv: &Invocation) -> SqsBatchResponse {
    let messages: Vec<Message> = records.into_iter().map(Message::new).collect();
    let mut groups: Vec<Vec<&Message>> = Vec::new();
    let mut by_conversation: HashMap<uuid::Uuid, usize> = HashMap::new();
    for message in &messages {
        match message.delivery.request.conversation_id() {
            Some(key) => match by_conversation.get(&key) {
                Some(&g) => groups[g].push(message),
                None => {
                    by_conversation.insert(key, groups.len());
                    groups.push(vec![message]);
                }
            },
            None => groups.push(vec![message]),
        }
    }
    let permits = Semaphore::new(
        app.handler
            .batch
            .concurrency
            .unwrap_or(messages.len())
            .max(1),
    );
    let failed = join_all(
        groups
            .iter()
            .map(|group| run_group(app, group, &permits, inv)),
    )
    .await;
    let failed: std::collections::HashSet<&str> = failed.into_iter().flatten().collect();
    // A message that failed its last allowed receive moves to the attention queue: say so, and
    // count it for the attention alarm.
    if let Some(max) = app.handler.batch.max_receive_count {
        for message in messages.iter().filter(|m| failed.contains(m.id.as_str())) {
            if message.receive_count >= max {
                tracing::warn!(
                    event = "exhausted",
                    messageId = %message.id,
                    receiveCount = message.receive_count,
                    "the message used its last receive: SQS moves it to the attention queue (re-drive it with `genesys-wrapup redrive` once the cause is fixed)"
                );
                inv.tally.exhausted();
            }
        }
    }
    // In the batch's own order, as the platform sent it.
    sqs::response(
        messages
            .iter()
            .map(|m| m.id.as_str())
            .filter(|id| failed.contains(id)),
    )
}

/// How much longer than an earlier failed message a later one about the same conversation is
/// hidden, so it comes back after it (SQS times visibility to the second).
const HOLD_BACK_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs one conversation's messages in order; returns the ids to receive again.
async fn run_group<'a>(
    app: &App,
    group: &[&'a Message],
    permits: &Semaphore,
    inv: &Invocation,
) -> Vec<&'a str> {
    let time_to_start = app.handler.batch.time_to_start;
    let mut failed = Vec::new();
    // The wait of the first message of this conversation that failed: later ones are held back
    // at least as long, so they never come back (and get applied) before it.
    let mut held_back: Option<std::time::Duration> = None;
    for message in group {
        let Ok(_permit) = permits.acquire().await else {
            failed.push(message.id.as_str());
            continue;
        };
        if let Some(wait) = held_back {
            tracing::info!(messageId = %message.id, waitSeconds = wait.as_secs(), "not started: an earlier message of this conversation failed; held back as long");
            hold_back(app, message, wait).await;
            failed.push(message.id.as_str());
            continue;
        }
        if inv.deadline.remaining(app.clock.as_ref()) < time_to_start {
            tracing::info!(messageId = %message.id, "not started: the invocation's deadline is near");
            failed.push(message.id.as_str());
            continue;
        }
        if let Err(t) = run(app, &message.delivery, inv, || message.body.clone()).await {
            let wait =
                sqs::visibility_timeout(&t, message.receive_count, app.handler.batch.max_backoff);
            hold_back(app, message, wait).await;
            held_back = Some(wait + HOLD_BACK_MARGIN);
            failed.push(message.id.as_str());
        }
    }
    failed
}

/// Hides a message for `wait`: the wait Genesys asked for or the backoff of its receive count
/// (`sqs::visibility_timeout`), or an earlier failed message's of the same conversation.
async fn hold_back(app: &App, message: &Message, wait: std::time::Duration) {
    let (Some(queue_url), Some(receipt)) = (
        message.queue_url.as_deref(),
        message.receipt_handle.as_deref(),
    ) else {
        return;
    };
    let seconds = i32::try_from(wait.as_secs()).unwrap_or(43_200);
    if let Err(e) = app
        .queues
        .change_visibility(queue_url, receipt, seconds)
        .await
    {
        // The message still comes back, after the queue's own visibility timeout.
        tracing::warn!(messageId = %message.id, error = %e, "could not set the retry delay");
    }
}
