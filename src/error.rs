//! The one question every failure must answer: retry later, or never.
//!
//! Permanent trouble becomes a `rejected` outcome (see `wrapup::outcome`); transient trouble is a
//! [`Transient`] error that each trigger hands back to its platform's retry policy.

use std::time::Duration;

/// Which transient trouble it was: what the webhook's status code and the metrics' reason say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// The agent's part has not ended yet (or, with `overwrite` `never`/`system`, the agent is
    /// still in after-call work, choosing).
    NotEnded,
    /// Genesys's rate limit: a 429, the token endpoint's throttling, or this instance's own share
    /// of the OAuth client's budget spent (the client-side limiter).
    RateLimited,
    /// 409, 5xx, timeouts, connection failures, malformed responses.
    Upstream,
    /// Secrets Manager or the token endpoint failed: credentials could not be obtained.
    Credentials,
    /// The wrap-up rules do not load: Genesys events wait until they are fixed.
    RulesUnavailable,
    /// Another invocation holds the conversation's lease (`WRAPUP_LOCK_TABLE`): this request
    /// waits until it is given back or expires.
    InProgress,
    /// Genesys Copilot has not finished the summary whose prediction the request needs: it is
    /// asked again while the event is younger than `WRAPUP_PREDICTION_WAIT`.
    PredictionPending,
}

impl TransientKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Self; 7] = [
        Self::NotEnded,
        Self::RateLimited,
        Self::Upstream,
        Self::Credentials,
        Self::RulesUnavailable,
        Self::InProgress,
        Self::PredictionPending,
    ];

    /// The name in logs, metrics, New Relic and the error type (`Transient.<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotEnded => "not_ended",
            Self::RateLimited => "rate_limited",
            Self::Upstream => "upstream_unavailable",
            Self::Credentials => "credentials_unavailable",
            Self::RulesUnavailable => "rules_unavailable",
            Self::InProgress => "in_progress",
            Self::PredictionPending => "prediction_pending",
        }
    }
}

/// Trouble the platform should retry: the handler returns it as an error (the webhook as a
/// status code with `Retry-After`), so the event is delivered again instead of lost.
#[derive(Debug, Clone, thiserror::Error)]
#[error("transient ({}): {message}", kind.as_str())]
pub struct Transient {
    /// Which trouble.
    pub kind: TransientKind,
    /// What happened, for a person (never a secret).
    pub message: String,
    /// The wait Genesys asked for, or our own estimate; `None` when unknown.
    pub retry_after: Option<Duration>,
    /// `ININ-Correlation-ID` of the failing Genesys response, when there was one.
    pub correlation_id: Option<String>,
    /// The code the participant had, when the conversation was read before the trouble.
    pub current_wrap_up_code: Option<String>,
}

impl Transient {
    /// Trouble of `kind`, with no wait known yet.
    pub fn new(kind: TransientKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            correlation_id: None,
            current_wrap_up_code: None,
        }
    }

    /// The same trouble, with the wait to ask for.
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

/// serde_json's message without the values it quotes (`invalid type: string "…"`, `integer
/// `5``, `unknown variant `…``): they may be a secret, notes or anything a caller sent, and
/// messages reach logs, outcomes and the attention queue. Only the field names of "missing
/// field" and "unknown field" (our schema's, or a caller's key), line and column stay.
pub(crate) fn serde_problem(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let names_fields = full.starts_with("missing field") || full.starts_with("unknown field");
    // What follows ", expected" is our own schema (`always`, `never`, ...): kept as it is.
    let (text, expected) = full.split_once(", expected").unwrap_or((&full, ""));
    let mut out = String::new();
    let mut open: Option<char> = None;
    for c in text.chars() {
        match (open, c) {
            (None, '"') | (None, '`') if !(names_fields && c == '`') => {
                open = Some(c);
                out.push(c);
                out.push('…');
            }
            (Some(q), c) if c == q => {
                open = None;
                out.push(c);
            }
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    if !expected.is_empty() {
        out.push_str(", expected");
        out.push_str(expected);
    }
    out.chars().take(300).collect()
}

/// A short, printable preview of untrusted text for error messages.
pub(crate) fn preview(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    if value.chars().count() > 40 {
        out.push('…');
    }
    format!("\"{out}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        serde_problem(&serde_json::from_str::<T>(json).unwrap_err())
    }

    #[test]
    fn serde_messages_keep_field_names_and_positions_but_no_value() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            key: String,
            n: Option<u8>,
        }
        let m = problem::<S>(r#"{"key": 12345678}"#);
        assert!(!m.contains("12345678") && m.contains("line 1"), "{m}");
        let m = problem::<S>(r#"{"key": "k", "n": "hunter2"}"#);
        assert!(!m.contains("hunter2"), "{m}");
        let m = problem::<S>(r#"{"n": 1}"#);
        assert!(m.contains("missing field `key`"), "{m}");
        let m = problem::<S>(r#"{"key": "k", "colour": 1}"#);
        assert!(m.contains("`colour`"), "{m}");
        let m = problem::<S>(r#"{"key": "k""#);
        assert!(m.contains("EOF"), "{m}");
    }
}
