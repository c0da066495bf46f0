//! Do the codes and queues a rule set names exist in this Genesys org? Asked with the
//! function's own credentials by `rules check --resolve` and by `doctor` (`rule_codes`).
//! A code by name must be unambiguous: of two codes of one name in one division (or both for
//! all divisions), a conversation gets the one its queue offers, or none.

use super::check::RuleProblem;
use super::matching::Rule;
use crate::clock::Deadline;
use crate::genesys::models::WrapupCode;
use crate::genesys::{ErrorClass, GenesysClient, GenesysError};
use crate::wrapup::CodeRef;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Every code and queue of `rules` that does not exist, or cannot be told apart; and what
/// could be verified, for a summary.
pub(crate) async fn resolve(
    client: &GenesysClient,
    rules: &[Rule],
    deadline: Deadline,
) -> (Vec<RuleProblem>, Vec<String>) {
    let mut problems = Vec::new();
    let mut found = Vec::new();
    let problem = |rule: &Rule, field: &str, message: String| RuleProblem {
        rule: rule.name.clone(),
        field: field.to_owned(),
        message,
    };
    let mut all: Option<Result<std::sync::Arc<Vec<WrapupCode>>, GenesysError>> = None;
    for rule in rules {
        // A predicted code's fallback is resolved as any code; an observation names none.
        let (code, field) = match &rule.wrap_up_code {
            Some(CodeRef::Predicted(p)) => match p.fallback.as_deref() {
                Some(fallback) => (fallback, "wrapUpCode.predicted.fallback"),
                None => continue,
            },
            Some(code) => (code, "wrapUpCode"),
            None => continue,
        };
        match code {
            CodeRef::Id(id) => match client.get_wrapup_code(*id, deadline).await {
                Ok(code) => found.push(format!("{}: {}", rule.name, describe(&code))),
                Err(e) => problems.push(problem(
                    rule,
                    &format!("{field}.id"),
                    unverified(&e, &format!("no wrap-up code has id {id} in this org: copy the id from Admin > Wrap-up Codes, or name the code")),
                )),
            },
            CodeRef::Name(name) => {
                if all.is_none() {
                    all = Some(client.all_codes(false, deadline).await);
                }
                let field = format!("{field}.name");
                match all.as_ref() {
                    Some(Ok(codes)) => match named(codes, name) {
                        Named::Missing => problems.push(problem(
                            rule,
                            &field,
                            format!("no wrap-up code is named {name:?} in this org: check the spelling (case and surrounding spaces do not matter)"),
                        )),
                        Named::Twins(division, ids) => problems.push(problem(
                            rule,
                            &field,
                            format!(
                                "{} codes are named {name:?} in division {division} ({}): a conversation there gets the one its queue offers, else wrapup_code_ambiguous; name the code by id",
                                ids.len(),
                                ids.join(", ")
                            ),
                        )),
                        Named::Found(codes) => found.push(format!(
                            "{}: {name:?} ({})",
                            rule.name,
                            codes.iter().map(|c| describe(c)).collect::<Vec<_>>().join("; ")
                        )),
                    },
                    Some(Err(e)) => problems.push(problem(
                        rule,
                        &field,
                        unverified(e, "the codes could not be listed"),
                    )),
                    None => {}
                }
            }
            // A fallback is never itself a prediction (refused at load).
            CodeRef::Predicted(_) => {}
        }
    }
    let queues: BTreeMap<Uuid, &Rule> = rules
        .iter()
        .flat_map(|rule| {
            rule.when
                .queue_id
                .iter()
                .flat_map(|q| q.values())
                .filter_map(|q| Uuid::parse_str(q.trim()).ok())
                .map(move |q| (q, rule))
        })
        .collect();
    for (queue, rule) in queues {
        let missing =
            format!("no queue has id {queue} in this org: copy the id from Admin > Queues");
        match client.queue_codes(queue, deadline).await {
            Ok(codes) if !codes.is_empty() => {}
            // What Genesys answers for a queue it does not have is undocumented (404 or an
            // empty listing): a queue that offers no code is worth a look either way.
            Ok(_) => problems.push(problem(
                rule,
                "match.queueId",
                format!("queue {queue} offers no wrap-up codes, or does not exist in this org: check the id in Admin > Queues and its wrap-up codes"),
            )),
            Err(e) => problems.push(problem(rule, "match.queueId", unverified(&e, &missing))),
        }
    }
    (problems, found)
}

/// The words for a failed lookup: `missing` when Genesys says there is no such thing, else why
/// it could not be verified (a permission, or Genesys unreachable).
fn unverified(e: &GenesysError, missing: &str) -> String {
    match e.class {
        ErrorClass::NotFound => missing.to_owned(),
        ErrorClass::Forbidden => format!(
            "could not be verified: {}; give the OAuth client's role routing:wrapupCode:view and routing:queue:view",
            e.quoted()
        ),
        _ => format!("could not be verified: {e}"),
    }
}

/// What a name means across the org's divisions.
enum Named<'a> {
    Missing,
    /// One code per division (or for all divisions): the conversation's division picks.
    Found(Vec<&'a WrapupCode>),
    /// Several codes of the name in one division: the division, and their ids.
    Twins(String, Vec<String>),
}

fn named<'a>(codes: &'a [WrapupCode], name: &str) -> Named<'a> {
    let wanted = name.trim().to_lowercase();
    let mut by_division: BTreeMap<String, Vec<&WrapupCode>> = BTreeMap::new();
    for code in codes.iter().filter(|c| {
        c.name
            .as_deref()
            .is_some_and(|n| n.trim().to_lowercase() == wanted)
    }) {
        by_division.entry(division(code)).or_default().push(code);
    }
    if let Some((division, twins)) = by_division.iter().find(|(_, c)| c.len() > 1) {
        let ids: BTreeSet<String> = twins.iter().map(|c| c.id.clone()).collect();
        return Named::Twins(division.clone(), ids.into_iter().collect());
    }
    let found: Vec<&WrapupCode> = by_division.into_values().flatten().collect();
    if found.is_empty() {
        Named::Missing
    } else {
        Named::Found(found)
    }
}

/// A code's division, `*` for all divisions.
fn division(code: &WrapupCode) -> String {
    code.division
        .as_ref()
        .and_then(|d| d.id.as_deref())
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or("*")
        .to_owned()
}

fn describe(code: &WrapupCode) -> String {
    format!(
        "{} ({}) in division {}",
        code.name.as_deref().unwrap_or("?"),
        code.id,
        division(code)
    )
}
