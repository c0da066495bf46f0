//! Wrap-up rules: which code to apply to which ended conversations, for Genesys's own events
//! (which say a conversation or an agent's part ended, not which code to apply). JSON only,
//! validated once; the first matching rule wins.

use super::genesys_event::{EventFacts, EventField, Topic};
use super::request::{CodeRef, Overwrite, Wanted};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn matches(&self, value: Option<&str>) -> bool {
        let Some(value) = value else {
            return false;
        };
        match self {
            Self::One(v) => v.eq_ignore_ascii_case(value),
            Self::Many(vs) => vs.iter().any(|v| v.eq_ignore_ascii_case(value)),
        }
    }

    fn values(&self) -> Vec<&str> {
        match self {
            Self::One(v) => vec![v.as_str()],
            Self::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// Conditions, all of which must hold; each is equality or any-of (case-insensitive).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
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
pub struct Rule {
    pub name: String,
    #[serde(default, rename = "match")]
    pub when: Match,
    pub wrap_up_code: CodeRef,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub overwrite: Overwrite,
}

/// What the conversation says about the participant, read only when a rule needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParticipantFacts {
    pub current_wrap_up_code: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

impl Rule {
    /// The wrap-up this rule asks for.
    pub fn wanted(&self) -> Wanted {
        Wanted {
            code: self.wrap_up_code.clone(),
            notes: self.notes.clone(),
            tags: self.tags.clone(),
            overwrite: self.overwrite,
        }
    }

    /// The conditions the event alone can decide; on an `acw` event, the current code too.
    pub fn matches_event(&self, e: &EventFacts) -> bool {
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
    pub fn matches_participant(&self, p: &ParticipantFacts) -> bool {
        let m = &self.when;
        let attributes_ok = m.participant_attributes.as_ref().is_none_or(|attrs| {
            attrs
                .iter()
                .all(|(k, v)| v.matches(p.attributes.get(k).map(String::as_str)))
        });
        self.matches_code(p.current_wrap_up_code.as_deref()) && attributes_ok
    }

    /// A condition on a field none of the rule's topics carries could never hold: refused.
    fn check_fields(&self) -> Result<(), String> {
        let m = &self.when;
        let topics: Vec<Topic> = match &m.topic {
            None => Topic::ALL.to_vec(),
            Some(names) => names
                .values()
                .into_iter()
                .filter_map(Topic::parse)
                .collect(),
        };
        let conditions = [
            (EventField::QueueId, m.queue_id.is_some()),
            (EventField::UserId, m.user_id.is_some()),
            (EventField::DivisionId, m.division_id.is_some()),
            (EventField::DisconnectType, m.disconnect_type.is_some()),
        ];
        for (field, _) in conditions.into_iter().filter(|(_, set)| *set) {
            if !topics.iter().any(|t| t.carries(field)) {
                let names: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
                return Err(format!(
                    "a condition on {} can never hold: {} events do not carry it",
                    field.name(),
                    names.join(" and ")
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("wrap-up rules from {origin} are invalid: {problem}")]
pub struct RulesError {
    pub origin: String,
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Wrapped(Wrapped),
    Bare(Vec<Rule>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses `{"rules": [...]}` or a bare array, naming the line and column of any problem.
    pub fn parse(text: &str, origin: &str) -> Result<Self, RulesError> {
        let err = |problem: String| RulesError {
            origin: origin.to_owned(),
            problem,
        };
        // Parse as a value first so syntax errors carry their line and column; then the shape.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let rules = match serde_json::from_value::<Document>(value.clone()) {
            Ok(Document::Wrapped(w)) => w.rules,
            Ok(Document::Bare(rules)) => rules,
            Err(_) => {
                // Say what is wrong where: re-parse the likely shape from the text for positions.
                let positioned = if value.is_array() {
                    serde_json::from_str::<Vec<Rule>>(text).err()
                } else {
                    serde_json::from_str::<Wrapped>(text).err()
                };
                return Err(err(positioned.map_or_else(
                    || "not a list of rules".to_owned(),
                    |e| e.to_string(),
                )));
            }
        };
        let mut names = std::collections::HashSet::new();
        for (i, rule) in rules.iter().enumerate() {
            let at = format!("rule {} ({:?})", i + 1, rule.name);
            if rule.name.trim().is_empty() {
                return Err(err(format!("rule {} has an empty name", i + 1)));
            }
            if !names.insert(rule.name.as_str()) {
                return Err(err(format!("{at}: the name is used twice")));
            }
            if let Some(topics) = &rule.when.topic {
                if let Some(bad) = topics
                    .values()
                    .into_iter()
                    .find(|t| Topic::parse(t).is_none())
                {
                    return Err(err(format!(
                        "{at}: unknown topic {bad:?}; use user.end, customer.end or acw"
                    )));
                }
            }
            rule.check_fields()
                .map_err(|why| err(format!("{at}: {why}")))?;
            rule.wanted()
                .check_size()
                .map_err(|why| err(format!("{at}: {why}")))?;
        }
        Ok(Self { rules })
    }

    /// Rules whose event conditions hold, in order.
    pub fn candidates<'a>(&'a self, e: &'a EventFacts) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.matches_event(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "c0de0000-0000-4000-8000-000000000001";

    #[test]
    fn rules_parse_wrapped_or_bare() {
        let wrapped =
            format!(r#"{{"rules": [{{"name": "a", "wrapUpCode": {{"id": "{CODE}"}}}}]}}"#);
        let bare = format!(
            r#"[{{"name": "a", "match": {{"topic": ["user.end", "ACW"]}}, "wrapUpCode": {{"id": "{CODE}"}}}}]"#
        );
        assert_eq!(RuleSet::parse(&wrapped, "t").unwrap().rules.len(), 1);
        assert_eq!(RuleSet::parse(&bare, "t").unwrap().rules.len(), 1);
    }

    #[test]
    fn invalid_rules_name_the_place() {
        let syntax = "{\n  \"rules\": [\n    {\"name\": \"a\",, }\n  ]\n}";
        let e = RuleSet::parse(syntax, "rules.json").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(e.to_string().contains("rules.json"), "{e}");
        let unknown = format!("{{\"rules\": [\n{{\"name\": \"a\", \"colour\": 1, \"wrapUpCode\": {{\"id\": \"{CODE}\"}}}}]}}");
        let e = RuleSet::parse(&unknown, "t").unwrap_err();
        assert!(
            e.problem.contains("colour") && e.problem.contains("line 2"),
            "{e}"
        );
        let bad_code =
            r#"{"rules": [{"name": "a", "wrapUpCode": {"id": "ININ-WRAP-UP-TIMEOUT"}}]}"#;
        assert!(RuleSet::parse(bad_code, "t").is_err());
        let bad_topic = format!(
            r#"[{{"name": "a", "match": {{"topic": "user.start"}}, "wrapUpCode": {{"id": "{CODE}"}}}}]"#
        );
        assert!(RuleSet::parse(&bad_topic, "t")
            .unwrap_err()
            .problem
            .contains("user.start"));
        let twice = format!(
            r#"[{{"name": "a", "wrapUpCode": {{"id": "{CODE}"}}}}, {{"name": "a", "wrapUpCode": {{"id": "{CODE}"}}}}]"#
        );
        assert!(RuleSet::parse(&twice, "t")
            .unwrap_err()
            .problem
            .contains("twice"));
    }

    fn rule(when: serde_json::Value) -> Rule {
        serde_json::from_value(
            serde_json::json!({"name": "r", "match": when, "wrapUpCode": {"id": CODE}}),
        )
        .unwrap()
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
    fn conditions_no_topic_of_the_rule_carries_are_refused_at_load() {
        let parse = |when: serde_json::Value| {
            RuleSet::parse(
                &serde_json::json!([{"name": "r1", "match": when, "wrapUpCode": {"name": "Sale"}}])
                    .to_string(),
                "t",
            )
        };
        for (when, field) in [
            (
                serde_json::json!({"topic": "acw", "divisionId": "d"}),
                "divisionId",
            ),
            (
                serde_json::json!({"topic": "acw", "disconnectType": "PEER"}),
                "disconnectType",
            ),
            (
                serde_json::json!({"topic": "customer.end", "queueId": "q"}),
                "queueId",
            ),
            (
                serde_json::json!({"topic": "customer.end", "userId": "u"}),
                "userId",
            ),
        ] {
            let e = parse(when.clone()).unwrap_err();
            assert!(
                e.problem.contains(field) && e.problem.contains("\"r1\""),
                "{when}: {e}"
            );
        }
        for when in [
            serde_json::json!({"divisionId": "d"}),
            serde_json::json!({"topic": ["acw", "user.end"], "divisionId": "d"}),
            serde_json::json!({"topic": "acw", "queueId": "q", "userId": "u"}),
            serde_json::json!({"topic": "customer.end", "disconnectType": "ENDPOINT"}),
        ] {
            assert!(parse(when.clone()).is_ok(), "{when}");
        }
        // Accepted, it simply never matches the topic without the field.
        let set = parse(serde_json::json!({"divisionId": "d"})).unwrap();
        let acw = EventFacts {
            topic: Some("acw"),
            ..Default::default()
        };
        assert!(!set.rules[0].matches_event(&acw));
    }

    #[test]
    fn rules_take_codes_by_name_and_an_overwrite_mode() {
        let set = RuleSet::parse(
            r#"[{"name": "r", "wrapUpCode": {"name": " Sale "}, "overwrite": "system"}]"#,
            "t",
        )
        .unwrap();
        let want = set.rules[0].wanted();
        assert_eq!(want.code, CodeRef::Name("Sale".into()));
        assert_eq!(want.overwrite, Overwrite::System);
        let e = RuleSet::parse(r#"[{"name": "r", "wrapUpCode": {"name": ""}}]"#, "t").unwrap_err();
        assert!(e.problem.contains("empty"), "{e}");
        let e = RuleSet::parse(
            r#"[{"name": "r", "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000001", "name": "x"}}]"#,
            "t",
        )
        .unwrap_err();
        assert!(e.problem.contains("not both"), "{e}");
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
