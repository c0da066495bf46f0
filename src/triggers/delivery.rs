//! What every adapter makes: a [`Delivery`] (one request as it arrived) and its [`Trigger`]
//! (how it arrived).

use crate::wrapup::{ApplyRequest, InvalidRequest, Kind, Outcome, Reason, Request};

/// How a delivery reached the function (whatever it asks: see [`Kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// An EventBridge rule invoked the function: a custom event, or one of Genesys's own.
    EventBridge,
    /// A signed POST through the Function URL or the HTTP API.
    Webhook,
    /// A message of an SQS batch (the buffer queue, or a re-drive).
    Sqs,
    /// A direct invoke (`aws lambda invoke`, Step Functions, `invoke`).
    Direct,
}

impl Trigger {
    /// The name in logs, New Relic and the attention queue.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::EventBridge => "eventbridge",
            Self::Webhook => "webhook",
            Self::Sqs => "sqs",
            Self::Direct => "direct",
        }
    }
}

/// One request as it was delivered: how it came, which event carried it, which attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub(crate) trigger: Trigger,
    /// The EventBridge event id, the HTTP request id or the SQS message id.
    pub(crate) event_id: Option<String>,
    /// Which delivery this is (the SQS receive count; 1 otherwise).
    pub(crate) attempt: u32,
    pub(crate) request: Request,
}

impl Delivery {
    pub(crate) fn new(trigger: Trigger, event_id: Option<String>, request: Request) -> Self {
        Self {
            trigger,
            event_id,
            attempt: 1,
            request,
        }
    }

    /// A delivery of a parsed apply request, or of the `invalid_event` rejection saying why not.
    pub(crate) fn apply(
        trigger: Trigger,
        event_id: Option<String>,
        parsed: Result<ApplyRequest, InvalidRequest>,
    ) -> Self {
        let request = match parsed {
            Ok(request) => Request::Apply(request),
            Err(invalid) => Request::Decided(
                Kind::Apply,
                Outcome::decided(Reason::InvalidEvent, invalid.0),
            ),
        };
        Self::new(trigger, event_id, request)
    }

    /// An event that carries no request at all (`invalid_event`).
    pub(crate) fn invalid(trigger: Trigger, kind: Kind, message: impl Into<String>) -> Self {
        Self::new(
            trigger,
            None,
            Request::Decided(kind, Outcome::decided(Reason::InvalidEvent, message)),
        )
    }
}

/// serde's message, bounded, without the values it quotes.
pub(crate) fn short(e: &serde_json::Error) -> String {
    crate::error::serde_problem(e)
}
