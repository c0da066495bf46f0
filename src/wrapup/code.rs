//! Which code a request means (by id, or by name among the org's codes) and whether it may be
//! used on this conversation (its division).

use super::outcome::{Reason, Rejection};
use crate::genesys::models::{Conversation, WrapupCode};

/// The codes a name can mean for this conversation.
#[derive(Debug, PartialEq)]
pub enum ByName<'a> {
    /// Exactly one code fits.
    Found(&'a WrapupCode),
    /// No code has that name.
    Missing,
    /// Several codes of that name, equally good for this conversation.
    Ambiguous(Vec<&'a WrapupCode>),
    /// Several codes of that name, none in the conversation's divisions or for all divisions.
    Elsewhere(Vec<&'a WrapupCode>),
}

/// Codes named `name` (trimmed, ignoring case; never a prefix or wildcard). A code in one of
/// the conversation's divisions beats one for all divisions (`*`/unset).
pub fn codes_named<'a>(
    codes: &'a [WrapupCode],
    name: &str,
    conversation: &Conversation,
) -> ByName<'a> {
    let wanted = name.trim().to_lowercase();
    let matches: Vec<&WrapupCode> = codes
        .iter()
        .filter(|c| {
            c.name
                .as_deref()
                .is_some_and(|n| n.trim().to_lowercase() == wanted)
        })
        .collect();
    let division_of = |c: &WrapupCode| {
        c.division
            .as_ref()
            .and_then(|d| d.id.as_deref())
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != "*")
            .map(str::to_owned)
    };
    let in_conversation: Vec<&WrapupCode> = matches
        .iter()
        .copied()
        .filter(|c| division_of(c).is_some_and(|d| in_divisions(conversation, &d)))
        .collect();
    let everywhere: Vec<&WrapupCode> = matches
        .iter()
        .copied()
        .filter(|c| division_of(c).is_none())
        .collect();
    let best = if !in_conversation.is_empty() {
        in_conversation
    } else if !everywhere.is_empty() {
        everywhere
    } else if matches.len() > 1 {
        return ByName::Elsewhere(matches);
    } else {
        matches
    };
    match best.as_slice() {
        [] => ByName::Missing,
        [one] => ByName::Found(one),
        _ => ByName::Ambiguous(best),
    }
}

fn in_divisions(conversation: &Conversation, division: &str) -> bool {
    conversation
        .divisions
        .iter()
        .filter_map(|m| m.division.as_ref()?.id.as_deref())
        .any(|id| id.eq_ignore_ascii_case(division))
}

/// `name (id), …` of codes, for messages.
pub(crate) fn list_codes(codes: &[&WrapupCode]) -> String {
    codes
        .iter()
        .map(|c| {
            let division = c
                .division
                .as_ref()
                .and_then(|d| d.id.as_deref())
                .unwrap_or("*");
            format!(
                "{} in division {division}",
                named(Some(&c.id), c.name.as_deref())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The code's division must be unset/`*` or one of the conversation's divisions.
pub fn check_division(conversation: &Conversation, code: &WrapupCode) -> Result<(), Rejection> {
    let Some(division) = code.division.as_ref() else {
        return Ok(());
    };
    let code_division = division.id.as_deref().map(str::trim).unwrap_or("");
    if code_division.is_empty() || code_division == "*" {
        return Ok(());
    }
    if in_divisions(conversation, code_division) {
        return Ok(());
    }
    let listed: Vec<String> = conversation
        .divisions
        .iter()
        .filter_map(|m| m.division.as_ref())
        .map(|d| named(d.id.as_deref(), d.name.as_deref()))
        .collect();
    Err(Rejection::new(
        Reason::DivisionMismatch,
        format!(
            "wrap-up code {} is in division {}, which is not one of conversation {}'s divisions [{}]",
            named(Some(&code.id), code.name.as_deref()),
            named(division.id.as_deref(), division.name.as_deref()),
            conversation.id,
            listed.join(", ")
        ),
    ))
}

fn named(id: Option<&str>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(id), Some(name)) => format!("{id} ({name})"),
        (Some(id), None) => id.to_owned(),
        (None, Some(name)) => format!("({name})"),
        (None, None) => "(unknown)".to_owned(),
    }
}
