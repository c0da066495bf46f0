//! The result of one request, in the contract's JSON shape: a [`Status`], with a [`Reason`] when
//! rejected or skipped. Transient trouble is no outcome: it is a [`crate::error::Transient`]
//! error, which each trigger hands back to its platform's retry policy.

use crate::genesys::Write;
use serde::Serialize;

/// How a request ended, as the outcome's `status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The code was written.
    Applied,
    /// The same code (and notes/tags, when given) was already there: nothing was written.
    AlreadyApplied,
    /// Permanent trouble: the request can never succeed as it is ([`Reason`] says why). It is
    /// recorded in the attention queue, to be re-driven once the cause is fixed.
    Rejected,
    /// Nothing to do, by design ([`Reason`] says why).
    Skipped,
    /// Dry run: every read and check passed; the outcome carries the write a real run would send.
    WouldApply,
}

impl Status {
    /// Every status, in the order the README's outcome table lists them.
    pub const ALL: [Self; 5] = [
        Self::Applied,
        Self::AlreadyApplied,
        Self::Skipped,
        Self::Rejected,
        Self::WouldApply,
    ];

    /// The name in outcomes, logs, metrics and New Relic: the only place it is spelled.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::AlreadyApplied => "already_applied",
            Self::Rejected => "rejected",
            Self::Skipped => "skipped",
            Self::WouldApply => "would_apply",
        }
    }
}

/// Why a request was rejected or skipped, as the outcome's `reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Skipped: a Genesys event no rule matches (decided from the event alone when it can, with
    /// no Genesys call).
    NoRule,
    /// Skipped: a Genesys event about a supervisor's own leg (monitor, coach, barge-in), which
    /// never takes a wrap-up.
    SupervisorParticipant,
    /// Skipped: `overwrite` `never`/`system` kept the code the agent chose, or a newer
    /// request's write stands.
    CodePresent,
    /// Skipped: no code Copilot predicts reaches the threshold (or fits the divisions), and no
    /// fallback was given.
    NoPrediction,
    /// Skipped: an `observe` rule recorded Copilot's prediction beside the agent's code, and
    /// wrote nothing.
    Observed,
    /// Rejected: not an apply request, an id that is not a UUID, an unusable code name.
    InvalidEvent,
    /// Rejected: Genesys has no such conversation.
    ConversationNotFound,
    /// Rejected: no wrap-up code has that id or name.
    WrapupCodeNotFound,
    /// Rejected: several codes of that name fit the conversation equally well.
    WrapupCodeAmbiguous,
    /// Rejected: the code's division is not one of the conversation's.
    DivisionMismatch,
    /// Rejected: no agent to wrap up, or the named participant is a customer or a supervisor.
    NoAgentParticipant,
    /// Rejected: the OAuth client's role lacks a permission or division (Genesys's code quoted).
    Forbidden,
    /// Rejected: Genesys refused the write (its `code` and `message` quoted).
    GenesysRejected,
    /// Rejected: the request's org is not in the org map.
    UnknownOrg,
}

impl Reason {
    /// Every reason, in the order the README's outcome table lists them.
    pub const ALL: [Self; 14] = [
        Self::NoRule,
        Self::SupervisorParticipant,
        Self::CodePresent,
        Self::NoPrediction,
        Self::Observed,
        Self::InvalidEvent,
        Self::ConversationNotFound,
        Self::WrapupCodeNotFound,
        Self::WrapupCodeAmbiguous,
        Self::DivisionMismatch,
        Self::NoAgentParticipant,
        Self::Forbidden,
        Self::GenesysRejected,
        Self::UnknownOrg,
    ];

    /// The name in outcomes, logs, metrics, New Relic and the attention queue: the only place
    /// it is spelled.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoRule => "no_rule",
            Self::SupervisorParticipant => "supervisor_participant",
            Self::CodePresent => "code_present",
            Self::NoPrediction => "no_prediction",
            Self::Observed => "observed",
            Self::InvalidEvent => "invalid_event",
            Self::ConversationNotFound => "conversation_not_found",
            Self::WrapupCodeNotFound => "wrapup_code_not_found",
            Self::WrapupCodeAmbiguous => "wrapup_code_ambiguous",
            Self::DivisionMismatch => "division_mismatch",
            Self::NoAgentParticipant => "no_agent_participant",
            Self::Forbidden => "forbidden",
            Self::GenesysRejected => "genesys_rejected",
            Self::UnknownOrg => "unknown_org",
        }
    }

    /// The status this reason comes with.
    pub fn status(self) -> Status {
        match self {
            Self::NoRule
            | Self::SupervisorParticipant
            | Self::CodePresent
            | Self::NoPrediction
            | Self::Observed => Status::Skipped,
            _ => Status::Rejected,
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The result of one request: what the caller, the logs, the metrics and New Relic are told.
/// Serialises to the contract's JSON (`status`, ids, `reason`, `message`, `rule`, `write`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub(crate) status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) participant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) communication_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wrap_up_code_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wrap_up_code_name: Option<String>,
    /// The code on the participant before this request (from the read, or an `acw` event), so
    /// teams can compare automation with what agents chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_wrap_up_code: Option<String>,
    /// That code's name, to compare with `wrap_up_code_name` on like terms: as Genesys's read
    /// names it, else from the codes the function already has (no extra call); absent when
    /// neither knows it (a system code, or an `acw` event's code no request has looked up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_wrap_up_code_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<String>,
    /// Dry run: the exact request a real run would send. Only ever shown to the caller (stdout,
    /// the webhook response): notes may hold customer data, so never logs, metrics or New Relic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) write: Option<Box<Write>>,
    /// The confidence of the Copilot prediction the code came from (a predicted code only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) predicted_confidence: Option<f64>,
    /// A redelivery answered from what an earlier delivery of the same request decided, with no
    /// Genesys call (`WRAPUP_LOCK_TABLE`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) remembered: bool,
    /// For logs and telemetry only; not part of the contract's JSON.
    #[serde(skip)]
    pub(crate) details: Details,
}

/// Copilot's prediction beside the code the agent chose, for one agent communication: what an
/// `observe` rule records (New Relic's `WrapUpPrediction`, the `Predictions` metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Observation {
    pub(crate) participant_id: String,
    pub(crate) queue_id: Option<String>,
    /// The code the agent's `acw` event carried (an id, or a system code such as
    /// `ININ-WRAP-UP-TIMEOUT`), and its name when known.
    pub(crate) agent_code: Option<String>,
    pub(crate) agent_code_name: Option<String>,
    /// The most confident prediction, its name and confidence.
    pub(crate) predicted_code: Option<String>,
    pub(crate) predicted_code_name: Option<String>,
    pub(crate) confidence: Option<f64>,
    /// The agent's code is the most confident prediction.
    pub(crate) agreed: bool,
    /// Where the agent's code stands among the predictions by confidence (1 = the top one).
    pub(crate) rank: Option<usize>,
    /// The agent's code is a system code (`ININ-…`: the agent never chose).
    pub(crate) timed_out: bool,
}

/// What logs and metrics want to know beyond the contract's fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Details {
    pub(crate) media: Option<&'static str>,
    pub(crate) division_id: Option<String>,
    pub(crate) queue_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) context_id: Option<String>,
    /// What an `observe` rule recorded: Copilot's prediction beside the agent's code.
    pub(crate) observation: Option<Box<Observation>>,
}

impl Outcome {
    pub(crate) fn new(status: Status) -> Self {
        Self {
            status,
            conversation_id: None,
            participant_id: None,
            communication_id: None,
            wrap_up_code_id: None,
            wrap_up_code_name: None,
            current_wrap_up_code: None,
            current_wrap_up_code_name: None,
            reason: None,
            message: None,
            rule: None,
            write: None,
            predicted_confidence: None,
            remembered: false,
            details: Details::default(),
        }
    }

    /// An outcome decided from the event alone, before anything was read: rejected or
    /// skipped, as the reason says.
    pub(crate) fn decided(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason: Some(reason),
            message: Some(message.into()),
            ..Self::new(reason.status())
        }
    }

    /// How the request ended.
    pub fn status(&self) -> Status {
        self.status
    }
}

/// A permanent refusal found while deciding: its reason and the words that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Why, as the outcome's `reason` says it.
    pub reason: Reason,
    /// What a person reads: the ids, and what to fix.
    pub message: String,
}

impl Rejection {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}
