//! Pure checks on what Genesys returned: ended, target participant and communication,
//! division, idempotency.

use super::outcome::Reason;
use super::request::WrapUp;
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
    }
}

/// Ended ⇔ `endTime` is set.
pub fn is_ended(conversation: &Conversation) -> bool {
    conversation
        .end_time
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
}

fn is_agent(p: &Participant) -> bool {
    matches!(
        p.purpose.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("agent" | "user")
    )
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

fn parse_time(t: Option<&str>) -> Option<DateTime<FixedOffset>> {
    t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

fn same_id(text: &str, id: Uuid) -> bool {
    Uuid::parse_str(text).is_ok_and(|u| u == id)
}

/// The participant to wrap up: the requested one, which must be an agent/user of this
/// conversation, or else the most recent agent with a `userId` and a communication. Its
/// communication is `preferred` (a Genesys event's `sessionId`) when it has it.
pub fn select_target(
    conversation: &Conversation,
    requested: Option<Uuid>,
    preferred: Option<Uuid>,
) -> Result<Target, Rejection> {
    let participant = match requested {
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
            if !is_agent(p) {
                return Err(Rejection::new(
                    Reason::NoAgentParticipant,
                    format!(
                        "participant {pid} has purpose {}; only agent or user participants take a wrap-up",
                        p.purpose.as_deref().unwrap_or("(none)")
                    ),
                ));
            }
            p
        }
        None => conversation
            .participants
            .iter()
            .enumerate()
            .filter(|(_, p)| is_agent(p))
            .filter(|(_, p)| p.user_id.as_deref().is_some_and(|u| !u.is_empty()))
            .filter(|(_, p)| !communications(p).is_empty())
            .max_by_key(|(i, p)| (parse_time(p.start_time.as_deref()), *i))
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
    let comms = communications(participant);
    let pending = |c: &Communication| {
        c.after_call_work
            .as_ref()
            .and_then(|a| a.state.as_deref())
            .is_some_and(|s| s.eq_ignore_ascii_case("pending"))
    };
    let started = |c: &Communication| {
        parse_time(c.connected_time.as_deref())
            .or_else(|| parse_time(c.start_alerting_time.as_deref()))
            .or_else(|| parse_time(c.disconnected_time.as_deref()))
    };
    let (kind, array, comm) = comms
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, _, c))| {
            (
                preferred.is_some_and(|p| same_id(&c.id, p)),
                pending(c),
                started(c),
                *i,
            )
        })
        .map(|(_, entry)| *entry)
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
        user_id: participant.user_id.clone(),
        queue_id: participant.queue_id.clone(),
        attributes,
    })
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
    let matches = conversation
        .divisions
        .iter()
        .filter_map(|m| m.division.as_ref()?.id.as_deref())
        .any(|id| id.eq_ignore_ascii_case(code_division));
    if matches {
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

/// The current, non-provisional wrap-up already has the requested code, and the request's
/// notes/tags (when given) are already there too.
pub fn is_already_applied(target: &Target, want: &WrapUp) -> bool {
    let Some(current) = target.current.as_ref() else {
        return false;
    };
    if current.provisional == Some(true) {
        return false;
    }
    let code_matches = current
        .code
        .as_deref()
        .is_some_and(|c| same_id(c.trim(), want.code));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::models::{AfterCallWork, DivisionMembership, DivisionRef};

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
                division: Some(DivisionRef {
                    id: Some("div-a".into()),
                    name: Some("Sales".into()),
                }),
            }],
            ..Default::default()
        }
    }

    fn request(notes: Option<&str>, tags: Option<Vec<&str>>) -> WrapUp {
        WrapUp {
            code: CODE.parse().unwrap(),
            notes: notes.map(Into::into),
            tags: tags.map(|t| t.into_iter().map(Into::into).collect()),
        }
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
    fn pending_acw_communication_wins_over_the_latest() {
        let c = conversation(vec![agent(
            AGENT1,
            "2026-01-01T10:00:00Z",
            vec![
                comm(COMM_A, "2026-01-01T10:00:00Z", Some("pending")),
                comm(COMM_B, "2026-01-01T10:03:00Z", None),
            ],
        )]);
        assert_eq!(
            select_target(&c, None, None)
                .unwrap()
                .communication_id
                .to_string(),
            COMM_A
        );
        let c = conversation(vec![agent(
            AGENT1,
            "2026-01-01T10:00:00Z",
            vec![
                comm(COMM_A, "2026-01-01T10:00:00Z", Some("complete")),
                comm(COMM_B, "2026-01-01T10:03:00Z", None),
            ],
        )]);
        assert_eq!(
            select_target(&c, None, None)
                .unwrap()
                .communication_id
                .to_string(),
            COMM_B
        );
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
            division: division.map(|d| DivisionRef {
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
        assert!(is_already_applied(&t, &request(None, None)));
        assert!(is_already_applied(
            &t,
            &request(Some("n"), Some(vec!["a", "b"]))
        ));
        assert!(!is_already_applied(&t, &request(Some("other"), None)));
        assert!(!is_already_applied(&t, &request(None, Some(vec!["a"]))));
        let provisional = Wrapup {
            provisional: Some(true),
            ..current.clone()
        };
        assert!(!is_already_applied(
            &target_with(Some(provisional)),
            &request(None, None)
        ));
        let system = Wrapup {
            code: Some("ININ-WRAP-UP-TIMEOUT".into()),
            ..Default::default()
        };
        assert!(!is_already_applied(
            &target_with(Some(system)),
            &request(None, None)
        ));
        assert!(!is_already_applied(
            &target_with(None),
            &request(None, None)
        ));
    }
}
