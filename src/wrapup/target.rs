//! Who takes the wrap-up: the participant and communication it is written to.

use super::outcome::{Reason, Rejection};
use super::participant::{
    communications, parse_time, purpose_is, same_id, supervision, supervisor,
};
use crate::genesys::models::{Communication, Conversation, Participant, Wrapup};
use crate::genesys::MediaKind;
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

/// The participant and communication a wrap-up will be written to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The participant: an agent or user, never a supervisor.
    pub participant_id: Uuid,
    /// Its communication the wrap-up goes on.
    pub communication_id: Uuid,
    /// The communication's media, which picks the endpoint.
    pub media: MediaKind,
    /// The communication's wrap-up, else the participant's.
    pub current: Option<Wrapup>,
    /// The agent is still in after-call work on this communication: has not chosen yet.
    pub acw_pending: bool,
    /// The agent's user id.
    pub user_id: Option<String>,
    /// The queue the participant came through.
    pub queue_id: Option<String>,
    /// The participant's string attributes, for rules.
    pub attributes: std::collections::BTreeMap<String, String>,
}

impl Target {
    /// The current final wrap-up code, if any (provisional ones do not count).
    pub fn final_code(&self) -> Option<&str> {
        self.current
            .as_ref()
            .filter(|w| w.provisional != Some(true))
            .and_then(|w| w.code.as_deref())
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }
}

/// A real agent: an agent or user participant with a user and a communication, not a supervisor.
fn is_real_agent(p: &Participant) -> bool {
    purpose_is(p, &["agent", "user"])
        && p.user_id.as_deref().is_some_and(|u| !u.is_empty())
        && supervision(p).is_none()
        && !communications(p).is_empty()
}

/// When the participant's latest communication connected.
fn last_connected(p: &Participant) -> Option<DateTime<FixedOffset>> {
    communications(p)
        .into_iter()
        .filter_map(|(_, _, c)| parse_time(c.connected_time.as_deref()))
        .max()
}

/// The participant to wrap up: the named one, which must be an agent or user of this
/// conversation and not a supervisor, or else the latest real agent (by communication
/// `connectedTime`; `wrapupRequired` breaks ties). Its communication is `preferred` (a Genesys
/// event's `sessionId`) when it has it, else the one with after-call work, else the latest.
pub fn select_target(
    conversation: &Conversation,
    named: Option<Uuid>,
    preferred: Option<Uuid>,
) -> Result<Target, Rejection> {
    let participant = match named {
        Some(pid) => {
            let p = conversation
                .participants
                .iter()
                .find(|p| same_id(&p.id, pid))
                .ok_or_else(|| {
                    Rejection::new(
                        Reason::NoAgentParticipant,
                        format!(
                            "participant {pid} is not part of conversation {}",
                            conversation.id
                        ),
                    )
                })?;
            if !purpose_is(p, &["agent", "user"]) {
                return Err(Rejection::new(
                    Reason::NoAgentParticipant,
                    format!(
                        "participant {pid} has purpose {}; only agent or user participants take a wrap-up",
                        p.purpose.as_deref().unwrap_or("(none)")
                    ),
                ));
            }
            if let Some(why) = supervisor(conversation, pid) {
                return Err(Rejection::new(Reason::NoAgentParticipant, why));
            }
            p
        }
        None => conversation
            .participants
            .iter()
            .enumerate()
            .filter(|(_, p)| is_real_agent(p))
            .max_by_key(|(i, p)| (last_connected(p), p.wrapup_required == Some(true), *i))
            .map(|(_, p)| p)
            .ok_or_else(|| {
                Rejection::new(
                    Reason::NoAgentParticipant,
                    format!(
                        "conversation {} has no agent participant with a user and a communication",
                        conversation.id
                    ),
                )
            })?,
    };

    let participant_id = Uuid::parse_str(&participant.id).map_err(|_| {
        Rejection::new(
            Reason::NoAgentParticipant,
            "Genesys returned a participant id that is not a UUID",
        )
    })?;
    let acw_state = |c: &Communication| {
        c.after_call_work
            .as_ref()
            .and_then(|a| a.state.clone())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let started = |c: &Communication| {
        parse_time(c.connected_time.as_deref())
            .or_else(|| parse_time(c.start_alerting_time.as_deref()))
            .or_else(|| parse_time(c.disconnected_time.as_deref()))
    };
    // Stable across our own write (pending → complete), so a retry finds the same communication.
    let (kind, array, comm) = communications(participant)
        .into_iter()
        .enumerate()
        .max_by_key(|(i, (_, _, c))| {
            (
                preferred.is_some_and(|p| same_id(&c.id, p)),
                matches!(acw_state(c).as_str(), "pending" | "complete"),
                started(c),
                *i,
            )
        })
        .map(|(_, entry)| entry)
        .ok_or_else(|| {
            Rejection::new(
                Reason::NoAgentParticipant,
                format!("participant {participant_id} has no communication to wrap up"),
            )
        })?;
    let media = kind.ok_or_else(|| {
        Rejection::new(
            Reason::NoAgentParticipant,
            format!(
                "participant {participant_id}'s communication is in {array}, a deprecated media type whose wrap-up endpoint this function does not call"
            ),
        )
    })?;
    let communication_id = Uuid::parse_str(&comm.id).map_err(|_| {
        Rejection::new(
            Reason::NoAgentParticipant,
            "Genesys returned a communication id that is not a UUID",
        )
    })?;
    let current = comm
        .wrapup
        .clone()
        .filter(|w| w.code.is_some())
        .or_else(|| participant.wrapup.clone());
    let attributes = participant
        .attributes
        .iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect();
    Ok(Target {
        participant_id,
        communication_id,
        media,
        current,
        acw_pending: acw_state(comm) == "pending",
        user_id: participant.user_id.clone(),
        queue_id: participant.queue_id.clone(),
        attributes,
    })
}
