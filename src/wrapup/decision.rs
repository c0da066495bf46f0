//! Pure checks on what Genesys returned: the target participant and communication, whether the
//! agent's part has ended, which code a name means, division, idempotency and `overwrite`.

use super::outcome::Reason;
use super::request::{Overwrite, WrapUp};
use crate::genesys::models::{Communication, Conversation, Participant, Wrapup, WrapupCode};
use crate::genesys::MediaKind;
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

impl Rejection {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// The participant and communication a wrap-up will be written to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub(crate) participant_id: Uuid,
    pub(crate) communication_id: Uuid,
    pub(crate) media: MediaKind,
    /// The communication's wrap-up, else the participant's.
    pub(crate) current: Option<Wrapup>,
    /// The agent is still in after-call work on this communication: has not chosen yet.
    pub(crate) acw_pending: bool,
    pub(crate) user_id: Option<String>,
    pub(crate) queue_id: Option<String>,
    /// The participant's string attributes, for rules.
    pub(crate) attributes: std::collections::BTreeMap<String, String>,
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

/// Ended ⇔ the conversation's `endTime` is set: always enough, though often later than the
/// agent's part (see [`unended_leg`]).
pub fn is_ended(conversation: &Conversation) -> bool {
    has_time(conversation.end_time.as_deref())
}

fn has_time(t: Option<&str>) -> bool {
    t.is_some_and(|t| !t.trim().is_empty())
}

fn purpose_is(p: &Participant, purposes: &[&str]) -> bool {
    p.purpose
        .as_deref()
        .is_some_and(|purpose| purposes.iter().any(|x| purpose.eq_ignore_ascii_case(x)))
}

/// What a supervisor participant does to another (monitor, coach, barge in), if it is one.
fn supervision(p: &Participant) -> Option<(&'static str, &str)> {
    [
        ("monitors", p.monitored_participant_id.as_deref()),
        ("coaches", p.coached_participant_id.as_deref()),
        ("barges in on", p.barged_participant_id.as_deref()),
    ]
    .into_iter()
    .find_map(|(verb, other)| other.filter(|o| !o.is_empty()).map(|o| (verb, o)))
}

/// Why `participant` may not take a wrap-up because it is a supervisor's, if it is one.
pub fn supervisor(conversation: &Conversation, participant: Uuid) -> Option<String> {
    let p = conversation
        .participants
        .iter()
        .find(|p| same_id(&p.id, participant))?;
    supervision(p).map(|(verb, other)| {
        format!("participant {participant} {verb} participant {other}: supervisors never take the wrap-up")
    })
}

/// Each communication with the media array it came from; `None` for deprecated media.
fn communications(p: &Participant) -> Vec<(Option<MediaKind>, &'static str, &Communication)> {
    let supported: [(&[Communication], MediaKind, &str); 6] = [
        (&p.calls, MediaKind::Call, "calls"),
        (&p.callbacks, MediaKind::Callback, "callbacks"),
        (&p.emails, MediaKind::Email, "emails"),
        (&p.messages, MediaKind::Message, "messages"),
        (
            &p.social_expressions,
            MediaKind::Social,
            "socialExpressions",
        ),
        (&p.videos, MediaKind::Video, "videos"),
    ];
    let deprecated: [(&[Communication], &str); 3] = [
        (&p.chats, "chats"),
        (&p.cobrowsesessions, "cobrowsesessions"),
        (&p.screenshares, "screenshares"),
    ];
    let mut out = Vec::new();
    for (list, kind, name) in supported {
        out.extend(list.iter().map(|c| (Some(kind), name, c)));
    }
    for (list, name) in deprecated {
        out.extend(list.iter().map(|c| (None, name, c)));
    }
    out
}

/// A communication that has not ended: not disconnected/terminated and no `disconnectedTime`.
fn is_live(c: &Communication) -> bool {
    let ended_state = c.state.as_deref().is_some_and(|s| {
        s.eq_ignore_ascii_case("disconnected") || s.eq_ignore_ascii_case("terminated")
    });
    !ended_state && !has_time(c.disconnected_time.as_deref())
}

/// The participant's first live communication, unless the participant itself has ended.
fn live_leg(p: &Participant) -> Option<(&'static str, &Communication)> {
    if has_time(p.end_time.as_deref()) {
        return None;
    }
    communications(p)
        .into_iter()
        .find(|(_, _, c)| is_live(c))
        .map(|(_, array, c)| (array, c))
}

/// Whose leg is still live, if the agent's part has not ended: the target's own, or (when no
/// participant was named) any agent's, user's or acd's, so a transfer A → B never gives A the
/// code meant for B. A customer still in a survey flow does not count. `None`: ended.
pub fn unended_leg(conversation: &Conversation, target: &Target, named: bool) -> Option<String> {
    if is_ended(conversation) {
        return None;
    }
    let leg = |p: &Participant| {
        live_leg(p).map(|(array, c)| {
            format!(
                "{} participant {}{} still has a live communication {} in {array} (state {})",
                p.purpose.as_deref().unwrap_or("a"),
                p.id,
                p.user_id
                    .as_deref()
                    .map(|u| format!(" (user {u})"))
                    .unwrap_or_default(),
                c.id,
                c.state.as_deref().unwrap_or("unknown"),
            )
        })
    };
    let own = conversation
        .participants
        .iter()
        .find(|p| same_id(&p.id, target.participant_id))
        .and_then(leg);
    let others = || {
        conversation
            .participants
            .iter()
            .filter(|p| purpose_is(p, &["agent", "user", "acd"]))
            .find_map(leg)
    };
    own.or_else(|| if named { None } else { others() })
}

fn parse_time(t: Option<&str>) -> Option<DateTime<FixedOffset>> {
    t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

fn same_id(text: &str, id: Uuid) -> bool {
    Uuid::parse_str(text.trim()).is_ok_and(|u| u == id)
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

/// The codes a name can mean for this conversation.
#[derive(Debug, PartialEq)]
pub enum ByName<'a> {
    Found(&'a WrapupCode),
    Missing,
    /// Several codes of that name, equally good for this conversation.
    Ambiguous(Vec<&'a WrapupCode>),
    /// Several codes of that name, none in the conversation's divisions or for all divisions.
    Elsewhere(Vec<&'a WrapupCode>),
}

/// Codes named `name` (trimmed, ignoring case; never a prefix or wildcard). A code in one of
/// the conversation's divisions beats one for all divisions (`*`/unset).
pub fn codes_named<'a>(
    codes: &'a [WrapupCode],
    name: &str,
    conversation: &Conversation,
) -> ByName<'a> {
    let wanted = name.trim().to_lowercase();
    let matches: Vec<&WrapupCode> = codes
        .iter()
        .filter(|c| {
            c.name
                .as_deref()
                .is_some_and(|n| n.trim().to_lowercase() == wanted)
        })
        .collect();
    let division_of = |c: &WrapupCode| {
        c.division
            .as_ref()
            .and_then(|d| d.id.as_deref())
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != "*")
            .map(str::to_owned)
    };
    let in_conversation: Vec<&WrapupCode> = matches
        .iter()
        .copied()
        .filter(|c| division_of(c).is_some_and(|d| in_divisions(conversation, &d)))
        .collect();
    let everywhere: Vec<&WrapupCode> = matches
        .iter()
        .copied()
        .filter(|c| division_of(c).is_none())
        .collect();
    let best = if !in_conversation.is_empty() {
        in_conversation
    } else if !everywhere.is_empty() {
        everywhere
    } else if matches.len() > 1 {
        return ByName::Elsewhere(matches);
    } else {
        matches
    };
    match best.as_slice() {
        [] => ByName::Missing,
        [one] => ByName::Found(one),
        _ => ByName::Ambiguous(best),
    }
}

fn in_divisions(conversation: &Conversation, division: &str) -> bool {
    conversation
        .divisions
        .iter()
        .filter_map(|m| m.division.as_ref()?.id.as_deref())
        .any(|id| id.eq_ignore_ascii_case(division))
}

/// `name (id), …` of codes, for messages.
pub fn list_codes(codes: &[&WrapupCode]) -> String {
    codes
        .iter()
        .map(|c| {
            let division = c
                .division
                .as_ref()
                .and_then(|d| d.id.as_deref())
                .unwrap_or("*");
            format!(
                "{} in division {division}",
                named(Some(&c.id), c.name.as_deref())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The code's division must be unset/`*` or one of the conversation's divisions.
pub fn check_division(conversation: &Conversation, code: &WrapupCode) -> Result<(), Rejection> {
    let Some(division) = code.division.as_ref() else {
        return Ok(());
    };
    let code_division = division.id.as_deref().map(str::trim).unwrap_or("");
    if code_division.is_empty() || code_division == "*" {
        return Ok(());
    }
    if in_divisions(conversation, code_division) {
        return Ok(());
    }
    let listed: Vec<String> = conversation
        .divisions
        .iter()
        .filter_map(|m| m.division.as_ref())
        .map(|d| named(d.id.as_deref(), d.name.as_deref()))
        .collect();
    Err(Rejection::new(
        Reason::DivisionMismatch,
        format!(
            "wrap-up code {} is in division {}, which is not one of conversation {}'s divisions [{}]",
            named(Some(&code.id), code.name.as_deref()),
            named(division.id.as_deref(), division.name.as_deref()),
            conversation.id,
            listed.join(", ")
        ),
    ))
}

fn named(id: Option<&str>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(id), Some(name)) => format!("{id} ({name})"),
        (Some(id), None) => id.to_owned(),
        (None, Some(name)) => format!("({name})"),
        (None, None) => "(unknown)".to_owned(),
    }
}

/// The current, non-provisional wrap-up already has `code`, and the request's notes/tags (when
/// given) are already there too.
pub fn is_already_applied(target: &Target, code: Uuid, want: &WrapUp) -> bool {
    let Some(current) = target.current.as_ref() else {
        return false;
    };
    let code_matches = target.final_code().is_some_and(|c| same_id(c, code));
    let notes_match = want
        .notes
        .as_deref()
        .is_none_or(|n| current.notes.as_deref() == Some(n));
    let tags_match = want.tags.as_ref().is_none_or(|wanted| {
        let mut wanted = wanted.clone();
        let mut have = current.tags.clone().unwrap_or_default();
        wanted.sort();
        wanted.dedup();
        have.sort();
        have.dedup();
        wanted == have
    });
    code_matches && notes_match && tags_match
}

/// What `overwrite` makes of the code already there (asked after "already applied").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Nothing to keep: write.
    No,
    /// Keep the agent's code: `skipped`/`code_present`.
    Yes(String),
    /// The agent is still in after-call work and has not chosen yet: retry later.
    NotYet(String),
}

/// `always` writes; `never` keeps any final code; `system` keeps all but system codes
/// (`ININ-…`). With `never` or `system` an agent still in after-call work has not chosen yet.
pub fn keep_current(target: &Target, overwrite: Overwrite) -> Keep {
    if overwrite == Overwrite::Always {
        return Keep::No;
    }
    if target.acw_pending {
        return Keep::NotYet(format!(
            "the agent of participant {} is still in after-call work (overwrite={} waits for their choice)",
            target.participant_id,
            overwrite.as_str()
        ));
    }
    match target.final_code() {
        None => Keep::No,
        Some(code) if overwrite == Overwrite::System && is_system_code(code) => Keep::No,
        Some(code) => Keep::Yes(format!(
            "participant {} already has wrap-up code {code}; overwrite={} keeps it",
            target.participant_id,
            overwrite.as_str()
        )),
    }
}

/// Codes Genesys sets itself, e.g. `ININ-WRAP-UP-TIMEOUT`.
fn is_system_code(code: &str) -> bool {
    code.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("ININ-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::models::{AfterCallWork, DivisionMembership, EntityRef};

    const CONV: &str = "9e9b3a8c-55b0-4c47-8f3a-3a9f1c0e7d21";
    const AGENT1: &str = "11111111-1111-4111-8111-111111111111";
    const AGENT2: &str = "22222222-2222-4222-8222-222222222222";
    const CUSTOMER: &str = "33333333-3333-4333-8333-333333333333";
    const COMM_A: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
    const COMM_B: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
    const CODE: &str = "0b1f7f4e-1c1d-4a8e-9f55-2f6b7f3d2c10";

    fn comm(id: &str, connected: &str, acw: Option<&str>) -> Communication {
        Communication {
            id: id.into(),
            connected_time: Some(connected.into()),
            after_call_work: acw.map(|s| AfterCallWork {
                state: Some(s.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn agent(id: &str, start: &str, calls: Vec<Communication>) -> Participant {
        Participant {
            id: id.into(),
            purpose: Some("agent".into()),
            user_id: Some("user-1".into()),
            start_time: Some(start.into()),
            calls,
            ..Default::default()
        }
    }

    fn conversation(participants: Vec<Participant>) -> Conversation {
        Conversation {
            id: CONV.into(),
            end_time: Some("2026-01-01T10:10:00.000Z".into()),
            participants,
            divisions: vec![DivisionMembership {
                division: Some(EntityRef {
                    id: Some("div-a".into()),
                    name: Some("Sales".into()),
                }),
            }],
            ..Default::default()
        }
    }

    fn request(notes: Option<&str>, tags: Option<Vec<&str>>) -> WrapUp {
        WrapUp {
            code: crate::wrapup::request::CodeRef::Id(CODE.parse().unwrap()),
            notes: notes.map(Into::into),
            tags: tags.map(|t| t.into_iter().map(Into::into).collect()),
            overwrite: Overwrite::Always,
        }
    }

    fn applied(t: &Target, want: &WrapUp) -> bool {
        is_already_applied(t, CODE.parse().unwrap(), want)
    }

    #[test]
    fn ended_means_end_time_is_set() {
        let mut c = conversation(vec![]);
        assert!(is_ended(&c));
        c.end_time = None;
        assert!(!is_ended(&c));
        c.end_time = Some(" ".into());
        assert!(!is_ended(&c));
    }

    #[test]
    fn the_latest_agent_after_a_transfer_is_chosen() {
        let c = conversation(vec![
            Participant {
                id: CUSTOMER.into(),
                purpose: Some("customer".into()),
                start_time: Some("2026-01-01T10:00:00Z".into()),
                calls: vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)],
                ..Default::default()
            },
            agent(
                AGENT2,
                "2026-01-01T10:05:00Z",
                vec![comm(COMM_B, "2026-01-01T10:05:00Z", None)],
            ),
            agent(
                AGENT1,
                "2026-01-01T10:01:00Z",
                vec![comm(COMM_A, "2026-01-01T10:01:00Z", None)],
            ),
        ]);
        let t = select_target(&c, None, None).unwrap();
        assert_eq!(t.participant_id.to_string(), AGENT2);
        assert_eq!(t.communication_id.to_string(), COMM_B);
        assert_eq!(t.media, MediaKind::Call);
    }

    #[test]
    fn agents_without_a_user_or_communication_are_not_candidates() {
        let mut no_user = agent(
            AGENT2,
            "2026-01-01T10:05:00Z",
            vec![comm(COMM_B, "2026-01-01T10:05:00Z", None)],
        );
        no_user.user_id = None;
        let no_comm = agent(AGENT1, "2026-01-01T10:06:00Z", vec![]);
        let c = conversation(vec![no_user, no_comm]);
        assert_eq!(
            select_target(&c, None, None).unwrap_err().reason,
            Reason::NoAgentParticipant
        );
    }

    #[test]
    fn the_communication_with_after_call_work_wins_before_and_after_the_write() {
        // A's after-call work state against a later B with none: whose communication is chosen.
        let chosen = |acw_a: Option<&str>| {
            let c = conversation(vec![agent(
                AGENT1,
                "2026-01-01T10:00:00Z",
                vec![
                    comm(COMM_A, "2026-01-01T10:00:00Z", acw_a),
                    comm(COMM_B, "2026-01-01T10:03:00Z", None),
                ],
            )]);
            select_target(&c, None, None)
                .unwrap()
                .communication_id
                .to_string()
        };
        assert_eq!(chosen(Some("pending")), COMM_A);
        // Our write ends after-call work: a retry must still pick the same communication.
        assert_eq!(chosen(Some("complete")), COMM_A);
        assert_eq!(chosen(None), COMM_B, "else the latest");
    }

    #[test]
    fn media_arrays_map_to_endpoint_segments() {
        let mut p = agent(AGENT1, "2026-01-01T10:00:00Z", vec![]);
        p.social_expressions = vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)];
        let t = select_target(&conversation(vec![p]), None, None).unwrap();
        assert_eq!(t.media.path_segment(), "socials");
    }

    #[test]
    fn deprecated_media_is_a_clear_rejection() {
        let mut p = agent(AGENT1, "2026-01-01T10:00:00Z", vec![]);
        p.chats = vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)];
        let e = select_target(&conversation(vec![p]), None, None).unwrap_err();
        assert_eq!(e.reason, Reason::NoAgentParticipant);
        assert!(e.message.contains("chats") && e.message.contains("deprecated"));
    }

    #[test]
    fn a_requested_participant_must_be_an_agent_of_this_conversation() {
        let customer = Participant {
            id: CUSTOMER.into(),
            purpose: Some("customer".into()),
            calls: vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)],
            ..Default::default()
        };
        let c = conversation(vec![
            customer,
            agent(
                AGENT1,
                "2026-01-01T10:00:00Z",
                vec![comm(COMM_B, "2026-01-01T10:00:00Z", None)],
            ),
        ]);
        let e = select_target(&c, Some(CUSTOMER.parse().unwrap()), None).unwrap_err();
        assert!(e.message.contains("customer"));
        let e = select_target(&c, Some(AGENT2.parse().unwrap()), None).unwrap_err();
        assert!(e.message.contains("not part of"));
        let t = select_target(&c, Some(AGENT1.to_uppercase().parse().unwrap()), None).unwrap();
        assert_eq!(t.participant_id.to_string(), AGENT1);
    }

    fn code(division: Option<&str>) -> WrapupCode {
        WrapupCode {
            id: CODE.into(),
            name: Some("Sale".into()),
            division: division.map(|d| EntityRef {
                id: Some(d.into()),
                name: Some("Other".into()),
            }),
        }
    }

    #[test]
    fn division_rules() {
        let c = conversation(vec![]);
        assert!(check_division(&c, &code(None)).is_ok());
        assert!(check_division(&c, &code(Some("*"))).is_ok());
        assert!(check_division(&c, &code(Some("div-a"))).is_ok());
        let e = check_division(&c, &code(Some("div-b"))).unwrap_err();
        assert_eq!(e.reason, Reason::DivisionMismatch);
        assert!(
            e.message.contains("div-b") && e.message.contains("div-a"),
            "{}",
            e.message
        );
    }

    fn target_with(current: Option<Wrapup>) -> Target {
        Target {
            participant_id: AGENT1.parse().unwrap(),
            communication_id: COMM_A.parse().unwrap(),
            media: MediaKind::Call,
            current,
            acw_pending: false,
            user_id: None,
            queue_id: None,
            attributes: Default::default(),
        }
    }

    #[test]
    fn already_applied_needs_the_same_final_code_and_matching_extras() {
        let current = Wrapup {
            code: Some(CODE.to_uppercase()),
            notes: Some("n".into()),
            tags: Some(vec!["b".into(), "a".into()]),
            ..Default::default()
        };
        let t = target_with(Some(current.clone()));
        assert!(applied(&t, &request(None, None)));
        assert!(applied(&t, &request(Some("n"), Some(vec!["a", "b"]))));
        assert!(!applied(&t, &request(Some("other"), None)));
        assert!(!applied(&t, &request(None, Some(vec!["a"]))));
        let provisional = Wrapup {
            provisional: Some(true),
            ..current.clone()
        };
        assert!(!applied(
            &target_with(Some(provisional)),
            &request(None, None)
        ));
        let system = Wrapup {
            code: Some("ININ-WRAP-UP-TIMEOUT".into()),
            ..Default::default()
        };
        assert!(!applied(&target_with(Some(system)), &request(None, None)));
        assert!(!applied(&target_with(None), &request(None, None)));
    }

    fn live(id: &str, connected: &str) -> Communication {
        Communication {
            state: Some("connected".into()),
            ..comm(id, connected, None)
        }
    }

    fn ended(id: &str, connected: &str, acw: Option<&str>) -> Communication {
        Communication {
            state: Some("disconnected".into()),
            disconnected_time: Some("2026-01-01T10:09:00Z".into()),
            ..comm(id, connected, acw)
        }
    }

    /// Who takes the code when no participant is named.
    fn target_of(c: &Conversation) -> String {
        select_target(c, None, None)
            .unwrap()
            .participant_id
            .to_string()
    }

    /// The first agent, whose call has ended: in after-call work.
    fn agent_in_acw() -> Participant {
        agent(
            AGENT1,
            "2026-01-01T10:01:00Z",
            vec![ended(COMM_A, "2026-01-01T10:01:00Z", Some("pending"))],
        )
    }

    fn customer(calls: Vec<Communication>) -> Participant {
        Participant {
            id: CUSTOMER.into(),
            purpose: Some("customer".into()),
            calls,
            ..Default::default()
        }
    }

    fn active(participants: Vec<Participant>) -> Conversation {
        Conversation {
            end_time: None,
            ..conversation(participants)
        }
    }

    fn unended(c: &Conversation, named: Option<&str>) -> Option<String> {
        let named = named.map(|n| n.parse().unwrap());
        let t = select_target(c, named, None).unwrap();
        unended_leg(c, &t, named.is_some())
    }

    #[test]
    fn an_agent_in_after_call_work_has_ended_their_part_while_the_customer_is_connected() {
        let c = active(vec![
            customer(vec![live(COMM_A, "2026-01-01T10:00:00Z")]),
            agent(
                AGENT1,
                "2026-01-01T10:01:00Z",
                vec![ended(COMM_B, "2026-01-01T10:01:00Z", Some("pending"))],
            ),
        ]);
        assert_eq!(unended(&c, None), None);
        assert_eq!(unended(&c, Some(AGENT1)), None);
    }

    #[test]
    fn a_connected_agent_has_not_ended_and_the_message_names_the_leg() {
        let c = active(vec![agent(
            AGENT1,
            "2026-01-01T10:01:00Z",
            vec![live(COMM_B, "2026-01-01T10:01:00Z")],
        )]);
        let why = unended(&c, None).unwrap();
        assert!(
            why.contains(AGENT1) && why.contains(COMM_B) && why.contains("connected"),
            "{why}"
        );
        // The conversation's own endTime is always enough.
        let mut c = c;
        c.end_time = Some("2026-01-01T10:10:00Z".into());
        assert_eq!(unended(&c, None), None);
        // So is the participant's.
        c.end_time = None;
        c.participants[0].end_time = Some("2026-01-01T10:10:00Z".into());
        assert_eq!(unended(&c, None), None);
    }

    #[test]
    fn after_a_transfer_the_earlier_agent_waits_for_the_later_one() {
        let mut c = active(vec![
            agent_in_acw(),
            agent(
                AGENT2,
                "2026-01-01T10:05:00Z",
                vec![live(COMM_B, "2026-01-01T10:05:00Z")],
            ),
        ]);
        // The latest agent is the target, and is still live: retry.
        assert_eq!(target_of(&c), AGENT2);
        assert!(unended(&c, None).unwrap().contains(AGENT2));
        // Named, A's own part has ended.
        assert_eq!(unended(&c, Some(AGENT1)), None);
        // B ends: B.
        c.participants[1].calls = vec![ended(COMM_B, "2026-01-01T10:05:00Z", Some("pending"))];
        assert_eq!(unended(&c, None), None);
        assert_eq!(target_of(&c), AGENT2);
    }

    #[test]
    fn an_acd_leg_still_waiting_means_not_ended_and_a_callback_needs_every_communication_ended() {
        let queue = Participant {
            id: "44444444-4444-4444-8444-444444444444".into(),
            purpose: Some("acd".into()),
            calls: vec![live(
                "cccccccc-cccc-4ccc-8ccc-cccccccccccc",
                "2026-01-01T10:06:00Z",
            )],
            ..Default::default()
        };
        let c = active(vec![agent_in_acw(), queue]);
        assert!(unended(&c, None).unwrap().contains("acd"));
        let mut callback = agent(AGENT1, "2026-01-01T10:01:00Z", vec![]);
        callback.callbacks = vec![ended(COMM_A, "2026-01-01T10:01:00Z", Some("pending"))];
        callback.calls = vec![live(COMM_B, "2026-01-01T10:02:00Z")];
        let c = active(vec![callback]);
        assert!(unended(&c, Some(AGENT1)).unwrap().contains(COMM_B));
    }

    #[test]
    fn supervisors_are_never_chosen_and_naming_one_is_refused() {
        let mut monitor = agent(
            AGENT2,
            "2026-01-01T10:08:00Z",
            vec![ended(COMM_B, "2026-01-01T10:08:00Z", None)],
        );
        monitor.monitored_participant_id = Some(AGENT1.into());
        let c = conversation(vec![agent_in_acw(), monitor]);
        assert_eq!(target_of(&c), AGENT1);
        let e = select_target(&c, Some(AGENT2.parse().unwrap()), None).unwrap_err();
        assert_eq!(e.reason, Reason::NoAgentParticipant);
        assert!(
            e.message.contains("monitors") && e.message.contains(AGENT1),
            "{}",
            e.message
        );
        for field in ["coached", "barged"] {
            let mut c = c.clone();
            c.participants[1].monitored_participant_id = None;
            match field {
                "coached" => c.participants[1].coached_participant_id = Some(AGENT1.into()),
                _ => c.participants[1].barged_participant_id = Some(AGENT1.into()),
            }
            assert_eq!(target_of(&c), AGENT1);
        }
    }

    fn named_code(id: &str, name: &str, division: Option<&str>) -> WrapupCode {
        WrapupCode {
            id: id.into(),
            name: Some(name.into()),
            division: division.map(|d| EntityRef {
                id: Some(d.into()),
                name: None,
            }),
        }
    }

    #[test]
    fn names_match_whole_ignoring_case_and_the_conversation_division_wins() {
        let c = conversation(vec![]);
        let codes = vec![
            named_code("1", "Sale", Some("div-b")),
            named_code("2", "Sale", Some("div-a")),
            named_code("3", "Sale", Some("*")),
            named_code("4", "Follow-up", None),
            named_code("5", "Follow-up", Some("div-a")),
            named_code("6", "Twice", Some("div-a")),
            named_code("7", "twice ", Some("div-a")),
            named_code("8", "Elsewhere", Some("div-b")),
            named_code("9", "Elsewhere", Some("div-c")),
            named_code("10", "Only there", Some("div-b")),
        ];
        let found = |name: &str| match codes_named(&codes, name, &c) {
            ByName::Found(code) => Some(code.id.clone()),
            _ => None,
        };
        assert_eq!(found(" sale ").as_deref(), Some("2"));
        assert_eq!(found("FOLLOW-UP").as_deref(), Some("5"));
        assert_eq!(found("Sal"), None, "never a prefix");
        assert_eq!(found("Sale*"), None, "never a wildcard");
        assert_eq!(codes_named(&codes, "nothing", &c), ByName::Missing);
        assert!(matches!(codes_named(&codes, "Twice", &c), ByName::Ambiguous(v) if v.len() == 2));
        assert!(
            matches!(codes_named(&codes, "Elsewhere", &c), ByName::Elsewhere(v) if v.len() == 2)
        );
        // One code of that name in another division: found, and the division check refuses it.
        let only = found("Only there").unwrap();
        assert_eq!(only, "10");
        assert!(check_division(&c, &codes[9]).is_err());
        let all_divisions = vec![
            named_code("3", "Sale", Some("*")),
            named_code("1", "Sale", Some("div-b")),
        ];
        assert!(
            matches!(codes_named(&all_divisions, "sale", &c), ByName::Found(code) if code.id == "3")
        );
    }

    #[test]
    fn overwrite_keeps_what_the_agent_chose_when_asked() {
        let with = |code: Option<&str>, pending: bool| Target {
            acw_pending: pending,
            ..target_with(code.map(|c| Wrapup {
                code: Some(c.into()),
                ..Default::default()
            }))
        };
        assert_eq!(
            keep_current(&with(Some(CODE), false), Overwrite::Always),
            Keep::No
        );
        assert!(matches!(
            keep_current(&with(Some(CODE), false), Overwrite::Never),
            Keep::Yes(_)
        ));
        assert_eq!(keep_current(&with(None, false), Overwrite::Never), Keep::No);
        assert_eq!(
            keep_current(
                &with(Some("ININ-WRAP-UP-TIMEOUT"), false),
                Overwrite::System
            ),
            Keep::No
        );
        assert!(matches!(
            keep_current(&with(Some(CODE), false), Overwrite::System),
            Keep::Yes(_)
        ));
        assert!(matches!(
            keep_current(&with(Some("ININ-WRAP-UP-TIMEOUT"), false), Overwrite::Never),
            Keep::Yes(_)
        ));
        for overwrite in [Overwrite::Never, Overwrite::System] {
            assert!(matches!(
                keep_current(&with(None, true), overwrite),
                Keep::NotYet(_)
            ));
        }
        assert_eq!(keep_current(&with(None, true), Overwrite::Always), Keep::No);
        let provisional = Target {
            current: Some(Wrapup {
                code: Some(CODE.into()),
                provisional: Some(true),
                ..Default::default()
            }),
            ..with(None, false)
        };
        assert_eq!(
            keep_current(&provisional, Overwrite::Never),
            Keep::No,
            "a provisional code is no choice"
        );
    }
}
