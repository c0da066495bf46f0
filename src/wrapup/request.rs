//! The apply request, parsed strictly: unknown fields and non-UUID ids are refused before any
//! network call, and only parsed UUIDs ever reach a URL.

use crate::genesys::models::WrapupInput;
use serde::Deserialize;
use uuid::Uuid;

/// Genesys refuses request bodies over this many bytes.
const GENESYS_MAX_BODY_BYTES: usize = 512_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ApplyRequest {
    pub(crate) conversation_id: Uuid,
    pub(crate) participant_id: Option<Uuid>,
    pub(crate) org_id: Option<Uuid>,
    pub(crate) wrap_up: WrapUp,
}

/// The wrap-up asked for, by an apply request or a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapUp {
    pub(crate) code: Uuid,
    pub(crate) notes: Option<String>,
    pub(crate) tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Wire {
    #[serde(alias = "interactionId")]
    conversation_id: String,
    wrap_up_code: WireCode,
    #[serde(default)]
    participant_id: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    org_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCode {
    id: String,
}

/// Why a payload is not an apply request (`invalid_event`). The text names fields, never secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRequest(pub String);

impl ApplyRequest {
    pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidRequest> {
        let wire: Wire = serde_json::from_slice(bytes).map_err(json_problem)?;
        Self::from_wire(wire)
    }

    /// Parses a borrowed value: the whole event of a direct invoke need not be copied.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, InvalidRequest> {
        use serde::Deserialize;
        let wire = Wire::deserialize(value).map_err(json_problem)?;
        Self::from_wire(wire)
    }

    pub fn conversation_id(&self) -> Uuid {
        self.conversation_id
    }

    fn from_wire(wire: Wire) -> Result<Self, InvalidRequest> {
        let request = Self {
            conversation_id: uuid_field("conversationId", &wire.conversation_id)?,
            participant_id: wire
                .participant_id
                .as_deref()
                .map(|p| uuid_field("participantId", p))
                .transpose()?,
            org_id: wire
                .org_id
                .as_deref()
                .map(|o| uuid_field("orgId", o))
                .transpose()?,
            wrap_up: WrapUp {
                code: uuid_field("wrapUpCode.id", &wire.wrap_up_code.id)?,
                notes: wire.notes,
                tags: wire.tags,
            },
        };
        let size = request.wrap_up.body_size();
        if size > GENESYS_MAX_BODY_BYTES {
            return Err(InvalidRequest(format!(
                "notes and tags make a {size}-byte request, over Genesys's {GENESYS_MAX_BODY_BYTES}-byte limit"
            )));
        }
        Ok(request)
    }
}

impl WrapUp {
    /// The size of the write this asks for: Genesys refuses bodies over its limit.
    fn body_size(&self) -> usize {
        let body = WrapupInput {
            code: self.code.hyphenated().to_string(),
            notes: self.notes.clone(),
            tags: self.tags.clone(),
            ..Default::default()
        };
        serde_json::to_vec(&body).map_or(usize::MAX, |b| b.len())
    }
}

fn uuid_field(field: &str, value: &str) -> Result<Uuid, InvalidRequest> {
    Uuid::parse_str(value.trim())
        .map_err(|_| InvalidRequest(format!("{field} must be a UUID, got {}", preview(value))))
}

/// A short, printable preview of untrusted text for error messages.
pub(crate) fn preview(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    if value.chars().count() > 40 {
        out.push('…');
    }
    format!("\"{out}\"")
}

fn json_problem(e: serde_json::Error) -> InvalidRequest {
    let text = e.to_string();
    // serde_json quotes offending values; keep messages bounded.
    let text: String = text.chars().take(300).collect();
    InvalidRequest(format!("not an apply request: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const C: &str = "9e9b3a8c-55b0-4c47-8f3a-3a9f1c0e7d21";
    const W: &str = "0b1f7f4e-1c1d-4a8e-9f55-2f6b7f3d2c10";

    #[test]
    fn minimal_request_parses_to_canonical_uuids() {
        let r = ApplyRequest::from_json(
            &json!({"conversationId": C.to_uppercase(), "wrapUpCode": {"id": W}}),
        )
        .unwrap();
        assert_eq!(r.conversation_id.hyphenated().to_string(), C);
        assert_eq!(r.participant_id, None);
    }

    #[test]
    fn interaction_id_is_an_alias() {
        let r =
            ApplyRequest::from_json(&json!({"interactionId": C, "wrapUpCode": {"id": W}})).unwrap();
        assert_eq!(r.conversation_id.to_string(), C);
        let both = ApplyRequest::from_json(
            &json!({"interactionId": C, "conversationId": C, "wrapUpCode": {"id": W}}),
        );
        assert!(both.is_err());
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        assert!(ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "x": 1})
        )
        .is_err());
        assert!(ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W, "name": "n"}})
        )
        .is_err());
    }

    #[test]
    fn non_uuid_ids_are_rejected_naming_the_field() {
        let e =
            ApplyRequest::from_json(&json!({"conversationId": "../../x", "wrapUpCode": {"id": W}}))
                .unwrap_err();
        assert!(e.0.contains("conversationId"));
        let e = ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "participantId": "p"}),
        )
        .unwrap_err();
        assert!(e.0.contains("participantId"));
        let e = ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": "ININ-WRAP-UP-TIMEOUT"}}),
        )
        .unwrap_err();
        assert!(e.0.contains("wrapUpCode.id"));
    }

    #[test]
    fn optional_fields_are_kept() {
        let r = ApplyRequest::from_json(&json!({
            "conversationId": C, "wrapUpCode": {"id": W}, "participantId": W,
            "notes": "n", "tags": ["a", "b"], "orgId": C
        }))
        .unwrap();
        assert_eq!(r.wrap_up.notes.as_deref(), Some("n"));
        assert_eq!(r.wrap_up.tags, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(r.wrap_up.code.to_string(), W);
        assert_eq!(r.org_id.map(|o| o.to_string()).as_deref(), Some(C));
    }

    #[test]
    fn oversized_notes_are_rejected() {
        let big = "x".repeat(GENESYS_MAX_BODY_BYTES);
        let e = ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "notes": big}),
        )
        .unwrap_err();
        assert!(e.0.contains("limit"));
        let ok = "x".repeat(GENESYS_MAX_BODY_BYTES - 100);
        assert!(ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "notes": ok})
        )
        .is_ok());
    }

    #[test]
    fn not_json_objects_are_rejected() {
        assert!(ApplyRequest::from_slice(b"[]").is_err());
        assert!(ApplyRequest::from_slice(b"\xff\xfe").is_err());
        assert!(ApplyRequest::from_json(&json!("text")).is_err());
    }
}
