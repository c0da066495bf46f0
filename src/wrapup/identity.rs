//! A request's identity: what makes two deliveries the same request, and when the request was
//! made. The platforms deliver at least once and sometimes late; the identity is how a
//! redelivery is told from a new request that happens to ask the same.
//!
//! - an EventBridge event is its `id` (also when the event reaches the function inside an SQS
//!   message, or inside a Lambda on-failure record);
//! - a webhook request is its `Idempotency-Key` header, when the sender sets one;
//! - anything else (a direct invoke of a bare apply request, a webhook without the header, a
//!   bare apply request in an SQS message) is the hash of the request's canonical form: the same
//!   conversation, participant, org, code, notes, tags and `overwrite` are the same request.
//!
//! The key is a SHA-256 of where the identity came from and its value: fixed length, no
//! customer data, and never a conversation id (the lease table keeps both).

use super::request::ApplyRequest;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What makes two deliveries the same request, and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    key: String,
    /// When the request was made: a Genesys event's `eventTime`, an EventBridge event's `time`,
    /// the SQS message's or HTTP request's own time; `None` when nothing says (a direct invoke).
    sent_at: Option<SystemTime>,
}

/// Where an identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// An EventBridge event's `id`.
    EventId,
    /// A webhook's `Idempotency-Key` header.
    IdempotencyKey,
    /// The hash of the request's canonical form.
    Canonical,
}

impl Source {
    /// Its name, hashed with the value so sources never collide.
    fn as_str(self) -> &'static str {
        match self {
            Self::EventId => "eventId",
            Self::IdempotencyKey => "idempotencyKey",
            Self::Canonical => "canonical",
        }
    }
}

/// An apply request's fields in a fixed order and form: what its hash is taken of.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Canonical<'a> {
    conversation_id: String,
    participant_id: Option<String>,
    org_id: Option<String>,
    code: String,
    notes: Option<&'a str>,
    tags: Option<&'a [String]>,
    overwrite: &'static str,
}

impl Identity {
    fn new(source: Source, value: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(source.as_str().as_bytes());
        hash.update(b":");
        hash.update(value);
        Self {
            key: hex::encode(hash.finalize()),
            sent_at: None,
        }
    }

    /// An EventBridge event's `id`.
    pub(crate) fn event_id(id: &str) -> Self {
        Self::new(Source::EventId, id.trim().as_bytes())
    }

    /// A webhook's `Idempotency-Key` header.
    pub(crate) fn idempotency_key(key: &str) -> Self {
        Self::new(Source::IdempotencyKey, key.trim().as_bytes())
    }

    /// The hash of an apply request's canonical form.
    pub(crate) fn canonical(request: &ApplyRequest) -> Self {
        let wanted = &request.wanted;
        let canonical = Canonical {
            conversation_id: request.conversation_id.hyphenated().to_string(),
            participant_id: request.participant_id.map(|p| p.hyphenated().to_string()),
            org_id: request.org_id.map(|o| o.hyphenated().to_string()),
            code: wanted.code.canonical(),
            notes: wanted.notes.as_deref(),
            tags: wanted.tags.as_deref(),
            overwrite: wanted.overwrite.as_str(),
        };
        // A struct of strings always serialises; the fallback keeps the function total.
        let text = serde_json::to_vec(&canonical).unwrap_or_default();
        Self::new(Source::Canonical, &text)
    }

    /// The same identity, made at `sent_at`.
    pub(crate) fn sent_at(mut self, sent_at: Option<SystemTime>) -> Self {
        self.sent_at = sent_at;
        self
    }

    /// The same identity, made `epoch_ms` milliseconds after the Unix epoch.
    pub(crate) fn sent_at_epoch_ms(self, epoch_ms: Option<i64>) -> Self {
        let at = epoch_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        self.sent_at(at)
    }

    /// The key (hex SHA-256): what the lease table remembers the request by.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// When the request was made, when something said.
    pub(crate) fn when(&self) -> Option<SystemTime> {
        self.sent_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(json: serde_json::Value) -> ApplyRequest {
        ApplyRequest::from_json(&json).unwrap()
    }

    #[test]
    fn the_same_request_has_the_same_identity_and_another_request_another() {
        let conversation = "c0000000-0000-4000-8000-000000000001";
        let code = "c0de0000-0000-4000-8000-000000000001";
        let a =
            apply(serde_json::json!({"conversationId": conversation, "wrapUpCode": {"id": code}}));
        let same = apply(
            serde_json::json!({"interactionId": conversation.to_uppercase(), "wrapUpCode": {"id": code}}),
        );
        let other = apply(
            serde_json::json!({"conversationId": conversation, "wrapUpCode": {"id": code}, "notes": "n"}),
        );
        assert_eq!(Identity::canonical(&a), Identity::canonical(&same));
        assert_ne!(Identity::canonical(&a), Identity::canonical(&other));
        assert_eq!(Identity::canonical(&a).key().len(), 64);
        // Sources never collide, whatever the value.
        assert_ne!(
            Identity::event_id("k").key(),
            Identity::idempotency_key("k").key()
        );
        assert_eq!(
            Identity::event_id(" k ").key(),
            Identity::event_id("k").key()
        );
    }

    #[test]
    fn the_time_a_request_was_made_is_read_from_epoch_milliseconds() {
        assert_eq!(
            Identity::event_id("e").sent_at_epoch_ms(Some(1_500)).when(),
            Some(UNIX_EPOCH + Duration::from_millis(1_500))
        );
        assert_eq!(
            Identity::event_id("e").sent_at_epoch_ms(Some(-1)).when(),
            None
        );
    }
}
