//! The parts of Genesys Cloud's models this function reads and writes (field names from the
//! platform's Swagger). Every field is optional or defaulted: Genesys omits nulls and adds
//! fields over time, and neither may break a read. Each field is the platform's field of the
//! same (camelCase) name, documented in Genesys's API reference; only what this function makes
//! of a field is said here.

use serde::{Deserialize, Serialize};

/// `GET /api/v2/conversations/{id}`: the conversation with every participant, as read before
/// a decision.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// The conversation's id.
    pub id: String,
    /// When the conversation started (ISO 8601).
    #[serde(default)]
    pub start_time: Option<String>,
    /// Null while the conversation is active. Enough to call it ended, but often later than the
    /// agent's part (a survey, a consult, another agent): the wrap-up waits only for that.
    #[serde(default)]
    pub end_time: Option<String>,
    /// Everyone who took part: customers, agents, queues (`acd`), IVR, supervisors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub participants: Vec<Participant>,
    /// The divisions the conversation is in: a code must be in one of them (or in all).
    #[serde(default, deserialize_with = "null_as_default")]
    pub divisions: Vec<DivisionMembership>,
}

/// One of the conversation's divisions.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DivisionMembership {
    /// The division (its id is what codes are checked against).
    #[serde(default)]
    pub division: Option<EntityRef>,
}

/// A reference to another entity (a division, an org, an OAuth client): its id and name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    /// The entity's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its name, when Genesys sends one.
    #[serde(default)]
    pub name: Option<String>,
}

/// One participant of a conversation, with its communications by media.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The participant's id: the `{participantId}` of the write.
    pub id: String,
    /// When the participant joined.
    #[serde(default)]
    pub start_time: Option<String>,
    /// When the participant left: set, its part has ended.
    #[serde(default)]
    pub end_time: Option<String>,
    /// `agent`, `user`, `customer`, `acd`, `ivr`, ...: only agents and users take a wrap-up.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The Genesys user behind an agent or user participant.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Set on a supervisor's participant: whom it monitors, coaches or barges in on.
    #[serde(default)]
    pub monitored_participant_id: Option<String>,
    /// Set on a supervisor coaching another participant.
    #[serde(default)]
    pub coached_participant_id: Option<String>,
    /// Set on a supervisor who barged in on another participant.
    #[serde(default)]
    pub barged_participant_id: Option<String>,
    /// The queue that routed the conversation to this participant.
    #[serde(default)]
    pub queue_id: Option<String>,
    /// Whether the queue requires a wrap-up from this participant (breaks ties between agents).
    #[serde(default)]
    pub wrapup_required: Option<bool>,
    /// The participant's wrap-up, where Genesys puts it on the participant.
    #[serde(default)]
    pub wrapup: Option<Wrapup>,
    /// Participant data set by flows and scripts (string values).
    #[serde(default)]
    pub attributes: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// When after-call work started.
    #[serde(default)]
    pub start_acw_time: Option<String>,
    /// When after-call work ended.
    #[serde(default)]
    pub end_acw_time: Option<String>,
    /// Voice communications (`calls` endpoint).
    #[serde(default, deserialize_with = "null_as_default")]
    pub calls: Vec<Communication>,
    /// Callback communications (`callbacks` endpoint).
    #[serde(default, deserialize_with = "null_as_default")]
    pub callbacks: Vec<Communication>,
    /// Email communications (`emails` endpoint).
    #[serde(default, deserialize_with = "null_as_default")]
    pub emails: Vec<Communication>,
    /// Message communications (`messages` endpoint).
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<Communication>,
    /// Social communications (`socials` endpoint).
    #[serde(default, deserialize_with = "null_as_default")]
    pub social_expressions: Vec<Communication>,
    /// Video communications (`videos` endpoint).
    #[serde(default, deserialize_with = "null_as_default")]
    pub videos: Vec<Communication>,
    /// Deprecated chats: read to refuse them by name, never written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub chats: Vec<Communication>,
    /// Deprecated co-browse sessions: refused by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cobrowsesessions: Vec<Communication>,
    /// Deprecated screen shares: refused by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub screenshares: Vec<Communication>,
}

/// One communication of a participant: the `{communicationId}` of the write.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Communication {
    /// The communication's id.
    pub id: String,
    /// `connected`, `disconnected`, `terminated`, ...: live until disconnected or terminated.
    #[serde(default)]
    pub state: Option<String>,
    /// When it started alerting the agent.
    #[serde(default)]
    pub start_alerting_time: Option<String>,
    /// When it connected: the latest one is the agent's current communication.
    #[serde(default)]
    pub connected_time: Option<String>,
    /// When it disconnected: set, this communication has ended.
    #[serde(default)]
    pub disconnected_time: Option<String>,
    /// The communication's current wrap-up: what `already_applied` and `overwrite` look at.
    #[serde(default)]
    pub wrapup: Option<Wrapup>,
    /// After-call work on this communication: a communication that had it takes the code.
    #[serde(default)]
    pub after_call_work: Option<AfterCallWork>,
}

/// The after-call work of a communication: the window in which Genesys takes a wrap-up.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AfterCallWork {
    /// `unknown`, `notApplicable`, `skipped`, `pending` or `complete`.
    #[serde(default)]
    pub state: Option<String>,
    /// When it started.
    #[serde(default)]
    pub start_time: Option<String>,
    /// When it ended.
    #[serde(default)]
    pub end_time: Option<String>,
}

/// A participant's or communication's current wrap-up. `code` is a string: system codes such
/// as `ININ-WRAP-UP-TIMEOUT` are not UUIDs.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Wrapup {
    /// The code's id, or a system code (`ININ-WRAP-UP-TIMEOUT`, `ININ-SYSTEM-LOGOUT`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// The code's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The agent's notes, kept when a replacing write has none of its own.
    #[serde(default)]
    pub notes: Option<String>,
    /// The agent's tags, kept the same way.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// How long after-call work took.
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    /// When the wrap-up was set.
    #[serde(default)]
    pub end_time: Option<String>,
    /// `true` while the agent may still change it: not yet a final code.
    #[serde(default)]
    pub provisional: Option<bool>,
}

/// `GET /api/v2/routing/wrapupcodes/{id}` (and each entry of the listing).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WrapupCode {
    /// The code's id: what the write sends.
    pub id: String,
    /// Its name, matched by `{"name": ...}` ignoring case.
    #[serde(default)]
    pub name: Option<String>,
    /// Its division; unset or `*` means all divisions.
    #[serde(default)]
    pub division: Option<EntityRef>,
}

/// `GET /api/v2/tokens/me`: whose token this is (needs no permission).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenInfo {
    /// The org the token belongs to.
    #[serde(default)]
    pub organization: Option<EntityRef>,
    /// The OAuth client it was issued to.
    #[serde(default, rename = "OAuthClient")]
    pub oauth_client: Option<EntityRef>,
}

/// A page of `GET /api/v2/routing/wrapupcodes`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WrapupCodeEntityListing {
    /// The codes on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entities: Vec<WrapupCode>,
    /// This page's number, from 1.
    #[serde(default)]
    pub page_number: Option<u32>,
    /// How many pages there are.
    #[serde(default)]
    pub page_count: Option<u32>,
    /// How many codes there are.
    #[serde(default)]
    pub total: Option<u64>,
}

/// Body of the media-specific `.../communications/{id}/wrapup` POST.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WrapupInput {
    /// The code's id.
    pub code: String,
    /// The code's name (Genesys reads the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Notes to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Tags to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// Genesys's error body, on every 4xx and 5xx of the API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status again.
    #[serde(default)]
    pub status: Option<u16>,
    /// Genesys's error code, e.g. `bad.request`, `not.found`, `too.many.requests`.
    #[serde(default)]
    pub code: Option<String>,
    /// What went wrong, in Genesys's words (quoted in rejections).
    #[serde(default)]
    pub message: Option<String>,
    /// Genesys's id of the failed request, for its support.
    #[serde(default)]
    pub context_id: Option<String>,
}

/// The login host's token: kept secret in memory, never printed.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: secrecy::SecretString,
    /// Its lifetime in seconds (a day when absent).
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `GET /api/v2/conversations/{id}/summaries`: Genesys Copilot's summaries, one per agent
/// session, each with the wrap-up codes it predicts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summaries {
    /// One summary per session (an agent's communication).
    #[serde(default, deserialize_with = "null_as_default")]
    pub session_summaries: Vec<SessionSummary>,
}

/// One session's summary: whose it is, whether it is ready, and what it predicts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionSummary {
    /// The summary's id.
    #[serde(default)]
    pub id: Option<String>,
    /// `Pending`, `Queued`, `Started`, `Processing`, `Error` or `Completed`: only a completed
    /// summary's predictions are final.
    #[serde(default)]
    pub status: Option<String>,
    /// The communication (session) it summarises.
    #[serde(default)]
    pub communication: Option<EntityRef>,
    /// The participants it covers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub participants: Vec<EntityRef>,
    /// The wrap-up codes Copilot predicts, with its confidence in each.
    #[serde(default, deserialize_with = "null_as_default")]
    pub predicted_wrapup_codes: Vec<PredictedCode>,
}

/// A code Copilot predicts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PredictedCode {
    /// The code's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// How confident Copilot is, from 0 to 1.
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// Errors of `login.<environment>/oauth/token`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TokenErrorBody {
    /// `invalid_client`, `invalid_request`, ...
    #[serde(default)]
    pub error: Option<String>,
    /// What went wrong (throttling says "rate limit exceeded" here).
    #[serde(default)]
    pub description: Option<String>,
    /// The same, as OAuth names it.
    #[serde(default)]
    pub error_description: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
