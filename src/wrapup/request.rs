//! The apply request, parsed strictly: unknown fields, non-UUID ids and unusable code names are
//! refused before any network call, and only parsed UUIDs ever reach a URL.

use crate::error::{preview, serde_problem};
use crate::genesys::models::WrapupInput;
use serde::Deserialize;
use uuid::Uuid;

/// Genesys refuses request bodies over this many bytes.
const GENESYS_MAX_BODY_BYTES: usize = 512_000;

/// A request to apply a wrap-up code, from a CRM, a rule engine or a person: parsed strictly,
/// with every id a UUID. Only its parsed ids ever reach a URL.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyRequest {
    pub(crate) conversation_id: Uuid,
    pub(crate) participant_id: Option<Uuid>,
    pub(crate) org_id: Option<Uuid>,
    pub(crate) wanted: Wanted,
}

/// The wrap-up a request or rule wants: the code, notes and tags to write, and whether it may
/// replace a code already there. (Genesys's own `Wrapup` is what the participant has now.)
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// The code, by id or name.
    pub code: CodeRef,
    /// Notes to write with it (`None`: keep the agent's when replacing a code).
    pub notes: Option<String>,
    /// Tags to write with it (`None`: keep the agent's when replacing a code).
    pub tags: Option<Vec<String>>,
    /// What to do when the participant already has a code.
    pub overwrite: Overwrite,
}

/// A wrap-up code by id, by name (CRMs know names, not ids), or the one Genesys Copilot
/// predicts for the agent's communication.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "WireCode")]
pub enum CodeRef {
    /// A code's id.
    Id(Uuid),
    /// Trimmed; matched against codes' names ignoring case, never as a prefix or wildcard.
    Name(String),
    /// Copilot's prediction for the communication written to.
    Predicted(Predicted),
}

/// A code Genesys Copilot predicts: the most confident prediction at or above `min_confidence`
/// that fits the conversation's divisions, else the fallback (an id or a name), else none.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicted {
    /// From 0 to 1.
    pub min_confidence: f64,
    /// The code when no prediction reaches the threshold (never itself a prediction).
    pub fallback: Option<Box<CodeRef>>,
}

impl CodeRef {
    /// A code as a person types it: a UUID is an id, anything else a name.
    pub fn parse(text: &str) -> Result<Self, String> {
        let wire = match Uuid::parse_str(text.trim()) {
            Ok(_) => WireCode {
                id: Some(text.to_owned()),
                name: None,
                predicted: None,
            },
            Err(_) => WireCode {
                id: None,
                name: Some(text.to_owned()),
                predicted: None,
            },
        };
        Self::try_from(wire)
    }

    /// The id, when the code is named by id.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Self::Id(id) => Some(*id),
            Self::Name(_) | Self::Predicted(_) => None,
        }
    }

    /// One spelling of each code a request can name (a name matches ignoring case), for a
    /// request's identity.
    pub(crate) fn canonical(&self) -> String {
        match self {
            Self::Id(id) => format!("id:{}", id.hyphenated()),
            Self::Name(name) => format!("name:{}", name.to_lowercase()),
            Self::Predicted(p) => format!(
                "predicted:{}:{}",
                p.min_confidence,
                p.fallback
                    .as_ref()
                    .map_or_else(String::new, |f| f.canonical())
            ),
        }
    }
}

/// What to do when the participant already has a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overwrite {
    /// Write unless the same code is already there.
    #[default]
    Always,
    /// Keep any (non-provisional) code already set.
    Never,
    /// Replace only a missing code or a system code (`ININ-…`, e.g. `ININ-WRAP-UP-TIMEOUT`).
    System,
}

impl Overwrite {
    /// The name requests and rules use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::System => "system",
        }
    }
}

/// `{"id": "<uuid>"}`, `{"name": "<code name>"}` or `{"predicted": {"minConfidence": <0–1>,
/// "fallback": {"id"} | {"name"}}}`, as requests and rules write it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireCode {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    predicted: Option<WirePredicted>,
}

/// `{"minConfidence": <0–1>, "fallback": {"id"} | {"name"}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct WirePredicted {
    min_confidence: f64,
    #[serde(default)]
    fallback: Option<Box<WireCode>>,
}

/// Longest code name accepted.
const MAX_NAME_CHARS: usize = 255;

impl TryFrom<WireCode> for CodeRef {
    type Error = String;

    fn try_from(wire: WireCode) -> Result<Self, String> {
        if let Some(predicted) = wire.predicted {
            if wire.id.is_some() || wire.name.is_some() {
                return Err("wrapUpCode takes one of id, name or predicted".into());
            }
            if !(0.0..=1.0).contains(&predicted.min_confidence) {
                return Err(format!(
                    "wrapUpCode.predicted.minConfidence must be from 0 to 1, got {}",
                    predicted.min_confidence
                ));
            }
            let fallback = match predicted.fallback {
                None => None,
                Some(wire) if wire.predicted.is_some() => {
                    return Err("wrapUpCode.predicted.fallback must be an id or a name".into())
                }
                Some(wire) => Some(Box::new(Self::try_from(*wire).map_err(|e| {
                    e.replacen("wrapUpCode", "wrapUpCode.predicted.fallback", 1)
                })?)),
            };
            return Ok(Self::Predicted(Predicted {
                min_confidence: predicted.min_confidence,
                fallback,
            }));
        }
        match (wire.id, wire.name) {
            (Some(id), None) => uuid_field("wrapUpCode.id", &id)
                .map(Self::Id)
                .map_err(|e| e.0),
            (None, Some(name)) => {
                let trimmed = name.trim();
                if trimmed.is_empty() {
                    Err("wrapUpCode.name is empty".into())
                } else if name.chars().count() > MAX_NAME_CHARS {
                    Err(format!(
                        "wrapUpCode.name is over {MAX_NAME_CHARS} characters"
                    ))
                } else if name.chars().any(char::is_control) {
                    Err(format!(
                        "wrapUpCode.name holds control characters: {}",
                        preview(&name)
                    ))
                } else {
                    Ok(Self::Name(trimmed.to_owned()))
                }
            }
            (Some(_), Some(_)) => Err("wrapUpCode takes an id or a name, not both".into()),
            (None, None) => Err("wrapUpCode needs an id or a name (or predicted)".into()),
        }
    }
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
    #[serde(default)]
    overwrite: Overwrite,
}

/// Why a payload is not an apply request (`invalid_event`). The text names fields, never secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRequest(pub String);

impl ApplyRequest {
    /// Parses the raw bytes of a webhook body.
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

    /// The conversation to wrap up.
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
            wanted: Wanted {
                code: CodeRef::try_from(wire.wrap_up_code).map_err(InvalidRequest)?,
                notes: wire.notes,
                tags: wire.tags,
                overwrite: wire.overwrite,
            },
        };
        request.wanted.check_size().map_err(InvalidRequest)?;
        Ok(request)
    }
}

impl Wanted {
    /// A wrap-up with no notes or tags.
    pub fn new(code: CodeRef, overwrite: Overwrite) -> Self {
        Self {
            code,
            notes: None,
            tags: None,
            overwrite,
        }
    }

    /// Genesys refuses bodies over its limit: notes and tags that would exceed it are refused
    /// before any network call.
    pub(crate) fn check_size(&self) -> Result<(), String> {
        let size = self.body_size();
        if size > GENESYS_MAX_BODY_BYTES {
            return Err(format!(
                "notes and tags make a {size}-byte request, over Genesys's {GENESYS_MAX_BODY_BYTES}-byte limit"
            ));
        }
        Ok(())
    }

    fn body_size(&self) -> usize {
        let body = WrapupInput {
            // A name resolves to an id of the same length.
            code: Uuid::nil().hyphenated().to_string(),
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

fn json_problem(e: serde_json::Error) -> InvalidRequest {
    InvalidRequest(format!("not an apply request: {}", serde_problem(&e)))
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
        assert_eq!(r.wanted.notes.as_deref(), Some("n"));
        assert_eq!(r.wanted.tags, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(r.wanted.code, CodeRef::Id(W.parse().unwrap()));
        assert_eq!(r.wanted.overwrite, Overwrite::Always);
        assert_eq!(r.org_id.map(|o| o.to_string()).as_deref(), Some(C));
    }

    #[test]
    fn codes_by_name_are_validated_before_any_call() {
        let with_code = |code: serde_json::Value| {
            ApplyRequest::from_json(&json!({"conversationId": C, "wrapUpCode": code}))
        };
        let r = with_code(json!({"name": "  Sale  "})).unwrap();
        assert_eq!(r.wanted.code, CodeRef::Name("Sale".into()));
        for (code, why) in [
            (json!({"name": ""}), "empty"),
            (json!({"name": "   "}), "empty"),
            (json!({"name": "x".repeat(256)}), "255"),
            (json!({"name": "Sale\u{7}"}), "control"),
            (json!({"name": "Sale\nCall"}), "control"),
            (json!({"id": W, "name": "Sale"}), "not both"),
            (json!({}), "an id or a name"),
            (json!({"name": 5}), "not an apply request"),
        ] {
            let e = with_code(code.clone()).unwrap_err();
            assert!(e.0.contains(why), "{code}: {}", e.0);
        }
        assert!(with_code(json!({"name": "é".repeat(255)})).is_ok());
    }

    #[test]
    fn a_predicted_code_has_a_threshold_from_0_to_1_and_a_fallback_by_id_or_name() {
        let with_code = |code: serde_json::Value| {
            ApplyRequest::from_json(&json!({"conversationId": C, "wrapUpCode": code}))
        };
        let r = with_code(
            json!({"predicted": {"minConfidence": 0.7, "fallback": {"name": " Call back "}}}),
        )
        .unwrap();
        assert_eq!(
            r.wanted.code,
            CodeRef::Predicted(Predicted {
                min_confidence: 0.7,
                fallback: Some(Box::new(CodeRef::Name("Call back".into())))
            })
        );
        assert!(with_code(json!({"predicted": {"minConfidence": 1}})).is_ok());
        for (code, why) in [
            (json!({"predicted": {"minConfidence": 1.5}}), "from 0 to 1"),
            (json!({"predicted": {"minConfidence": -0.1}}), "from 0 to 1"),
            (json!({"predicted": {}}), "minConfidence"),
            (
                json!({"predicted": {"minConfidence": 0.5, "fallback": {"predicted": {"minConfidence": 0.1}}}}),
                "an id or a name",
            ),
            (
                json!({"predicted": {"minConfidence": 0.5, "fallback": {"id": "nope"}}}),
                "fallback.id",
            ),
            (
                json!({"id": W, "predicted": {"minConfidence": 0.5}}),
                "one of",
            ),
        ] {
            let e = with_code(code.clone()).unwrap_err();
            assert!(e.0.contains(why), "{code}: {}", e.0);
        }
    }

    #[test]
    fn overwrite_is_always_never_or_system() {
        let with = |overwrite: &str| {
            ApplyRequest::from_json(
                &json!({"conversationId": C, "wrapUpCode": {"id": W}, "overwrite": overwrite}),
            )
        };
        assert_eq!(with("never").unwrap().wanted.overwrite, Overwrite::Never);
        assert_eq!(with("system").unwrap().wanted.overwrite, Overwrite::System);
        assert_eq!(with("always").unwrap().wanted.overwrite, Overwrite::Always);
        assert!(with("sometimes").is_err());
        assert!(with("NEVER").is_err());
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
    fn serde_messages_never_quote_the_values_they_failed_on() {
        let e = ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "tags": "secret-ish note"}),
        )
        .unwrap_err();
        assert!(!e.0.contains("secret-ish"), "{}", e.0);
        assert!(e.0.contains("invalid type"), "{}", e.0);
        let e = ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "overwrite": "hunter2"}),
        )
        .unwrap_err();
        assert!(!e.0.contains("hunter2") && e.0.contains("never"), "{}", e.0);
        let e = ApplyRequest::from_json(
            &json!({"conversationId": C, "wrapUpCode": {"id": W}, "colour": 1}),
        )
        .unwrap_err();
        assert!(e.0.contains("colour"), "field names stay: {}", e.0);
    }

    #[test]
    fn not_json_objects_are_rejected() {
        assert!(ApplyRequest::from_slice(b"[]").is_err());
        assert!(ApplyRequest::from_slice(b"\xff\xfe").is_err());
        assert!(ApplyRequest::from_json(&json!("text")).is_err());
    }
}
