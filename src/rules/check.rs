//! Is a rule set usable? Everything the function refuses at load, found all at once and named
//! by rule and field with the fix: JSON syntax (line and column), the shape (unknown fields, a
//! code that is neither id nor name), a rule naming no topic, ids that are not UUIDs, values
//! Genesys events never carry, conditions none of the rule's topics carry, duplicate names, and
//! a rule no event can reach because an earlier one catches everything it would.

use super::matching::{Asks, Match, OneOrMany, Rule, RuleSet};
use crate::error::serde_problem;
use crate::wrapup::{EventField, Topic, DIRECTIONS, DISCONNECT_TYPES, MEDIA_TYPES};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeSet;

/// One thing wrong with a rule set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RuleProblem {
    /// The rule's name, or `#<position>` (from 1) when it has none; `-` for the whole document.
    pub rule: String,
    /// The field at fault, e.g. `match.queueId`.
    pub field: String,
    /// What is wrong, and the fix.
    pub message: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.rule, self.field, self.message)
    }
}

/// A rule set the function will not use: where it came from, and every problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("wrap-up rules from {origin} are invalid: {}", summary(problems))]
pub(crate) struct RulesError {
    /// `WRAPUP_RULES`, `WRAPUP_RULES_FILE <path>` or `WRAPUP_RULES_PARAMETER <name>`.
    pub origin: String,
    /// How many rules the document holds (0 when it is no list of rules).
    pub count: usize,
    /// Every problem found, in the document's order.
    pub problems: Vec<RuleProblem>,
}

fn summary(problems: &[RuleProblem]) -> String {
    let first = problems
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    match problems.len() {
        0 | 1 => first,
        n => format!(
            "{first} (and {} more: run `genesys-wrapup rules check`)",
            n - 1
        ),
    }
}

/// `{"rules": [...], "description": "..."}`, each rule kept as its own text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped<'a> {
    #[serde(borrow)]
    rules: Vec<&'a RawValue>,
    #[serde(default)]
    #[allow(dead_code)] // read by people, not by the function
    description: Option<String>,
}

impl RuleSet {
    /// Parses `{"rules": [...]}` or a bare array and checks every rule; `Err` lists every
    /// problem found.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self, RulesError> {
        let fail = |problems| RulesError {
            origin: origin.to_owned(),
            count: 0,
            problems,
        };
        let document = |message: String| RuleProblem {
            rule: "-".into(),
            field: "document".into(),
            message,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            fail(vec![document(format!(
                "not JSON: {} (line {}, column {})",
                serde_problem(&e)
                    .split(" at line ")
                    .next()
                    .unwrap_or_default(),
                e.line(),
                e.column()
            ))])
        })?;
        let raw: Vec<&RawValue> = if value.is_array() {
            serde_json::from_str(text).map_err(|e| fail(vec![document(serde_problem(&e))]))?
        } else {
            serde_json::from_str::<Wrapped>(text)
                .map(|w| w.rules)
                .map_err(|e| {
                    fail(vec![document(format!(
                        "{}; write {{\"rules\": [...]}} or a bare list of rules",
                        serde_problem(&e)
                    ))])
                })?
        };
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for (i, raw) in raw.iter().enumerate() {
            let label = rule_label(raw, i);
            match serde_json::from_str::<Rule>(raw.get()) {
                Ok(rule) => rules.push((label, rule)),
                Err(e) => problems.push(RuleProblem {
                    field: field_of(&e),
                    message: format!("{} ({})", shape_message(&e), position(text, raw, &e)),
                    rule: label,
                }),
            }
        }
        let mut names = BTreeSet::new();
        // Rules without a problem of their own, which later rules are compared with: a broken
        // rule's reach is not what it will be once fixed.
        let mut sound: Vec<&(String, Rule)> = Vec::new();
        for entry in &rules {
            let (label, rule) = entry;
            let mut own = Vec::new();
            if rule.name.trim().is_empty() {
                own.push((
                    "name".to_owned(),
                    "the name is empty: give every rule a name".to_owned(),
                ));
            } else if !names.insert(rule.name.as_str()) {
                own.push((
                    "name".to_owned(),
                    "the name is used twice: give each rule its own".to_owned(),
                ));
            }
            own.extend(rule_problems(rule));
            // A sampled rule lets the conversations outside its sample through.
            if let Some((earlier, _)) = sound.iter().find(|(_, earlier)| {
                earlier.sample.is_none() && catches_all_of(&earlier.when, &rule.when)
            }) {
                own.push((
                    "match".to_owned(),
                    format!(
                        "no event reaches this rule: {earlier} comes first and matches everything it would (the first matching rule wins); move it above, or narrow {earlier}"
                    ),
                ));
            }
            if own.is_empty() {
                sound.push(entry);
            }
            problems.extend(own.into_iter().map(|(field, message)| RuleProblem {
                rule: label.clone(),
                field,
                message,
            }));
        }
        if problems.is_empty() {
            Ok(Self {
                rules: rules.into_iter().map(|(_, rule)| rule).collect(),
            })
        } else {
            Err(RulesError {
                count: raw.len(),
                ..fail(problems)
            })
        }
    }
}

/// The rule's name, or `#<position>` when it has none.
fn rule_label(raw: &RawValue, index: usize) -> String {
    serde_json::from_str::<serde_json::Value>(raw.get())
        .ok()
        .and_then(|v| v.get("name")?.as_str().map(str::to_owned))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("#{}", index + 1))
}

/// The field serde names (`unknown field `x``, `missing field `x``), else the rule.
fn field_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| {
            let rest = text.strip_prefix(prefix)?;
            rest.split('`').next().map(str::to_owned)
        })
        // A code's own problems name their field (`wrapUpCode.predicted.minConfidence ...`).
        .or_else(|| {
            text.starts_with("wrapUpCode").then(|| {
                text.split(|c: char| c.is_whitespace() || c == ':')
                    .next()
                    .unwrap_or("wrapUpCode")
                    .to_owned()
            })
        })
        .unwrap_or_else(|| "rule".into())
}

/// serde's words without the values it quotes or the position (given apart).
fn shape_message(e: &serde_json::Error) -> String {
    let text = serde_problem(e);
    let text = text.split(" at line ").next().unwrap_or_default();
    if text.starts_with("unknown field") {
        format!(
            "{text}: a rule takes name, description, match, wrapUpCode, notes, tags, overwrite, observe and sample"
        )
    } else {
        text.to_owned()
    }
}

/// Line and column, in the whole document, of serde's error inside one rule's text.
fn position(document: &str, raw: &RawValue, e: &serde_json::Error) -> String {
    let offset = (raw.get().as_ptr() as usize).saturating_sub(document.as_ptr() as usize);
    let before = document.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    if e.line() <= 1 {
        format!(
            "line {line}, column {}",
            column + e.column().saturating_sub(1)
        )
    } else {
        format!("line {}, column {}", line + e.line() - 1, e.column())
    }
}

/// What is wrong with one parsed rule, field by field.
fn rule_problems(rule: &Rule) -> Vec<(String, String)> {
    let m = &rule.when;
    let mut problems = Vec::new();
    let topics: Vec<Topic> = match &m.topic {
        None => {
            problems.push((
                "match.topic".into(),
                "the rule names no topic, so it would act on every Genesys event: add \"topic\": \"acw\" (or \"user.end\", \"customer.end\", or a list)".into(),
            ));
            Topic::ALL.to_vec()
        }
        Some(names) => {
            for bad in names
                .values()
                .into_iter()
                .filter(|t| Topic::parse(t).is_none())
            {
                problems.push((
                    "match.topic".into(),
                    format!("unknown topic {bad:?}: use user.end, customer.end or acw"),
                ));
            }
            names
                .values()
                .into_iter()
                .filter_map(Topic::parse)
                .collect()
        }
    };
    for (field, values) in [
        ("queueId", &m.queue_id),
        ("userId", &m.user_id),
        ("divisionId", &m.division_id),
    ] {
        for bad in values
            .iter()
            .flat_map(OneOrMany::values)
            .filter(|v| uuid::Uuid::parse_str(v.trim()).is_err())
        {
            problems.push((
                format!("match.{field}"),
                format!(
                    "{bad:?} is not an id: events carry the {} id (a UUID), never its name; `rules check --resolve` shows whether an id exists",
                    &field[..field.len() - 2]
                ),
            ));
        }
    }
    for (field, values, allowed) in [
        ("mediaType", &m.media_type, &MEDIA_TYPES[..]),
        ("direction", &m.direction, &DIRECTIONS[..]),
        ("disconnectType", &m.disconnect_type, &DISCONNECT_TYPES[..]),
    ] {
        for bad in values
            .iter()
            .flat_map(OneOrMany::values)
            .filter(|v| !allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())))
        {
            problems.push((
                format!("match.{field}"),
                format!(
                    "Genesys events never carry {field} {bad:?}: use one of {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let conditions = [
        (EventField::QueueId, m.queue_id.is_some()),
        (EventField::UserId, m.user_id.is_some()),
        (EventField::DivisionId, m.division_id.is_some()),
        (EventField::DisconnectType, m.disconnect_type.is_some()),
    ];
    for (field, _) in conditions.into_iter().filter(|(_, set)| *set) {
        if !topics.is_empty() && !topics.iter().any(|t| t.carries(field)) {
            let names: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
            problems.push((
                format!("match.{}", field.name()),
                format!(
                    "this condition can never hold: {} events do not carry {}; drop it or add a topic that does",
                    names.join(" and "),
                    field.name()
                ),
            ));
        }
    }
    match (&rule.wrap_up_code, rule.observe) {
        (None, false) => problems.push((
            "wrapUpCode".into(),
            "the rule names no code: give it a wrapUpCode (an id, a name or predicted), or observe: true".into(),
        )),
        (Some(_), true) => problems.push((
            "observe".into(),
            "an observe rule writes nothing: drop its wrapUpCode, or drop observe".into(),
        )),
        _ => {}
    }
    if rule.observe {
        if topics.iter().any(|t| *t != Topic::Acw) {
            problems.push((
                "match.topic".into(),
                "observe compares Copilot's prediction with the code the agent chose, which only acw events carry: match topic acw".into(),
            ));
        }
        if rule.notes.is_some() || rule.tags.is_some() {
            problems.push((
                "notes".into(),
                "an observe rule writes nothing: drop its notes and tags".into(),
            ));
        }
    }
    if let Some(share) = rule.sample {
        if !(share > 0.0 && share <= 1.0) {
            problems.push((
                "sample".into(),
                format!(
                    "the share of conversations must be more than 0 and at most 1, got {share}"
                ),
            ));
        }
    }
    if let Asks::Write(wanted) = rule.asks() {
        if let Err(why) = wanted.check_size() {
            problems.push(("notes".into(), why));
        }
    }
    problems
}

/// Whether `earlier` matches every event and participant `later` matches: each of its
/// conditions is absent, or allows everything `later`'s allows.
fn catches_all_of(earlier: &Match, later: &Match) -> bool {
    let covers = |a: &Option<OneOrMany>, b: &Option<OneOrMany>| match (a, b) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => b
            .values()
            .iter()
            .all(|v| a.values().iter().any(|x| x.eq_ignore_ascii_case(v))),
    };
    let topics = |m: &Match| -> Option<OneOrMany> {
        // No topic: every topic (a problem of its own, but still what it matches).
        m.topic.clone()
    };
    let attributes = match (
        &earlier.participant_attributes,
        &later.participant_attributes,
    ) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => a
            .iter()
            .all(|(name, allowed)| covers(&Some(allowed.clone()), &b.get(name).cloned())),
    };
    covers(&topics(earlier), &topics(later))
        && covers(&earlier.queue_id, &later.queue_id)
        && covers(&earlier.user_id, &later.user_id)
        && covers(&earlier.division_id, &later.division_id)
        && covers(&earlier.media_type, &later.media_type)
        && covers(&earlier.direction, &later.direction)
        && covers(&earlier.disconnect_type, &later.disconnect_type)
        && covers(&earlier.current_wrap_up_code, &later.current_wrap_up_code)
        && earlier
            .wrap_up_missing
            .is_none_or(|want| later.wrap_up_missing == Some(want))
        && attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrapup::{CodeRef, Overwrite};
    use serde_json::json;

    const CODE: &str = "c0de0000-0000-4000-8000-000000000001";
    const QUEUE: &str = "9ee00000-0000-4000-8000-000000000001";

    fn problems(rules: serde_json::Value) -> Vec<RuleProblem> {
        RuleSet::parse(&rules.to_string(), "t")
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    /// `(rule, field)` of each problem.
    fn at(rules: serde_json::Value) -> Vec<(String, String)> {
        problems(rules)
            .into_iter()
            .map(|p| (p.rule, p.field))
            .collect()
    }

    fn pair(rule: &str, field: &str) -> (String, String) {
        (rule.to_owned(), field.to_owned())
    }

    #[test]
    fn rules_parse_wrapped_with_a_description_or_bare() {
        let rule = json!({"name": "a", "description": "why", "match": {"topic": ["user.end", "ACW"]}, "wrapUpCode": {"id": CODE}});
        let wrapped = json!({"description": "the sandbox's ids", "rules": [rule.clone()]});
        assert_eq!(
            RuleSet::parse(&wrapped.to_string(), "t")
                .unwrap()
                .rules
                .len(),
            1
        );
        assert_eq!(
            RuleSet::parse(&json!([rule]).to_string(), "t")
                .unwrap()
                .rules
                .len(),
            1
        );
    }

    #[test]
    fn syntax_and_shape_problems_name_the_line_and_column() {
        let syntax = "{\n  \"rules\": [\n    {\"name\": \"a\",, }\n  ]\n}";
        let e = RuleSet::parse(syntax, "rules.json").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(e.to_string().contains("rules.json"), "{e}");
        let unknown = format!(
            "{{\"rules\": [\n  {{\"name\": \"a\", \"match\": {{\"topic\": \"acw\"}}, \"wrapUpCode\": {{\"id\": \"{CODE}\"}}}},\n  {{\"name\": \"b\", \"colour\": 1, \"wrapUpCode\": {{\"id\": \"{CODE}\"}}}}]}}"
        );
        let e = RuleSet::parse(&unknown, "t").unwrap_err();
        let p = &e.problems[0];
        assert_eq!((p.rule.as_str(), p.field.as_str()), ("b", "colour"));
        assert!(p.message.contains("line 3"), "{p}");
        let bad_code = json!([{"name": "a", "match": {"topic": "acw"}, "wrapUpCode": {"id": "ININ-WRAP-UP-TIMEOUT"}}]);
        assert_eq!(at(bad_code), [pair("a", "wrapUpCode.id")]);
    }

    #[test]
    fn every_problem_is_found_at_once_named_by_rule_and_field() {
        let rules = json!([
            {"name": "no-topic", "wrapUpCode": {"id": CODE}},
            {"name": "bad-topic", "match": {"topic": "user.start"}, "wrapUpCode": {"id": CODE}},
            {"name": "", "match": {"topic": "acw", "queueId": "Sales"}, "wrapUpCode": {"id": CODE}},
            {"name": "phone", "match": {"topic": "user.end", "mediaType": "PHONE", "direction": "inbound", "disconnectType": "hangup"}, "wrapUpCode": {"id": CODE}},
            {"name": "bad-topic", "match": {"topic": "acw", "userId": "someone"}, "wrapUpCode": {"id": CODE}}
        ]);
        assert_eq!(
            at(rules),
            [
                pair("no-topic", "match.topic"),
                pair("bad-topic", "match.topic"),
                pair("#3", "name"),
                pair("#3", "match.queueId"),
                pair("phone", "match.mediaType"),
                pair("phone", "match.disconnectType"),
                pair("bad-topic", "name"),
                pair("bad-topic", "match.userId"),
            ]
        );
        let p = problems(
            json!([{"name": "x", "match": {"topic": "acw", "queueId": "Sales"}, "wrapUpCode": {"id": CODE}}]),
        );
        assert!(
            p[0].message.contains("\"Sales\"") && p[0].message.contains("queue id"),
            "{}",
            p[0]
        );
        let p = problems(
            json!([{"name": "x", "match": {"topic": "user.end", "mediaType": "PHONE"}, "wrapUpCode": {"id": CODE}}]),
        );
        assert!(
            p[0].message.contains("VOICE"),
            "the fix lists the values: {}",
            p[0]
        );
        // Values compare ignoring case, as events are matched.
        assert!(problems(json!([{"name": "x", "match": {"topic": "user.end", "mediaType": ["voice", "Callback"], "disconnectType": "endpoint"}, "wrapUpCode": {"id": CODE}}])).is_empty());
    }

    #[test]
    fn conditions_no_topic_of_the_rule_carries_are_refused() {
        for (when, field) in [
            (
                json!({"topic": "acw", "divisionId": QUEUE}),
                "match.divisionId",
            ),
            (
                json!({"topic": "acw", "disconnectType": "PEER"}),
                "match.disconnectType",
            ),
            (
                json!({"topic": "customer.end", "queueId": QUEUE}),
                "match.queueId",
            ),
            (
                json!({"topic": "customer.end", "userId": QUEUE}),
                "match.userId",
            ),
        ] {
            let rules = json!([{"name": "r1", "match": when, "wrapUpCode": {"name": "Sale"}}]);
            assert_eq!(at(rules), [pair("r1", field)], "{when}");
        }
        for when in [
            json!({"topic": ["acw", "user.end"], "divisionId": QUEUE}),
            json!({"topic": "acw", "queueId": QUEUE, "userId": QUEUE}),
            json!({"topic": "customer.end", "disconnectType": "ENDPOINT"}),
        ] {
            let rules = json!([{"name": "r1", "match": when, "wrapUpCode": {"name": "Sale"}}]);
            assert!(problems(rules).is_empty(), "{when}");
        }
    }

    #[test]
    fn a_rule_behind_an_earlier_catch_all_is_unreachable() {
        let rule = |name: &str, when: serde_json::Value| json!({"name": name, "match": when, "wrapUpCode": {"id": CODE}});
        let shadowed = json!([
            rule("all-acw", json!({"topic": "acw"})),
            rule("sales-acw", json!({"topic": "acw", "queueId": QUEUE})),
        ]);
        let p = problems(shadowed);
        assert_eq!(
            (p[0].rule.as_str(), p[0].field.as_str()),
            ("sales-acw", "match")
        );
        assert!(p[0].message.contains("all-acw"), "{}", p[0]);
        // The narrow rule first is the right order; other topics or values are not shadowed.
        for rules in [
            json!([
                rule("sales-acw", json!({"topic": "acw", "queueId": QUEUE})),
                rule("all-acw", json!({"topic": "acw"}))
            ]),
            json!([
                rule("acw", json!({"topic": "acw"})),
                rule("user-end", json!({"topic": "user.end"}))
            ]),
            json!([
                rule("voice", json!({"topic": "acw", "mediaType": "VOICE"})),
                rule(
                    "voice-or-email",
                    json!({"topic": "acw", "mediaType": ["VOICE", "EMAIL"]})
                )
            ]),
            json!([
                rule("missing", json!({"topic": "acw", "wrapUpMissing": true})),
                rule(
                    "timeout",
                    json!({"topic": "acw", "currentWrapUpCode": "ININ-WRAP-UP-TIMEOUT"})
                )
            ]),
        ] {
            assert!(problems(rules.clone()).is_empty(), "{rules}");
        }
        let wider_first = json!([
            rule(
                "voice-or-email",
                json!({"topic": ["acw", "user.end"], "mediaType": ["VOICE", "EMAIL"]})
            ),
            rule("voice", json!({"topic": "acw", "mediaType": "voice"})),
        ]);
        assert_eq!(at(wider_first), [pair("voice", "match")]);
    }

    #[test]
    fn rules_take_codes_by_name_and_an_overwrite_mode() {
        let set = RuleSet::parse(
            r#"[{"name": "r", "match": {"topic": "acw"}, "wrapUpCode": {"name": " Sale "}, "overwrite": "system"}]"#,
            "t",
        )
        .unwrap();
        let Asks::Write(want) = set.rules[0].asks() else {
            panic!("a rule with a code asks for a write");
        };
        assert_eq!(want.code, CodeRef::Name("Sale".into()));
        assert_eq!(want.overwrite, Overwrite::System);
        let e = RuleSet::parse(
            r#"[{"name": "r", "match": {"topic": "acw"}, "wrapUpCode": {"name": ""}}]"#,
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = RuleSet::parse(
            &json!([{"name": "r", "match": {"topic": "acw"}, "wrapUpCode": {"id": CODE, "name": "x"}}]).to_string(),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
    }
}
