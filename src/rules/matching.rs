//! Wrap-up rules: which code to apply to which ended conversations, for Genesys's own events
//! (which say a conversation or an agent's part ended, not which code to apply). JSON only,
//! validated once; the first matching rule wins.

use crate::wrapup::{CodeRef, EventFacts, Overwrite, Wanted};
use serde::Deserialize;
use sha2::Digest;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// Whether `value` is one of these, ignoring case and surrounding spaces (as the rule check
    /// validates them).
    fn matches(&self, value: Option<&str>) -> bool {
        let Some(value) = value.map(str::trim) else {
            return false;
        };
        self.values()
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case(value))
    }

    pub(crate) fn values(&self) -> Vec<&str> {
        match self {
            Self::One(v) => vec![v.as_str()],
            Self::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// Conditions, all of which must hold; each is equality or any-of (case-insensitive).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Match {
    pub topic: Option<OneOrMany>,
    pub queue_id: Option<OneOrMany>,
    pub user_id: Option<OneOrMany>,
    pub division_id: Option<OneOrMany>,
    pub media_type: Option<OneOrMany>,
    pub direction: Option<OneOrMany>,
    pub disconnect_type: Option<OneOrMany>,
    /// The participant's current wrap-up code: a string, e.g. `ININ-WRAP-UP-TIMEOUT`.
    pub current_wrap_up_code: Option<OneOrMany>,
    /// `true`: only participants without a (final) wrap-up; `false`: only those with one.
    pub wrap_up_missing: Option<bool>,
    pub participant_attributes: Option<BTreeMap<String, OneOrMany>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Rule {
    pub name: String,
    /// What the rule is for, in a person's words (not read by the function).
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "match")]
    pub when: Match,
    /// The code to write (by id, name or Copilot's prediction); `None` only on an `observe`
    /// rule.
    #[serde(default)]
    pub wrap_up_code: Option<CodeRef>,
    /// Write nothing: record Copilot's prediction beside the agent's code (`acw` events).
    #[serde(default)]
    pub observe: bool,
    /// The share of conversations the rule acts on (0–1, by a hash of the conversation id:
    /// the same conversation always in or out); `None`: all.
    #[serde(default)]
    pub sample: Option<f64>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub overwrite: Overwrite,
}

/// What the conversation says about the participant, read only when a rule needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ParticipantFacts {
    pub current_wrap_up_code: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// What a matched rule asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Asks {
    /// Write this wrap-up.
    Write(Wanted),
    /// Write nothing: record Copilot's prediction beside the agent's code.
    Observe,
}

impl Rule {
    /// What this rule asks for: a write, or an observation. (A rule with neither a code nor
    /// `observe` never loads: `check.rs`.)
    pub(crate) fn asks(&self) -> Asks {
        match (&self.wrap_up_code, self.observe) {
            (Some(code), false) => Asks::Write(Wanted {
                code: code.clone(),
                notes: self.notes.clone(),
                tags: self.tags.clone(),
                overwrite: self.overwrite,
            }),
            _ => Asks::Observe,
        }
    }

    /// Whether the conversation is in the rule's sample (always, without `sample`): a hash of
    /// its id, so every delivery about one conversation decides the same.
    pub(crate) fn samples(&self, conversation_id: uuid::Uuid) -> bool {
        let Some(share) = self.sample else {
            return true;
        };
        let digest = sha2::Sha256::digest(conversation_id.as_bytes());
        let bucket = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        f64::from(bucket) / f64::from(u32::MAX) < share
    }

    /// The conditions the event alone can decide; on an `acw` event, the current code too.
    pub(crate) fn matches_event(&self, e: &EventFacts) -> bool {
        let m = &self.when;
        let check = |cond: &Option<OneOrMany>, value: Option<&str>| {
            cond.as_ref().is_none_or(|c| c.matches(value))
        };
        check(&m.topic, e.topic)
            && check(&m.queue_id, e.queue_id.as_deref())
            && check(&m.user_id, e.user_id.as_deref())
            && check(&m.division_id, e.division_id.as_deref())
            && check(&m.media_type, e.media_type.as_deref())
            && check(&m.direction, e.direction.as_deref())
            && check(&m.disconnect_type, e.disconnect_type.as_deref())
            && e.current_wrap_up_code
                .as_ref()
                .is_none_or(|code| self.matches_code(code.as_deref()))
    }

    /// The conditions on the current code: a string, since system codes are not UUIDs.
    fn matches_code(&self, current: Option<&str>) -> bool {
        let m = &self.when;
        m.current_wrap_up_code
            .as_ref()
            .is_none_or(|c| c.matches(current))
            && m.wrap_up_missing
                .is_none_or(|want| want == current.is_none())
    }

    /// The conditions on the participant's current state, as the conversation shows it.
    pub(crate) fn matches_participant(&self, p: &ParticipantFacts) -> bool {
        let m = &self.when;
        let attributes_ok = m.participant_attributes.as_ref().is_none_or(|attrs| {
            attrs
                .iter()
                .all(|(k, v)| v.matches(p.attributes.get(k).map(String::as_str)))
        });
        self.matches_code(p.current_wrap_up_code.as_deref()) && attributes_ok
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Rules whose event conditions hold, in order.
    pub(crate) fn candidates<'a>(
        &'a self,
        e: &'a EventFacts,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.matches_event(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "c0de0000-0000-4000-8000-000000000001";

    fn rule(when: serde_json::Value) -> Rule {
        serde_json::from_value(
            serde_json::json!({"name": "r", "match": when, "wrapUpCode": {"id": CODE}}),
        )
        .unwrap()
    }

    #[test]
    fn a_sample_takes_its_share_of_conversations_and_the_same_one_always() {
        let mut r = rule(serde_json::json!({"topic": "acw"}));
        r.sample = Some(0.1);
        let ids: Vec<uuid::Uuid> = (0..10_000u128).map(uuid::Uuid::from_u128).collect();
        let taken = ids.iter().filter(|id| r.samples(**id)).count();
        assert!((900..=1_100).contains(&taken), "{taken} of 10,000");
        assert!(ids.iter().all(|id| r.samples(*id) == r.samples(*id)));
        r.sample = None;
        assert!(ids.iter().all(|id| r.samples(*id)));
    }

    #[test]
    fn event_conditions_are_equality_or_any_of_ignoring_case() {
        let facts = EventFacts {
            topic: Some("user.end"),
            queue_id: Some("q1".into()),
            media_type: Some("VOICE".into()),
            direction: Some("INBOUND".into()),
            ..Default::default()
        };
        assert!(rule(serde_json::json!({})).matches_event(&facts));
        assert!(
            rule(serde_json::json!({"topic": "user.end", "mediaType": "voice"}))
                .matches_event(&facts)
        );
        assert!(rule(serde_json::json!({"queueId": ["q0", "q1"]})).matches_event(&facts));
        assert!(!rule(serde_json::json!({"queueId": ["q0", "q2"]})).matches_event(&facts));
        assert!(
            !rule(serde_json::json!({"disconnectType": "peer"})).matches_event(&facts),
            "an absent fact never matches"
        );
    }

    #[test]
    fn an_acw_event_decides_code_conditions_by_itself() {
        let acw = |code: Option<&str>| EventFacts {
            topic: Some("acw"),
            current_wrap_up_code: Some(code.map(str::to_owned)),
            ..Default::default()
        };
        let timeout =
            rule(serde_json::json!({"topic": "acw", "currentWrapUpCode": "ININ-WRAP-UP-TIMEOUT"}));
        assert!(timeout.matches_event(&acw(Some("ININ-WRAP-UP-TIMEOUT"))));
        assert!(
            !timeout.matches_event(&acw(Some(CODE))),
            "our own code came back"
        );
        assert!(!timeout.matches_event(&acw(None)));
        let missing = rule(serde_json::json!({"topic": "acw", "wrapUpMissing": true}));
        assert!(missing.matches_event(&acw(None)));
        assert!(!missing.matches_event(&acw(Some(CODE))));
        // user.end does not say: the conversation read decides.
        let user_end = EventFacts {
            topic: Some("user.end"),
            ..Default::default()
        };
        assert!(rule(serde_json::json!({"wrapUpMissing": true})).matches_event(&user_end));
    }

    #[test]
    fn participant_conditions() {
        let timeout = ParticipantFacts {
            current_wrap_up_code: Some("ININ-WRAP-UP-TIMEOUT".into()),
            attributes: BTreeMap::from([("crmCaseId".to_owned(), "CASE-1".to_owned())]),
        };
        let missing = ParticipantFacts::default();
        assert!(
            rule(serde_json::json!({"currentWrapUpCode": "ININ-WRAP-UP-TIMEOUT"}))
                .matches_participant(&timeout)
        );
        assert!(
            !rule(serde_json::json!({"currentWrapUpCode": "ININ-WRAP-UP-TIMEOUT"}))
                .matches_participant(&missing)
        );
        assert!(rule(serde_json::json!({"wrapUpMissing": true})).matches_participant(&missing));
        assert!(!rule(serde_json::json!({"wrapUpMissing": true})).matches_participant(&timeout));
        assert!(rule(
            serde_json::json!({"participantAttributes": {"crmCaseId": ["CASE-1", "CASE-2"]}})
        )
        .matches_participant(&timeout));
        assert!(
            !rule(serde_json::json!({"participantAttributes": {"crmCaseId": "CASE-9"}}))
                .matches_participant(&timeout)
        );
    }
}
