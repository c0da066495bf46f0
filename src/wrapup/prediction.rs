//! What Genesys Copilot predicts for the communication written to, decided on summaries
//! already read (no I/O): whose session it is (the target's, never another agent's), whether it
//! is ready, the predictions in order of confidence, and what an `observe` rule records beside
//! the agent's own code.

use super::outcome::Observation;
use super::participant::same_id;
use super::target::Target;
use crate::genesys::models::{PredictedCode, SessionSummary, Summaries};

/// The summary of the target's communication, or why there is none yet. Matched by the
/// session's communication; else by its participants, when exactly one session covers the
/// target's participant. The conversation-level summary is never used: it may be another
/// agent's.
pub(crate) fn session_of<'a>(
    summaries: Option<&'a Summaries>,
    target: &Target,
) -> Result<&'a SessionSummary, String> {
    let Some(summaries) = summaries else {
        return Err("Copilot has no summary of the conversation yet (404)".into());
    };
    let sessions = &summaries.session_summaries;
    let by_communication = sessions.iter().find(|s| {
        s.communication
            .as_ref()
            .and_then(|c| c.id.as_deref())
            .is_some_and(|id| same_id(id, target.communication_id))
    });
    let by_participant = || {
        let mut covering = sessions.iter().filter(|s| {
            s.participants
                .iter()
                .filter_map(|p| p.id.as_deref())
                .any(|id| same_id(id, target.participant_id))
        });
        match (covering.next(), covering.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    };
    let session = by_communication.or_else(by_participant).ok_or_else(|| {
        format!(
            "Copilot has no summary of communication {} yet",
            target.communication_id
        )
    })?;
    match session.status.as_deref() {
        Some(status) if status.eq_ignore_ascii_case("Completed") => Ok(session),
        status => Err(format!(
            "the summary of communication {} is {} (not Completed)",
            target.communication_id,
            status.unwrap_or("without a status")
        )),
    }
}

/// A session's predictions with a code id, most confident first (a missing confidence is 0).
pub(crate) fn ranked(session: &SessionSummary) -> Vec<(&PredictedCode, f64)> {
    let mut ranked: Vec<(&PredictedCode, f64)> = session
        .predicted_wrapup_codes
        .iter()
        .filter(|p| p.id.as_deref().is_some_and(|id| !id.trim().is_empty()))
        .map(|p| (p, p.confidence.unwrap_or(0.0).clamp(0.0, 1.0)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

/// What an `observe` rule records for one agent communication: the agent's code beside what
/// Copilot predicted (none when its summary never became ready).
pub(crate) fn observe(
    session: Option<&SessionSummary>,
    target: &Target,
    agent_code: Option<&str>,
    agent_code_name: Option<String>,
) -> Observation {
    let ranked = session.map(ranked).unwrap_or_default();
    let top = ranked.first();
    let same = |p: &PredictedCode, code: &str| {
        p.id.as_deref()
            .is_some_and(|id| id.trim().eq_ignore_ascii_case(code.trim()))
    };
    let rank = agent_code.and_then(|code| ranked.iter().position(|(p, _)| same(p, code)));
    Observation {
        participant_id: target.participant_id.hyphenated().to_string(),
        queue_id: target.queue_id.clone(),
        agent_code: agent_code.map(str::to_owned),
        agent_code_name,
        predicted_code: top.and_then(|(p, _)| p.id.clone()),
        predicted_code_name: top.and_then(|(p, _)| p.name.clone()),
        confidence: top.map(|(_, c)| *c),
        agreed: rank == Some(0),
        rank: rank.map(|r| r + 1),
        timed_out: agent_code.is_some_and(|c| c.trim().starts_with("ININ-")),
    }
}
