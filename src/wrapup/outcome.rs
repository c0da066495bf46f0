//! The result of one apply request, in the contract's JSON shape.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    AlreadyApplied,
    Rejected,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::AlreadyApplied => "already_applied",
            Self::Rejected => "rejected",
            Self::Skipped => "skipped",
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
    NoRule,
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
            Self::NoRule => "no_rule",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communication_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up_code_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For logs and telemetry only; not part of the contract's JSON.
    #[serde(skip)]
    pub details: Details,
}

/// What logs and metrics want to know beyond the contract's fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub media: Option<&'static str>,
    pub wrap_up_code_name: Option<String>,
    pub division_id: Option<String>,
    pub queue_id: Option<String>,
    pub user_id: Option<String>,
    pub correlation_id: Option<String>,
    pub context_id: Option<String>,
}

impl Outcome {
    pub fn new(status: Status) -> Self {
        Self {
            status,
            conversation_id: None,
            participant_id: None,
            communication_id: None,
            wrap_up_code_id: None,
            reason: None,
            message: None,
            rule: None,
            details: Details::default(),
        }
    }

    pub fn rejected(reason: Reason, message: impl Into<String>) -> Self {
        let mut o = Self::new(Status::Rejected);
        o.reason = Some(reason);
        o.message = Some(message.into());
        o
    }

    pub fn skipped(reason: Reason, message: impl Into<String>) -> Self {
        let mut o = Self::new(Status::Skipped);
        o.reason = Some(reason);
        o.message = Some(message.into());
        o
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .unwrap_or_else(|_| serde_json::json!({"status": self.status.as_str()}))
    }
}
