//! Whether to write at all: the code may already be there (`already_applied`), or `overwrite`
//! may keep what the agent chose.

use super::participant::same_id;
use super::request::{Overwrite, Wanted};
use super::target::Target;
use uuid::Uuid;

/// The current, non-provisional wrap-up already has `code`, and the request's notes/tags (when
/// given) are already there too.
pub fn is_already_applied(target: &Target, code: Uuid, want: &Wanted) -> bool {
    let Some(current) = target.current.as_ref() else {
        return false;
    };
    let code_matches = target.final_code().is_some_and(|c| same_id(c, code));
    let notes_match = want
        .notes
        .as_deref()
        .is_none_or(|n| current.notes.as_deref() == Some(n));
    let tags_match = want.tags.as_ref().is_none_or(|wanted| {
        let mut wanted = wanted.clone();
        let mut have = current.tags.clone().unwrap_or_default();
        wanted.sort();
        wanted.dedup();
        have.sort();
        have.dedup();
        wanted == have
    });
    code_matches && notes_match && tags_match
}

/// What `overwrite` makes of the code already there (asked after "already applied").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Nothing to keep: write.
    No,
    /// Keep the agent's code: `skipped`/`code_present`.
    Yes(String),
    /// The agent is still in after-call work and has not chosen yet: retry later.
    NotYet(String),
}

/// `always` writes; `never` keeps any final code; `system` keeps all but system codes
/// (`ININ-…`). With `never` or `system` an agent still in after-call work has not chosen yet.
pub fn keep_current(target: &Target, overwrite: Overwrite) -> Keep {
    if overwrite == Overwrite::Always {
        return Keep::No;
    }
    if target.acw_pending {
        return Keep::NotYet(format!(
            "the agent of participant {} is still in after-call work (overwrite={} waits for their choice)",
            target.participant_id,
            overwrite.as_str()
        ));
    }
    match target.final_code() {
        None => Keep::No,
        Some(code) if overwrite == Overwrite::System && is_system_code(code) => Keep::No,
        Some(code) => Keep::Yes(format!(
            "participant {} already has wrap-up code {code}; overwrite={} keeps it",
            target.participant_id,
            overwrite.as_str()
        )),
    }
}

/// Codes Genesys sets itself, e.g. `ININ-WRAP-UP-TIMEOUT`.
fn is_system_code(code: &str) -> bool {
    code.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("ININ-"))
}
