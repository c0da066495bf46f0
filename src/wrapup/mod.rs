//! The domain: what a request asks, and the decisions on what Genesys returned. No I/O here:
//! everything is decided from values already read. One file per decision:
//!
//! - `request.rs`: the apply request, parsed strictly, and the [`Wanted`] wrap-up;
//! - `identity.rs`: what makes two deliveries the same request, and when it was made;
//! - `genesys_event.rs`: Genesys's own events, and the fields they carry (wrap-up rules, in
//!   `crate::rules`, pick their code);
//! - `target.rs`: who takes the wrap-up (participant and communication, never a supervisor);
//! - `ended.rs`: has the agent's part ended?
//! - `participant.rs`: reading a participant (its purpose, whom it supervises, its
//!   communications, whether one is still live), what the decisions below are made of;
//! - `code.rs`: which code a name means, and whether its division fits the conversation;
//! - `prediction.rs`: what Copilot predicts for the communication written to (its session,
//!   never another agent's), and what an `observe` rule records beside the agent's code;
//! - `overwrite.rs`: whether to write at all (already applied? keep the agent's code?);
//! - `outcome.rs`: the result, with its status and reason.

mod code;
mod ended;
mod genesys_event;
mod identity;
mod outcome;
mod overwrite;
mod participant;
mod prediction;
mod request;
mod target;

pub(crate) use code::list_codes;
pub use code::{check_division, codes_named, ByName};
pub use ended::{is_ended, unended_leg};
pub(crate) use genesys_event::{
    EventFacts, EventField, GenesysEvent, Topic, DIRECTIONS, DISCONNECT_TYPES, MEDIA_TYPES,
};
pub(crate) use identity::Identity;
pub(crate) use outcome::{Details, Observation};
pub use outcome::{Outcome, Reason, Rejection, Status};
pub use overwrite::{is_already_applied, keep_current, Keep};
pub use participant::supervisor;
pub(crate) use prediction::{observe, ranked, session_of};
pub(crate) use request::InvalidRequest;
pub use request::{ApplyRequest, CodeRef, Overwrite, Predicted, Wanted};
pub use target::{select_target, Target};

/// What a delivery asks: an apply request (the caller names the code), a Genesys event (rules
/// name it), or nothing left to ask because the event alone decided the outcome.
#[derive(Debug, Clone)]
pub enum Request {
    /// A CRM, rule engine or person names the code.
    Apply(ApplyRequest),
    /// Genesys says a conversation or an agent's part ended; wrap-up rules pick the code.
    GenesysEvent(GenesysEvent),
    /// Decided from the event alone, before any call: it is no apply request
    /// (`invalid_event`), or a Genesys topic no rule acts on (`no_rule`).
    Decided(Kind, Outcome),
}

/// Which of the two kinds of request a delivery is, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An apply request.
    Apply,
    /// A Genesys event.
    GenesysEvent,
}

impl Kind {
    /// The name in logs and New Relic.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::GenesysEvent => "genesys_event",
        }
    }
}

impl Request {
    /// Which kind of request this is.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Apply(_) => Kind::Apply,
            Self::GenesysEvent(_) => Kind::GenesysEvent,
            Self::Decided(kind, _) => *kind,
        }
    }

    /// The conversation it is about, when the event named one.
    pub fn conversation_id(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Apply(r) => Some(r.conversation_id),
            Self::GenesysEvent(e) => Some(e.conversation_id),
            Self::Decided(..) => None,
        }
    }

    /// The code an apply request names by id (rules name theirs later), for telemetry.
    pub fn code_id(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Apply(r) => r.wanted.code.id(),
            Self::GenesysEvent(_) | Self::Decided(..) => None,
        }
    }
}
