//! The code step: the code a request or rule names, read from Genesys. By id it is one cached
//! read; by name it is looked up among every code of the org, and a tie between codes of one
//! name is broken by the codes the participant may use.

use super::trace::{Stop, Trace};
use crate::clock::Deadline;
use crate::genesys::models::{Conversation, WrapupCode};
use crate::genesys::{ErrorClass, GenesysClient};
use crate::wrapup::{codes_named, list_codes, ByName, CodeRef, Reason, Target};

/// The code a request or rule names: by id (cached), or by name from the org's codes (a name
/// not found reads them again, at most once a minute); a tie between codes of one name is
/// broken by the participant's own codes, else refused.
pub(super) async fn find(
    genesys: &GenesysClient,
    code: &CodeRef,
    conversation: &Conversation,
    target: &Target,
    deadline: Deadline,
    trace: &mut Trace,
) -> Result<WrapupCode, Stop> {
    let name = match code {
        CodeRef::Id(id) => {
            return genesys
                .get_wrapup_code(*id, deadline)
                .await
                .map_err(|e| trace.genesys(e, Some(Reason::WrapupCodeNotFound)))
        }
        CodeRef::Name(name) => name,
        // A prediction is picked before (`predicted.rs`); a fallback never is one.
        CodeRef::Predicted(_) => {
            return Err(Stop::because(
                Reason::InvalidEvent,
                "a predicted code's fallback must be an id or a name",
            ))
        }
    };
    let mut codes = genesys
        .all_codes(false, deadline)
        .await
        .map_err(|e| trace.genesys(e, None))?;
    if codes_named(&codes, name, conversation) == ByName::Missing {
        codes = genesys
            .all_codes(true, deadline)
            .await
            .map_err(|e| trace.genesys(e, None))?;
    }
    let tied: Vec<WrapupCode> = match codes_named(&codes, name, conversation) {
        ByName::Found(code) => return Ok(code.clone()),
        ByName::Missing => {
            return Err(Stop::because(
                Reason::WrapupCodeNotFound,
                format!("no wrap-up code is named {name:?}"),
            ))
        }
        ByName::Elsewhere(codes) => {
            return Err(Stop::because(
                Reason::DivisionMismatch,
                format!(
                    "no wrap-up code named {name:?} is in conversation {}'s divisions or in all divisions; codes of that name: {}",
                    conversation.id,
                    list_codes(&codes)
                ),
            ))
        }
        ByName::Ambiguous(codes) => codes.into_iter().cloned().collect(),
    };
    let allowed = match genesys
        .participant_codes(trace.conversation_id, target.participant_id, deadline)
        .await
    {
        Ok(allowed) => allowed,
        Err(e) if matches!(e.class, ErrorClass::Transient(_)) => return Err(trace.genesys(e, None)),
        // Refused or gone: the tie stands.
        Err(_) => Vec::new(),
    };
    let mut left = tied.iter().filter(|c| {
        allowed
            .iter()
            .any(|a| a.id.trim().eq_ignore_ascii_case(c.id.trim()))
    });
    match (left.next(), left.next()) {
        (Some(one), None) => Ok(one.clone()),
        _ => Err(Stop::because(
            Reason::WrapupCodeAmbiguous,
            format!(
                "several wrap-up codes are named {name:?} for conversation {}: {}; name the code by id",
                conversation.id,
                list_codes(&tied.iter().collect::<Vec<_>>())
            ),
        )),
    }
}
