//! The Lambda Runtime API on loopback, as Lambda (or a local emulator) serves it to the binary:
//! `GET .../invocation/next` hands out queued events with their request id and deadline,
//! `POST .../response` and `.../error` are recorded. An observer hears every step, which lets
//! the perf bench read the function's CPU at each one.

use super::loopback::{read_body, serve_loopback, LoopbackServer};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// A step of the exchange between the function and the Runtime API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The function asked for the next event.
    Next,
    /// An event was handed out.
    Event,
    /// The function answered an event.
    Response,
    /// The function reported an event's error.
    Error,
    /// Anything else (an init error, an unknown path).
    Other,
}

/// The `Lambda-Runtime-Deadline-Ms` an event is handed out with.
#[derive(Debug, Clone)]
pub enum DeadlineMs {
    /// Lambda's own: epoch milliseconds this long after the event is handed out.
    After(Duration),
    /// Exactly this header value (a local emulator's relative budget, say `600000`).
    Raw(String),
}

/// What the function sent back for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeReply {
    /// The event's request id.
    pub request_id: String,
    /// [`Step::Response`] or [`Step::Error`].
    pub step: Step,
    /// The body the function posted.
    pub body: Value,
}

type Observer = Box<dyn Fn(Step) + Send + Sync>;

#[derive(Default)]
struct State {
    events: Mutex<VecDeque<(String, DeadlineMs, Value)>>,
    replies: Mutex<Vec<RuntimeReply>>,
    changed: Notify,
    observer: Option<Observer>,
}

impl State {
    fn step(&self, step: Step) {
        if let Some(observer) = &self.observer {
            observer(step);
        }
        self.changed.notify_waiters();
    }
}

/// A Runtime API on a loopback port; it stops when dropped.
pub struct RuntimeApi {
    state: Arc<State>,
    server: LoopbackServer,
}

impl RuntimeApi {
    /// Serves the Runtime API; `observer` hears every step as it happens.
    pub async fn start(observer: Option<Observer>) -> std::io::Result<Self> {
        let state = Arc::new(State {
            observer,
            ..State::default()
        });
        let serving = state.clone();
        let server = serve_loopback(move |req| {
            let state = serving.clone();
            async move { Ok(serve(&state, req).await) }
        })
        .await?;
        Ok(Self { state, server })
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.server.addr.to_string()
    }

    /// Queues events for the function, each with its request id and deadline.
    pub fn feed(&self, events: impl IntoIterator<Item = (String, DeadlineMs, Value)>) {
        self.state
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(events);
        self.state.changed.notify_waiters();
    }

    /// Every reply so far, in order.
    pub fn replies(&self) -> Vec<RuntimeReply> {
        self.state
            .replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until `count` replies came back, or `timeout` passed; returns the replies.
    pub async fn wait_for_replies(&self, count: usize, timeout: Duration) -> Vec<RuntimeReply> {
        let give_up = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.state.changed.notified();
            let replies = self.replies();
            if replies.len() >= count || tokio::time::Instant::now() >= give_up {
                return replies;
            }
            let _ = tokio::time::timeout_at(give_up, changed).await;
        }
    }

    /// Resolves at the next step (for callers that wait on the observer's counts).
    pub async fn changed(&self) {
        self.state.changed.notified().await;
    }
}

fn response(status: u16, body: Bytes) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(body));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

fn header(value: &str) -> hyper::header::HeaderValue {
    hyper::header::HeaderValue::from_str(value)
        .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("invalid"))
}

async fn serve(
    state: &State,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let body = read_body(req).await;
    if path.ends_with("/invocation/next") {
        state.step(Step::Next);
        loop {
            // Registered before the queue is read, so a feed in between is not missed.
            let fed = state.changed.notified();
            let next = state
                .events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            if let Some((id, deadline, event)) = next {
                let deadline = match deadline {
                    DeadlineMs::After(budget) => (SystemTime::now() + budget)
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis().to_string())
                        .unwrap_or_default(),
                    DeadlineMs::Raw(raw) => raw,
                };
                let mut r = response(200, Bytes::from(event.to_string()));
                let h = r.headers_mut();
                h.insert("lambda-runtime-aws-request-id", header(&id));
                h.insert("lambda-runtime-deadline-ms", header(&deadline));
                h.insert(
                    "lambda-runtime-invoked-function-arn",
                    header("arn:aws:lambda:eu-west-1:123456789012:function:wrapup"),
                );
                h.insert(
                    "lambda-runtime-trace-id",
                    header("Root=1-00000000-000000000000000000000000"),
                );
                state.step(Step::Event);
                return r;
            }
            // Nothing queued: hold the poll, as the real API does between events.
            fed.await;
        }
    }
    let step = if path.ends_with("/response") {
        Step::Response
    } else if path.ends_with("/error") {
        Step::Error
    } else {
        Step::Other
    };
    if matches!(step, Step::Response | Step::Error) {
        let request_id = path
            .rsplit('/')
            .nth(1)
            .map(str::to_owned)
            .unwrap_or_default();
        // Recorded before the step is told: the step wakes whoever reads the replies.
        state
            .replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RuntimeReply {
                request_id,
                step,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            });
    }
    state.step(step);
    response(202, Bytes::from_static(b"{}"))
}
