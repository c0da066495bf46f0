//! What a run learns on its way ([`Trace`]) and why it stops before a write ([`Stop`]): the
//! outcome is built from them once, in [`Trace::outcome`], whatever step the run ended at.

use crate::error::{Transient, TransientKind};
use crate::genesys::models::WrapupCode;
use crate::genesys::{ErrorClass, GenesysError, Write};
use crate::lease::Lease;
use crate::wrapup::{Details, Observation, Outcome, Reason, Status, Target};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// What a caller is told to wait when the agent's part has not ended yet.
const NOT_ENDED_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Why the steps stopped before a write.
pub(super) enum Stop {
    /// A final outcome: rejected or skipped (the reason says which), and why in words.
    Final(Reason, String),
    /// Trouble the platform should retry.
    Retry(Transient),
    /// An earlier delivery of this request decided it: its outcome, answered again.
    Remembered(Box<Outcome>),
}

impl Stop {
    pub(super) fn because(reason: Reason, message: impl Into<String>) -> Self {
        Self::Final(reason, message.into())
    }

    /// The agent's part has not ended (or the agent has not chosen yet): retry later.
    pub(super) fn not_ended(message: String, correlation_id: Option<String>) -> Self {
        Self::Retry(Transient {
            retry_after: Some(NOT_ENDED_RETRY_AFTER),
            correlation_id,
            ..Transient::new(TransientKind::NotEnded, message)
        })
    }
}

/// Everything learned on the way, from which the outcome is built.
pub(super) struct Trace {
    pub(super) conversation_id: Uuid,
    pub(super) target: Option<Target>,
    /// The code on the participant before this request: the read's, else an `acw` event's.
    pub(super) current_code: Option<String>,
    /// Its name: the read's, else one the client already has.
    pub(super) current_code_name: Option<String>,
    pub(super) code_id: Option<Uuid>,
    pub(super) code: Option<WrapupCode>,
    pub(super) rule: Option<String>,
    /// Dry run: the write a real run would have sent.
    pub(super) write: Option<Box<Write>>,
    pub(super) correlation_id: Option<String>,
    pub(super) context_id: Option<String>,
    /// The conversation's lease while this request holds it.
    pub(super) lease: Option<Lease>,
    /// The confidence of the Copilot prediction the code came from.
    pub(super) predicted_confidence: Option<f64>,
    /// What an `observe` rule recorded.
    pub(super) observation: Option<Box<Observation>>,
    /// When a write whose result is unknown was sent: the lease is held until it can no longer
    /// land, so no duplicate reads the conversation before Genesys shows what it did.
    pub(super) unknown_write: Option<SystemTime>,
}

impl Trace {
    /// Nothing learned yet about `conversation_id`, but the code an `acw` event said is there.
    pub(super) fn new(conversation_id: Uuid, current_code: Option<String>) -> Self {
        Self {
            conversation_id,
            target: None,
            current_code,
            current_code_name: None,
            code_id: None,
            code: None,
            rule: None,
            write: None,
            correlation_id: None,
            context_id: None,
            lease: None,
            predicted_confidence: None,
            observation: None,
            unknown_write: None,
        }
    }

    /// A Genesys failure: a rejection naming Genesys's own words, or the retry it calls for.
    /// `not_found` is the reason a 404 means at this step (`None`: Genesys refused the write).
    pub(super) fn genesys(&mut self, e: GenesysError, not_found: Option<Reason>) -> Stop {
        self.correlation_id = e.correlation_id.clone().or(self.correlation_id.take());
        self.context_id = e.context_id.clone();
        match (&e.class, not_found) {
            (ErrorClass::NotFound, Some(reason)) => Stop::because(reason, e.to_string()),
            (ErrorClass::NotFound | ErrorClass::Rejected, _) => {
                Stop::because(Reason::GenesysRejected, e.quoted())
            }
            (ErrorClass::Forbidden, _) => Stop::because(
                Reason::Forbidden,
                format!(
                    "{}; the OAuth client's role lacks the permission or division for this call",
                    e.quoted()
                ),
            ),
            (ErrorClass::Transient(kind), _) => {
                let mut message = e.to_string();
                if e.write_unknown {
                    message.push_str("; the write's result is unknown, so the retry re-reads the conversation before writing");
                }
                Stop::Retry(Transient {
                    retry_after: e.retry_after,
                    correlation_id: e.correlation_id,
                    ..Transient::new(*kind, message)
                })
            }
        }
    }

    /// The outcome of a run that ended with `result`: a status, a final stop's reason, or the
    /// transient trouble the platform retries (carrying the code the participant has now).
    pub(super) fn finish(self, result: Result<Status, Stop>) -> Result<Outcome, Transient> {
        match result {
            Ok(status) => Ok(self.outcome(status, None, None)),
            Err(Stop::Final(reason, message)) => {
                Ok(self.outcome(reason.status(), Some(reason), Some(message)))
            }
            Err(Stop::Retry(mut t)) => {
                t.current_wrap_up_code = self.current_code;
                Err(t)
            }
            Err(Stop::Remembered(outcome)) => Ok(*outcome),
        }
    }

    fn outcome(self, status: Status, reason: Option<Reason>, message: Option<String>) -> Outcome {
        let target = self.target.as_ref();
        let code = self.code.as_ref();
        Outcome {
            status,
            conversation_id: Some(self.conversation_id.hyphenated().to_string()),
            participant_id: target.map(|t| t.participant_id.hyphenated().to_string()),
            communication_id: target.map(|t| t.communication_id.hyphenated().to_string()),
            wrap_up_code_id: self.code_id.map(|c| c.hyphenated().to_string()),
            wrap_up_code_name: code.and_then(|c| c.name.clone()),
            current_wrap_up_code: self.current_code,
            current_wrap_up_code_name: self.current_code_name,
            reason,
            message,
            rule: self.rule,
            write: self.write,
            predicted_confidence: self.predicted_confidence,
            remembered: false,
            details: Details {
                media: target.map(|t| t.media.as_str()),
                division_id: code.and_then(|c| c.division.as_ref()?.id.clone()),
                queue_id: target.and_then(|t| t.queue_id.clone()),
                user_id: target.and_then(|t| t.user_id.clone()),
                correlation_id: self.correlation_id,
                context_id: self.context_id,
                observation: self.observation,
            },
        }
    }
}
