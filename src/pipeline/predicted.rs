//! The steps that read Genesys Copilot: the code a predicted `wrapUpCode` names, and what an
//! `observe` rule records. Copilot's summaries are read once per conversation in an invocation
//! (an SQS batch's messages about one conversation share the read), never for a request that
//! does not use predictions. A summary not ready yet is waited for (`prediction_pending`) while
//! the event is younger than `WRAPUP_PREDICTION_WAIT`, judged by the event's own time; after
//! that, as if no prediction had reached the threshold.

use super::trace::{Stop, Trace};
use crate::clock::{Clock, Deadline};
use crate::error::{Transient, TransientKind};
use crate::genesys::models::{Conversation, SessionSummary, Summaries, WrapupCode};
use crate::genesys::{ErrorClass, GenesysClient};
use crate::wrapup::{
    check_division, observe, ranked, session_of, Identity, Observation, Predicted, Target,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// What a caller is told to wait for a summary that is not ready.
const PENDING_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Copilot's summaries read in one invocation, by conversation (`None`: it has none, 404).
#[derive(Debug, Default)]
pub(crate) struct SummaryCache(Mutex<HashMap<Uuid, Arc<Option<Summaries>>>>);

/// What Copilot's summaries are read with: the invocation's cache, how long a summary is
/// waited for, and when the request was made.
pub(super) struct Copilot<'a> {
    pub(super) cache: &'a SummaryCache,
    pub(super) wait: Duration,
    pub(super) clock: &'a dyn Clock,
    pub(super) identity: Option<&'a Identity>,
    pub(super) deadline: Deadline,
}

/// What the predictions gave the code step.
pub(super) enum Picked {
    /// The most confident prediction at or above the threshold that fits the divisions, and
    /// its confidence.
    Code(WrapupCode, f64),
    /// None did: why, in words (the best confidence seen, when there was one).
    Nothing(String),
}

impl Copilot<'_> {
    /// The conversation's summaries, read once per invocation.
    async fn summaries(
        &self,
        genesys: &GenesysClient,
        conversation_id: Uuid,
        trace: &mut Trace,
    ) -> Result<Arc<Option<Summaries>>, Stop> {
        let cached = self
            .cache
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&conversation_id)
            .cloned();
        if let Some(summaries) = cached {
            return Ok(summaries);
        }
        let read = genesys
            .get_summaries(conversation_id, self.deadline)
            .await
            .map_err(|e| trace.genesys(e, None))?;
        let read = Arc::new(read);
        self.cache
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conversation_id, read.clone());
        Ok(read)
    }

    /// Whether a summary that is not ready may still come: the event is younger than the wait.
    /// An event that says nothing of its time arrived now.
    fn may_still_come(&self) -> bool {
        let now = self.clock.now();
        let made = self.identity.and_then(Identity::when).unwrap_or(now);
        now.duration_since(made).unwrap_or(Duration::ZERO) < self.wait
    }

    fn pending(&self, why: String) -> Stop {
        Stop::Retry(
            Transient::new(
                TransientKind::PredictionPending,
                format!(
                    "{why}; asked again while the event is younger than WRAPUP_PREDICTION_WAIT ({} s)",
                    self.wait.as_secs()
                ),
            )
            .with_retry_after(Some(PENDING_RETRY_AFTER)),
        )
    }

    /// The target's session summary, `None` when it is not ready and will not be waited for
    /// any longer (`Err`: wait for it).
    async fn session(
        &self,
        genesys: &GenesysClient,
        target: &Target,
        conversation_id: Uuid,
        trace: &mut Trace,
    ) -> Result<(Arc<Option<Summaries>>, Result<usize, String>), Stop> {
        let summaries = self.summaries(genesys, conversation_id, trace).await?;
        let found = session_of(summaries.as_ref().as_ref(), target).map(|session| {
            summaries
                .as_ref()
                .as_ref()
                .map_or(0, |s| position(&s.session_summaries, session))
        });
        match found {
            Err(why) if self.may_still_come() => Err(self.pending(why)),
            found => Ok((summaries, found)),
        }
    }

    /// The code a predicted `wrapUpCode` names for the target: the most confident prediction
    /// at or above the threshold whose code exists and fits the conversation's divisions (the
    /// others are passed over).
    pub(super) async fn pick(
        &self,
        genesys: &GenesysClient,
        predicted: &Predicted,
        conversation: &Conversation,
        target: &Target,
        trace: &mut Trace,
    ) -> Result<Picked, Stop> {
        let conversation_id = trace.conversation_id;
        let (summaries, found) = self
            .session(genesys, target, conversation_id, trace)
            .await?;
        let session = match (found, summaries.as_ref()) {
            (Ok(i), Some(s)) => &s.session_summaries[i],
            (Err(why), _) => {
                return Ok(Picked::Nothing(format!(
                    "{why}, and the event is older than WRAPUP_PREDICTION_WAIT"
                )))
            }
            (Ok(_), None) => return Ok(Picked::Nothing("Copilot has no summary".into())),
        };
        let ranked = ranked(session);
        for (prediction, confidence) in ranked
            .iter()
            .filter(|(_, c)| *c >= predicted.min_confidence)
        {
            let Some(id) = prediction
                .id
                .as_deref()
                .and_then(|id| Uuid::parse_str(id.trim()).ok())
            else {
                continue;
            };
            match genesys.get_wrapup_code(id, self.deadline).await {
                Ok(code) if check_division(conversation, &code).is_ok() => {
                    return Ok(Picked::Code(code, *confidence))
                }
                // Outside the conversation's divisions, or gone: the next prediction.
                Ok(_) => {}
                Err(e) if matches!(e.class, ErrorClass::Transient(_)) => {
                    return Err(trace.genesys(e, None))
                }
                Err(_) => {}
            }
        }
        let best = ranked.first().map_or_else(
            || "Copilot predicted no code".to_owned(),
            |(p, c)| {
                format!(
                    "the best prediction was {} at {c:.2}",
                    p.name.as_deref().or(p.id.as_deref()).unwrap_or("a code")
                )
            },
        );
        Ok(Picked::Nothing(format!(
            "no code Copilot predicts for communication {} reached minConfidence {} and fits the conversation's divisions; {best}",
            target.communication_id, predicted.min_confidence
        )))
    }

    /// What an `observe` rule records for the target: the agent's code (`agent_code`: the
    /// event's, else the read's) beside Copilot's predictions for its communication.
    pub(super) async fn observe(
        &self,
        genesys: &GenesysClient,
        target: &Target,
        agent_code: Option<&str>,
        trace: &mut Trace,
    ) -> Result<Observation, Stop> {
        let conversation_id = trace.conversation_id;
        let (summaries, found) = self
            .session(genesys, target, conversation_id, trace)
            .await?;
        let session: Option<&SessionSummary> = match (found, summaries.as_ref()) {
            (Ok(i), Some(s)) => s.session_summaries.get(i),
            _ => None,
        };
        // The agent's code's name: from codes already known, else one cached read; a system
        // code has none.
        let name = match agent_code.and_then(|c| Uuid::parse_str(c.trim()).ok()) {
            Some(id) => match genesys.cached_code_name(&id.hyphenated().to_string()) {
                Some(name) => Some(name),
                None => genesys
                    .get_wrapup_code(id, self.deadline)
                    .await
                    .ok()
                    .and_then(|c| c.name),
            },
            None => None,
        };
        Ok(observe(session, target, agent_code, name))
    }
}

/// Where `session` is among `sessions` (it is one of them).
fn position(sessions: &[SessionSummary], session: &SessionSummary) -> usize {
    sessions
        .iter()
        .position(|s| std::ptr::eq(s, session))
        .unwrap_or(0)
}
