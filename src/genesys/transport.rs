//! What every call to Genesys shares, below the API client and the token alike: the parts each
//! org's client is built from, the time a call may take before the invocation's deadline, the
//! headers read from a response, and how a call that got no answer is classed.

use super::calls::CallStats;
use super::error::{Endpoint, GenesysError};
use crate::clock::{Clock, Deadline};
use crate::error::TransientKind;
use crate::secrets::SecretCache;
use std::sync::Arc;
use std::time::Duration;

/// Genesys's id of a request, for its support: in every log line and outcome that has one.
pub(super) const CORRELATION_HEADER: &str = "ININ-Correlation-ID";
/// Time kept back from the deadline to report the outcome.
pub(super) const DEADLINE_RESERVE: Duration = Duration::from_millis(1_000);
/// A call with less time than this left is not started.
const MIN_CALL_BUDGET: Duration = Duration::from_millis(200);

/// What every org's client shares: the HTTP client, secrets, clock and call statistics.
#[derive(Clone)]
pub(crate) struct Shared {
    pub http: reqwest::Client,
    pub secrets: Arc<SecretCache>,
    pub clock: Arc<dyn Clock>,
    pub stats: Arc<CallStats>,
}

/// How long the next call to `endpoint` may take: the call timeout, or what is left before the
/// deadline's reserve. Too little left is transient: the platform retries with a fresh deadline.
pub(super) fn call_budget(
    clock: &dyn Clock,
    call_timeout: Duration,
    endpoint: Endpoint,
    deadline: Deadline,
) -> Result<Duration, GenesysError> {
    let left = deadline.remaining(clock).saturating_sub(DEADLINE_RESERVE);
    let budget = left.min(call_timeout);
    if budget < MIN_CALL_BUDGET {
        return Err(GenesysError::transient(
            endpoint,
            TransientKind::Upstream,
            "the invocation deadline is too close to start another Genesys call",
        ));
    }
    Ok(budget)
}

/// A response header's value, at most 128 bytes of it.
pub(super) fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| truncate(v, 128).to_owned())
}

/// At most `max` bytes of `text`, cut on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A call that got no answer: transient, and for a write that may have reached Genesys, of
/// unknown result.
pub(super) fn transport_error(
    endpoint: Endpoint,
    e: &reqwest::Error,
    write_unknown: bool,
) -> GenesysError {
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else if let Some(tls) = crate::http::tls_failure(e) {
        format!("failed in TLS: {tls}")
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_body() || e.is_decode() {
        "failed while reading the response".to_owned()
    } else {
        "connection failed".to_owned()
    };
    let mut err =
        GenesysError::transient(endpoint, TransientKind::Upstream, format!("request {what}"));
    err.write_unknown = write_unknown;
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("abc", 128), "abc");
        assert_eq!(truncate("abcdef", 4), "abcd");
        // "é" is two bytes: a cut inside it steps back before it.
        assert_eq!(truncate("abcé", 4), "abc");
        assert_eq!(truncate(&"x".repeat(300), 128).len(), 128);
    }
}
