//! Reading a participant: its purpose, whom it supervises, its communications by media, and
//! whether one of them is still live. The facts the target and "ended" decisions are made of.

use crate::genesys::models::{Communication, Conversation, Participant};
use crate::genesys::MediaKind;
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

pub(super) fn has_time(t: Option<&str>) -> bool {
    t.is_some_and(|t| !t.trim().is_empty())
}

pub(super) fn purpose_is(p: &Participant, purposes: &[&str]) -> bool {
    p.purpose
        .as_deref()
        .is_some_and(|purpose| purposes.iter().any(|x| purpose.eq_ignore_ascii_case(x)))
}

/// What a supervisor participant does to another (monitor, coach, barge in), if it is one.
pub(super) fn supervision(p: &Participant) -> Option<(&'static str, &str)> {
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
pub(super) fn communications(
    p: &Participant,
) -> Vec<(Option<MediaKind>, &'static str, &Communication)> {
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
pub(super) fn is_live(c: &Communication) -> bool {
    let ended_state = c.state.as_deref().is_some_and(|s| {
        s.eq_ignore_ascii_case("disconnected") || s.eq_ignore_ascii_case("terminated")
    });
    !ended_state && !has_time(c.disconnected_time.as_deref())
}

pub(super) fn parse_time(t: Option<&str>) -> Option<DateTime<FixedOffset>> {
    t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

pub(super) fn same_id(text: &str, id: Uuid) -> bool {
    Uuid::parse_str(text.trim()).is_ok_and(|u| u == id)
}
