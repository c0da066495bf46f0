//! The items the table holds besides leases, and how they are read back:
//!
//! - a **remembered request** (`request#<identity>`, `dry-run#<identity>` for a dry run's):
//!   the outcome a request was decided with, kept for `WRAPUP_IDEMPOTENCY_TTL`, or `unknown`
//!   after a write whose result is unknown;
//! - the conversation's **last write** (`write#<conversation id>`): what this function last
//!   wrote on it (participant, communication, code, the code before, the request's time), so a
//!   later request decides as if a lagging read already showed it, and an older request never
//!   puts its code back over it.
//!
//! No key is a bare conversation id, so none is ever mistaken for a lease. No item holds notes,
//! tags or a write's body: customer data stays in Genesys.

use super::table::{EXPIRES_AT, KEY};
use crate::genesys::MediaKind;
use crate::wrapup::{Details, Identity, Outcome, Reason, Status};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

pub(super) const STATE: &str = "state";
pub(super) const OUTCOME: &str = "outcome";
pub(super) const LAG_UNTIL: &str = "lagUntil";
pub(super) const SENT_AT: &str = "sentAt";
const AT: &str = "at";
const PARTICIPANT: &str = "participantId";
const COMMUNICATION: &str = "communicationId";
const CODE: &str = "code";
const PREVIOUS: &str = "previousCode";
const CONVERSATION: &str = "conversationId";

/// A remembered request's state: decided, or written with an unknown result.
pub(super) const DONE: &str = "done";
pub(super) const UNKNOWN: &str = "unknown";

/// An item, as DynamoDB hands it over.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The key a request is remembered by; a dry run's apart, so switching dry run off never turns
/// a real request into `already_applied`.
pub(super) fn request_key(identity: &Identity, dry_run: bool) -> String {
    let namespace = if dry_run { "dry-run" } else { "request" };
    format!("{namespace}#{}", identity.key())
}

/// The key of a conversation's last write.
pub(super) fn write_key(conversation_id: Uuid) -> String {
    format!("write#{}", conversation_id.hyphenated())
}

pub(super) fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(s) => Some(s.clone()),
        _ => None,
    }
}

pub(super) fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name)? {
        AttributeValue::N(n) => n.parse().ok(),
        _ => None,
    }
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// What this function last wrote on a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWrite {
    /// The participant written to.
    pub participant_id: String,
    /// Its communication.
    pub communication_id: String,
    /// The code written.
    pub code: String,
    /// The code the participant had before (what a lagging read still shows).
    pub previous_code: Option<String>,
    /// When the request that wrote it was made (epoch milliseconds).
    pub sent_at_ms: i64,
    /// Until when (epoch seconds) a read that does not show it may still be lagging.
    pub lag_until: i64,
    /// Whether, when it was read back, a read could still lag behind it (not kept: judged then).
    pub reads_may_lag: bool,
}

impl LastWrite {
    pub(super) fn item(&self, conversation_id: Uuid, now: i64, expires_at: i64) -> Item {
        let mut item = Item::from([
            (KEY.to_owned(), s(write_key(conversation_id))),
            (EXPIRES_AT.to_owned(), n(expires_at)),
            (AT.to_owned(), n(now)),
            (LAG_UNTIL.to_owned(), n(self.lag_until)),
            (SENT_AT.to_owned(), n(self.sent_at_ms)),
            (PARTICIPANT.to_owned(), s(&self.participant_id)),
            (COMMUNICATION.to_owned(), s(&self.communication_id)),
            (CODE.to_owned(), s(&self.code)),
        ]);
        if let Some(previous) = &self.previous_code {
            item.insert(PREVIOUS.to_owned(), s(previous));
        }
        item
    }

    pub(super) fn from_item(item: &Item, now: i64) -> Option<Self> {
        let lag_until = number(item, LAG_UNTIL)?;
        Some(Self {
            reads_may_lag: lag_until >= now,
            participant_id: text(item, PARTICIPANT)?,
            communication_id: text(item, COMMUNICATION)?,
            code: text(item, CODE)?,
            previous_code: text(item, PREVIOUS),
            sent_at_ms: number(item, SENT_AT)?,
            lag_until,
        })
    }
}

/// A decided outcome as the table keeps it: the contract's fields and what telemetry reads,
/// never a write's body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kept {
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    participant_id: Option<String>,
    #[serde(default)]
    communication_id: Option<String>,
    #[serde(default)]
    wrap_up_code_id: Option<String>,
    #[serde(default)]
    wrap_up_code_name: Option<String>,
    #[serde(default)]
    current_wrap_up_code: Option<String>,
    #[serde(default)]
    current_wrap_up_code_name: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    predicted_confidence: Option<f64>,
    #[serde(default)]
    media: Option<String>,
    #[serde(default)]
    division_id: Option<String>,
    #[serde(default)]
    queue_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// The item remembering `outcome` for the request `key`.
pub(super) fn remembered(
    key: String,
    outcome: &Outcome,
    conversation_id: Uuid,
    now: i64,
    expires_at: i64,
) -> Item {
    let details = &outcome.details;
    let kept = Kept {
        status: outcome.status.as_str().to_owned(),
        reason: outcome.reason.map(|r| r.as_str().to_owned()),
        message: outcome.message.clone(),
        participant_id: outcome.participant_id.clone(),
        communication_id: outcome.communication_id.clone(),
        wrap_up_code_id: outcome.wrap_up_code_id.clone(),
        wrap_up_code_name: outcome.wrap_up_code_name.clone(),
        current_wrap_up_code: outcome.current_wrap_up_code.clone(),
        current_wrap_up_code_name: outcome.current_wrap_up_code_name.clone(),
        rule: outcome.rule.clone(),
        predicted_confidence: outcome.predicted_confidence,
        media: details.media.map(str::to_owned),
        division_id: details.division_id.clone(),
        queue_id: details.queue_id.clone(),
        user_id: details.user_id.clone(),
    };
    Item::from([
        (KEY.to_owned(), s(key)),
        (EXPIRES_AT.to_owned(), n(expires_at)),
        (AT.to_owned(), n(now)),
        (STATE.to_owned(), s(DONE)),
        (
            CONVERSATION.to_owned(),
            s(conversation_id.hyphenated().to_string()),
        ),
        // A struct of strings always serialises; an empty outcome is read back as none.
        (
            OUTCOME.to_owned(),
            s(serde_json::to_string(&kept).unwrap_or_default()),
        ),
    ])
}

/// The item remembering that the request `key` wrote with an unknown result.
pub(super) fn unknown(key: String, conversation_id: Uuid, now: i64, expires_at: i64) -> Item {
    Item::from([
        (KEY.to_owned(), s(key)),
        (EXPIRES_AT.to_owned(), n(expires_at)),
        (AT.to_owned(), n(now)),
        (STATE.to_owned(), s(UNKNOWN)),
        (
            CONVERSATION.to_owned(),
            s(conversation_id.hyphenated().to_string()),
        ),
    ])
}

/// The outcome a redelivery of a remembered request answers: what the first delivery decided,
/// with `applied` told as `already_applied` (the code is there: this delivery wrote nothing).
/// `None` when the item holds no outcome this version can read (it is then decided afresh).
pub(super) fn recall(item: &Item, conversation_id: Uuid) -> Option<Outcome> {
    if text(item, STATE).as_deref() != Some(DONE) {
        return None;
    }
    let kept: Kept = serde_json::from_str(&text(item, OUTCOME)?).ok()?;
    let first = Status::ALL
        .into_iter()
        .find(|s| s.as_str() == kept.status)?;
    let reason = match kept.reason.as_deref() {
        Some(name) => Some(Reason::ALL.into_iter().find(|r| r.as_str() == name)?),
        None => None,
    };
    let (status, current, current_name) = match first {
        // The code it wrote is what the participant has now.
        Status::Applied => (
            Status::AlreadyApplied,
            kept.wrap_up_code_id.clone(),
            kept.wrap_up_code_name.clone(),
        ),
        other => (
            other,
            kept.current_wrap_up_code,
            kept.current_wrap_up_code_name,
        ),
    };
    let when = number(item, AT).map_or_else(String::new, |at| {
        chrono::DateTime::from_timestamp(at, 0)
            .map(|t| {
                format!(
                    " at {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
            .unwrap_or_default()
    });
    let what = match (first, &kept.message) {
        (Status::Applied, _) => "applied it".to_owned(),
        (_, Some(message)) => format!("decided {}: {message}", first.as_str()),
        (_, None) => format!("decided {}", first.as_str()),
    };
    Some(Outcome {
        status,
        conversation_id: Some(conversation_id.hyphenated().to_string()),
        participant_id: kept.participant_id,
        communication_id: kept.communication_id,
        wrap_up_code_id: kept.wrap_up_code_id,
        wrap_up_code_name: kept.wrap_up_code_name,
        current_wrap_up_code: current,
        current_wrap_up_code_name: current_name,
        reason,
        message: Some(format!(
            "a redelivery: an earlier delivery of this request{when} {what}; Genesys was not called"
        )),
        rule: kept.rule,
        write: None,
        predicted_confidence: kept.predicted_confidence,
        remembered: true,
        details: Details {
            media: kept.media.as_deref().and_then(media_name),
            division_id: kept.division_id,
            queue_id: kept.queue_id,
            user_id: kept.user_id,
            correlation_id: None,
            context_id: None,
            observation: None,
        },
    })
}

/// The `'static` name of a media type, as outcomes carry it.
fn media_name(name: &str) -> Option<&'static str> {
    MediaKind::ALL
        .into_iter()
        .map(MediaKind::as_str)
        .find(|m| *m == name)
}
