//! Genesys failures, classified once, where the response is seen.

use crate::error::TransientKind;
use std::time::Duration;

/// Which Genesys call failed; also the low-cardinality name used in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    TokenInfo,
    GetConversation,
    GetWrapupCode,
    ListWrapupCodes,
    GetParticipantWrapupCodes,
    ListQueueWrapupCodes,
    GetSummaries,
    ListAssistants,
    GetCopilot,
    PostWrapup,
}

impl Endpoint {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Token => "oauth_token",
            Self::TokenInfo => "get_token_info",
            Self::GetConversation => "get_conversation",
            Self::GetWrapupCode => "get_wrapup_code",
            Self::ListWrapupCodes => "list_wrapup_codes",
            Self::GetParticipantWrapupCodes => "get_participant_wrapup_codes",
            Self::ListQueueWrapupCodes => "list_queue_wrapup_codes",
            Self::GetSummaries => "get_conversation_summaries",
            Self::ListAssistants => "list_assistants",
            Self::GetCopilot => "get_assistant_copilot",
            Self::PostWrapup => "post_wrapup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// 404.
    NotFound,
    /// 403: the OAuth client's role or divisions do not allow the call.
    Forbidden,
    /// Another 4xx: Genesys refused the request itself.
    Rejected,
    Transient(TransientKind),
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{} failed{}: {}{}", endpoint.as_str(), status.map(|s| format!(" with HTTP {s}")).unwrap_or_default(), code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(), message)]
pub(crate) struct GenesysError {
    pub endpoint: Endpoint,
    pub class: ErrorClass,
    pub status: Option<u16>,
    /// Genesys's own error `code`, e.g. `bad.request`.
    pub code: Option<String>,
    pub message: String,
    pub correlation_id: Option<String>,
    pub context_id: Option<String>,
    pub retry_after: Option<Duration>,
    /// True when a write may have reached Genesys although no answer came back.
    pub write_unknown: bool,
}

impl GenesysError {
    pub(crate) fn transient(
        endpoint: Endpoint,
        kind: TransientKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            endpoint,
            class: ErrorClass::Transient(kind),
            status: None,
            code: None,
            message: message.into(),
            correlation_id: None,
            context_id: None,
            retry_after: None,
            write_unknown: false,
        }
    }

    /// Genesys's `code` and `message`, quoted for a rejection.
    pub(crate) fn quoted(&self) -> String {
        match &self.code {
            Some(code) => format!(
                "Genesys {}: {code}: {}",
                self.status.unwrap_or(0),
                self.message
            ),
            None => format!("Genesys {}: {}", self.status.unwrap_or(0), self.message),
        }
    }
}
