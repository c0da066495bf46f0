//! The parts of Genesys Cloud's models this function reads and writes (field names from the
//! platform's Swagger). Every field is optional or defaulted: Genesys omits nulls and adds
//! fields over time, and neither may break a read. Each field is the platform's field of the
//! same (camelCase) name, documented in Genesys's API reference; only what this function makes
//! of a field is said here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub start_time: Option<String>,
    /// Null while the conversation is active. Enough to call it ended, but often later than the
    /// agent's part (a survey, a consult, another agent): the wrap-up waits only for that.
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub participants: Vec<Participant>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub divisions: Vec<DivisionMembership>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DivisionMembership {
    #[serde(default)]
    pub division: Option<EntityRef>,
}

/// A reference to another entity (a division, an org, an OAuth client): its id and name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// Set on a supervisor's participant: whom it monitors, coaches or barges in on.
    #[serde(default)]
    pub monitored_participant_id: Option<String>,
    #[serde(default)]
    pub coached_participant_id: Option<String>,
    #[serde(default)]
    pub barged_participant_id: Option<String>,
    #[serde(default)]
    pub queue_id: Option<String>,
    #[serde(default)]
    pub wrapup_required: Option<bool>,
    #[serde(default)]
    pub wrapup: Option<Wrapup>,
    /// Participant data set by flows and scripts (string values).
    #[serde(default)]
    pub attributes: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub start_acw_time: Option<String>,
    #[serde(default)]
    pub end_acw_time: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub calls: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub callbacks: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub emails: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub social_expressions: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub videos: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub chats: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cobrowsesessions: Vec<Communication>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub screenshares: Vec<Communication>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Communication {
    pub id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub start_alerting_time: Option<String>,
    #[serde(default)]
    pub connected_time: Option<String>,
    #[serde(default)]
    pub disconnected_time: Option<String>,
    #[serde(default)]
    pub wrapup: Option<Wrapup>,
    #[serde(default)]
    pub after_call_work: Option<AfterCallWork>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AfterCallWork {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
}

/// A participant's or communication's current wrap-up. `code` is a string: system codes such
/// as `ININ-WRAP-UP-TIMEOUT` are not UUIDs.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Wrapup {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub provisional: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WrapupCode {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub division: Option<EntityRef>,
}

/// `GET /api/v2/tokens/me`: whose token this is (needs no permission).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenInfo {
    #[serde(default)]
    pub organization: Option<EntityRef>,
    #[serde(default, rename = "OAuthClient")]
    pub oauth_client: Option<EntityRef>,
}

/// A page of `GET /api/v2/routing/wrapupcodes`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WrapupCodeEntityListing {
    #[serde(default, deserialize_with = "null_as_default")]
    pub entities: Vec<WrapupCode>,
    #[serde(default)]
    pub page_number: Option<u32>,
    #[serde(default)]
    pub page_count: Option<u32>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// Body of the media-specific `.../communications/{id}/wrapup` POST.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WrapupInput {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub context_id: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: secrecy::SecretString,
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

/// Errors of `login.<environment>/oauth/token`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TokenErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
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
