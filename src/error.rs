//! The one question every failure must answer: retry later, or never.
//!
//! Permanent trouble becomes a `rejected` outcome (see `wrapup::outcome`); transient trouble is a
//! [`Transient`] error that each trigger hands back to its platform's retry policy.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// The agent's part has not ended yet (or, with `overwrite` `never`/`system`, the agent is
    /// still in after-call work, choosing).
    NotEnded,
    /// Genesys answered 429.
    RateLimited,
    /// 409, 5xx, timeouts, connection failures, malformed responses.
    Upstream,
    /// Secrets Manager or the token endpoint failed: credentials could not be obtained.
    Credentials,
}

impl TransientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotEnded => "not_ended",
            Self::RateLimited => "rate_limited",
            Self::Upstream => "upstream_unavailable",
            Self::Credentials => "credentials_unavailable",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("transient ({}): {message}", kind.as_str())]
pub struct Transient {
    pub kind: TransientKind,
    pub message: String,
    /// The wait Genesys asked for, or our own estimate; `None` when unknown.
    pub retry_after: Option<Duration>,
    /// `ININ-Correlation-ID` of the failing Genesys response, when there was one.
    pub correlation_id: Option<String>,
    /// The code the participant had, when the conversation was read before the trouble.
    pub current_wrap_up_code: Option<String>,
}

impl Transient {
    pub fn new(kind: TransientKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            correlation_id: None,
            current_wrap_up_code: None,
        }
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

impl From<Transient> for lambda_runtime::Diagnostic {
    fn from(t: Transient) -> Self {
        lambda_runtime::Diagnostic {
            error_type: format!("Transient.{}", t.kind.as_str()),
            error_message: t.message,
        }
    }
}
