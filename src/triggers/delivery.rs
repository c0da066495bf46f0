//! What every adapter makes: a [`Delivery`] (one request as it arrived) and its [`Trigger`]
//! (how it arrived).

use crate::wrapup::{ApplyRequest, Identity, InvalidRequest, Kind, Outcome, Reason, Request};

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

/// One request as it was delivered: how it came, which event carried it, which attempt, and
/// which request it is (its identity, so a redelivery is told from a new request).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub(crate) trigger: Trigger,
    /// The EventBridge event id, the HTTP request id or the SQS message id.
    pub(crate) event_id: Option<String>,
    /// Which delivery this is (the SQS receive count; 1 otherwise).
    pub(crate) attempt: u32,
    pub(crate) request: Request,
    /// The request's identity (`None` when the event alone decided it).
    pub(crate) identity: Option<Identity>,
}

impl Delivery {
    pub(crate) fn new(trigger: Trigger, event_id: Option<String>, request: Request) -> Self {
        let identity = match &request {
            Request::Apply(apply) => Some(Identity::canonical(apply)),
            Request::GenesysEvent(_) | Request::Decided(..) => None,
        };
        Self {
            trigger,
            event_id,
            attempt: 1,
            request,
            identity,
        }
    }

    /// The same delivery, known as `identity` (a request decided from the event alone keeps
    /// none: nothing is remembered about it).
    pub(crate) fn known_as(mut self, identity: Identity) -> Self {
        if !matches!(self.request, Request::Decided(..)) {
            self.identity = Some(identity);
        }
        self
    }

    /// The same delivery, its identity made at `sent_at` (when the identity has no time yet).
    pub(crate) fn sent_at(mut self, sent_at: Option<std::time::SystemTime>) -> Self {
        if let Some(identity) = self.identity.take() {
            let known = identity.when().is_some();
            self.identity = Some(if known {
                identity
            } else {
                identity.sent_at(sent_at)
            });
        }
        self
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
