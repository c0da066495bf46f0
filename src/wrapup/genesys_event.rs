//! What Genesys's own EventBridge events say: the topic (`user.end`, `customer.end`, `acw`), the
//! conversation and participant, and the facts rules decide on. The integration's enums arrive
//! in upper case (`VOICE`, `ENDPOINT`); rules compare them ignoring case.

use uuid::Uuid;

/// The Genesys EventBridge topics a rule can react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    UserEnd,
    CustomerEnd,
    Acw,
}

impl Topic {
    pub(crate) const ALL: [Self; 3] = [Self::UserEnd, Self::CustomerEnd, Self::Acw];

    /// Whether this topic's `eventBody` carries `field` (Genesys's event models): `customer.end`
    /// has no `queueId`/`userId`, `acw` no `divisionId`/`disconnectType`.
    pub(crate) fn carries(self, field: EventField) -> bool {
        use EventField::*;
        match self {
            Self::UserEnd => true,
            Self::CustomerEnd => !matches!(field, QueueId | UserId),
            Self::Acw => !matches!(field, DivisionId | DisconnectType),
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserEnd => "user.end",
            Self::CustomerEnd => "customer.end",
            Self::Acw => "acw",
        }
    }

    /// From a detail-type such as `v2.detail.events.conversation.{id}.user.end`.
    pub fn from_detail_type(detail_type: &str) -> Option<Self> {
        let rest = detail_type.strip_prefix("v2.detail.events.conversation.")?;
        let (_, suffix) = rest.split_once('.')?;
        match suffix {
            "user.end" => Some(Self::UserEnd),
            "customer.end" => Some(Self::CustomerEnd),
            "acw" => Some(Self::Acw),
            _ => None,
        }
    }
}

/// The event fields a condition can name that not every topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventField {
    QueueId,
    UserId,
    DivisionId,
    DisconnectType,
}

impl EventField {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::QueueId => "queueId",
            Self::UserId => "userId",
            Self::DivisionId => "divisionId",
            Self::DisconnectType => "disconnectType",
        }
    }
}

/// The values Genesys's conversation events carry (the SDK's `UserEndDetailEventTopic...`,
/// `CustomerEndDetailEventTopic...` and `AcwDetailEventTopic...` models), in upper case.
pub(crate) const MEDIA_TYPES: [&str; 11] = [
    "UNKNOWN",
    "VOICE",
    "CHAT",
    "EMAIL",
    "CALLBACK",
    "COBROWSE",
    "VIDEO",
    "SCREENSHARE",
    "MESSAGE",
    "INTERNALMESSAGE",
    "SCREENMONITORING",
];
/// `direction` of the same models.
pub(crate) const DIRECTIONS: [&str; 3] = ["UNKNOWN", "INBOUND", "OUTBOUND"];
/// `disconnectType` of `user.end` and `customer.end` (`acw` carries none).
pub(crate) const DISCONNECT_TYPES: [&str; 22] = [
    "UNKNOWN",
    "ENDPOINT",
    "CLIENT",
    "SYSTEM",
    "TRANSFER",
    "ERROR",
    "PEER",
    "OTHER",
    "SPAM",
    "TIMEOUT",
    "TRANSPORT_FAILURE",
    "CONFERENCE_TRANSFER",
    "CONSULT_TRANSFER",
    "FORWARD_TRANSFER",
    "NO_ANSWER_TRANSFER",
    "NOT_AVAILABLE_TRANSFER",
    "UNCALLABLE",
    "DND_ENDPOINT",
    "DND_TRANSFER",
    "INACTIVITY",
    "SESSION_EXPIRED",
    "TAKEOVER",
];

/// What a Genesys event says, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFacts {
    pub topic: Option<&'static str>,
    pub queue_id: Option<String>,
    pub user_id: Option<String>,
    pub division_id: Option<String>,
    pub media_type: Option<String>,
    pub direction: Option<String>,
    pub disconnect_type: Option<String>,
    /// The code now on the communication, when the event says (`acw`'s `wrapupCode`): `Some(None)`
    /// means the event says there is none.
    pub current_wrap_up_code: Option<Option<String>>,
}

/// A Genesys conversation event (`user.end`, `customer.end`, `acw`), parsed: what rules decide on.
#[derive(Debug, Clone, PartialEq)]
pub struct GenesysEvent {
    pub org_id: Option<Uuid>,
    pub topic: Topic,
    pub conversation_id: Uuid,
    /// The event's own participant (`user.end`, `acw`); `customer.end` has none that takes a wrap-up.
    pub participant_id: Option<Uuid>,
    /// The event's `sessionId`: the participant's communication.
    pub session_id: Option<Uuid>,
    pub facts: EventFacts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_come_from_the_detail_type() {
        assert_eq!(
            Topic::from_detail_type("v2.detail.events.conversation.{id}.user.end"),
            Some(Topic::UserEnd)
        );
        assert_eq!(
            Topic::from_detail_type("v2.detail.events.conversation.{id}.customer.end"),
            Some(Topic::CustomerEnd)
        );
        assert_eq!(
            Topic::from_detail_type("v2.detail.events.conversation.{id}.acw"),
            Some(Topic::Acw)
        );
        assert_eq!(
            Topic::from_detail_type("v2.detail.events.conversation.{id}.user.start"),
            None
        );
        assert_eq!(Topic::from_detail_type("v2.users.{id}.presence"), None);
    }
}
