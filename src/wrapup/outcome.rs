//! The result of one request, in the contract's JSON shape.

use crate::genesys::Write;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    AlreadyApplied,
    Rejected,
    Skipped,
    /// Dry run: every read and check passed; this is the write a real run would send.
    WouldApply,
}

impl Status {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    InvalidEvent,
    ConversationNotFound,
    WrapupCodeNotFound,
    DivisionMismatch,
    NoAgentParticipant,
    Forbidden,
    GenesysRejected,
    UnknownOrg,
    WrapupCodeAmbiguous,
    NoRule,
    CodePresent,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidEvent => "invalid_event",
            Self::ConversationNotFound => "conversation_not_found",
            Self::WrapupCodeNotFound => "wrapup_code_not_found",
            Self::DivisionMismatch => "division_mismatch",
            Self::NoAgentParticipant => "no_agent_participant",
            Self::Forbidden => "forbidden",
            Self::GenesysRejected => "genesys_rejected",
            Self::UnknownOrg => "unknown_org",
            Self::WrapupCodeAmbiguous => "wrapup_code_ambiguous",
            Self::NoRule => "no_rule",
            Self::CodePresent => "code_present",
        }
    }
}

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
    /// For logs and telemetry only; not part of the contract's JSON.
    #[serde(skip)]
    pub(crate) details: Details,
}

/// What logs and metrics want to know beyond the contract's fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub(crate) media: Option<&'static str>,
    pub(crate) division_id: Option<String>,
    pub(crate) queue_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) context_id: Option<String>,
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
            reason: None,
            message: None,
            rule: None,
            write: None,
            details: Details::default(),
        }
    }

    /// A rejection decided before anything was read (the event itself is wrong).
    pub(crate) fn rejected(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason: Some(reason),
            message: Some(message.into()),
            ..Self::new(Status::Rejected)
        }
    }

    /// A skip decided from the event alone (a topic no rule acts on).
    pub(crate) fn skipped(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason: Some(reason),
            message: Some(message.into()),
            ..Self::new(Status::Skipped)
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }
}
