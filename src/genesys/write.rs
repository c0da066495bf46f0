//! The one request that changes anything in Genesys: the pipeline builds it, `GenesysClient::send`
//! sends it, and a dry run shows it instead.

use super::models::WrapupInput;
use serde::ser::{Serialize, SerializeMap, Serializer};
use uuid::Uuid;

/// A media type whose wrap-up endpoint we call, named by the participant's array it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// `calls`: voice.
    Call,
    /// `callbacks`.
    Callback,
    /// `emails`.
    Email,
    /// `messages`: web messaging, SMS, social messaging.
    Message,
    /// `socialExpressions`, written through `socials`.
    Social,
    /// `videos`.
    Video,
}

impl MediaKind {
    /// Every media type, in the order the participant's arrays are searched.
    pub const ALL: [Self; 6] = [
        Self::Call,
        Self::Callback,
        Self::Email,
        Self::Message,
        Self::Social,
        Self::Video,
    ];

    /// The segment of `POST /api/v2/conversations/{segment}/.../wrapup`.
    pub fn path_segment(self) -> &'static str {
        match self {
            Self::Call => "calls",
            Self::Callback => "callbacks",
            Self::Email => "emails",
            Self::Message => "messages",
            Self::Social => "socials",
            Self::Video => "videos",
        }
    }

    /// Genesys's lower-case media type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "voice",
            Self::Callback => "callback",
            Self::Email => "email",
            Self::Message => "message",
            Self::Social => "social",
            Self::Video => "video",
        }
    }
}

/// `POST /api/v2/conversations/{media}/{id}/participants/{pid}/communications/{cid}/wrapup`
/// with a `WrapupInput` body. Ids are parsed UUIDs, so the path can only have this shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Write {
    pub(crate) media: MediaKind,
    pub(crate) conversation_id: Uuid,
    pub(crate) participant_id: Uuid,
    pub(crate) communication_id: Uuid,
    pub(crate) body: WrapupInput,
}

impl Write {
    pub(crate) const METHOD: &'static str = "POST";

    /// The path's segments, each from a canonical hyphenated UUID.
    pub(crate) fn segments(&self) -> [String; 10] {
        [
            "api".into(),
            "v2".into(),
            "conversations".into(),
            self.media.path_segment().into(),
            self.conversation_id.hyphenated().to_string(),
            "participants".into(),
            self.participant_id.hyphenated().to_string(),
            "communications".into(),
            self.communication_id.hyphenated().to_string(),
            "wrapup".into(),
        ]
    }

    pub(crate) fn path(&self) -> String {
        self.segments()
            .iter()
            .fold(String::new(), |path, s| path + "/" + s)
    }
}

/// `{"method", "path", "body"}`: the exact request, as a dry run reports it.
impl Serialize for Write {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("method", Self::METHOD)?;
        map.serialize_entry("path", &self.path())?;
        map.serialize_entry("body", &self.body)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_names_the_media_endpoint_and_serialises_as_the_request() {
        let id = |n: u8| Uuid::from_bytes([n; 16]);
        let write = Write {
            media: MediaKind::Social,
            conversation_id: id(1),
            participant_id: id(2),
            communication_id: id(3),
            body: WrapupInput {
                code: id(4).to_string(),
                ..Default::default()
            },
        };
        assert_eq!(
            write.path(),
            format!(
                "/api/v2/conversations/socials/{}/participants/{}/communications/{}/wrapup",
                id(1),
                id(2),
                id(3)
            )
        );
        let json = serde_json::to_value(&write).unwrap();
        assert_eq!(json["method"], "POST");
        assert_eq!(json["body"], serde_json::json!({"code": id(4).to_string()}));
    }
}
