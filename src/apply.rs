//! One apply request from start to finish: read, decide, write. Everything it needs comes in
//! as arguments; it knows nothing of Lambda, HTTP or which trigger asked.

use crate::clock::Deadline;
use crate::error::{Transient, TransientKind};
use crate::genesys::{ErrorClass, GenesysClient, GenesysError};
use crate::wrapup::decision::{check_division, is_already_applied, is_ended, select_target};
use crate::wrapup::{ApplyRequest, Outcome, Reason, Status};
use std::time::Duration;

/// What a caller is told to wait when the conversation has not ended yet.
pub const NOT_ENDED_RETRY_AFTER: Duration = Duration::from_secs(30);

pub async fn apply(
    genesys: &GenesysClient,
    request: &ApplyRequest,
    deadline: Deadline,
) -> Result<Outcome, Transient> {
    let conversation_id = request.conversation_id.hyphenated().to_string();
    let code_id = request.wrap_up_code_id.hyphenated().to_string();
    let base = |mut o: Outcome| {
        o.conversation_id = Some(conversation_id.clone());
        o.wrap_up_code_id = Some(code_id.clone());
        o
    };

    let (conversation, read_correlation) = match genesys
        .get_conversation(request.conversation_id, deadline)
        .await
    {
        Ok(found) => found,
        Err(e) => return permanent(e, Reason::ConversationNotFound).map(base),
    };
    if !is_ended(&conversation) {
        return Err(Transient {
            kind: TransientKind::NotEnded,
            message: format!("conversation {conversation_id} has not ended yet (no endTime)"),
            retry_after: Some(NOT_ENDED_RETRY_AFTER),
            correlation_id: read_correlation,
        });
    }
    let target = match select_target(&conversation, request.participant_id) {
        Ok(t) => t,
        Err(r) => return Ok(base(Outcome::rejected(r.reason, r.message))),
    };
    let with_target = |o: Outcome| {
        let mut o = base(o);
        o.participant_id = Some(target.participant_id.hyphenated().to_string());
        o.communication_id = Some(target.communication_id.hyphenated().to_string());
        o.details.media = Some(target.media.as_str());
        o.details.user_id = target.user_id.clone();
        o.details.queue_id = target.queue_id.clone();
        o
    };

    let code = match genesys
        .get_wrapup_code(request.wrap_up_code_id, deadline)
        .await
    {
        Ok(code) => code,
        Err(e) => return permanent(e, Reason::WrapupCodeNotFound).map(with_target),
    };
    let with_code = |mut o: Outcome| {
        o.details.wrap_up_code_name = code.name.clone();
        o.details.division_id = code.division.as_ref().and_then(|d| d.id.clone());
        o
    };
    if let Err(r) = check_division(&conversation, &code) {
        return Ok(with_code(with_target(Outcome::rejected(
            r.reason, r.message,
        ))));
    }
    if is_already_applied(&target, request) {
        let mut o = with_code(with_target(Outcome::new(Status::AlreadyApplied)));
        o.details.correlation_id = read_correlation;
        return Ok(o);
    }

    let input = request.wrapup_input(None);
    match genesys
        .post_wrapup(
            target.media,
            request.conversation_id,
            target.participant_id,
            target.communication_id,
            &input,
            deadline,
        )
        .await
    {
        Ok(correlation) => {
            let mut o = with_code(with_target(Outcome::new(Status::Applied)));
            o.details.correlation_id = correlation;
            Ok(o)
        }
        // A 404 here means the participant or communication went away: Genesys's own words say more.
        Err(e) => permanent(e, Reason::GenesysRejected).map(|o| with_code(with_target(o))),
    }
}

/// A rejected outcome for a permanent Genesys failure, or the transient error to hand back.
fn permanent(e: GenesysError, not_found: Reason) -> Result<Outcome, Transient> {
    let mut outcome = match e.class {
        ErrorClass::NotFound if not_found != Reason::GenesysRejected => {
            Outcome::rejected(not_found, e.to_string())
        }
        ErrorClass::NotFound | ErrorClass::Rejected => {
            Outcome::rejected(Reason::GenesysRejected, e.quoted())
        }
        ErrorClass::Forbidden => Outcome::rejected(
            Reason::Forbidden,
            format!(
                "{}; the OAuth client's role lacks the permission or division for this call",
                e.quoted()
            ),
        ),
        ErrorClass::Transient(_) => {
            let mut t = e
                .as_transient()
                .unwrap_or_else(|| Transient::new(TransientKind::Upstream, e.to_string()));
            if e.write_unknown {
                t.message.push_str(
                    "; the write's result is unknown, so the retry re-reads the conversation before writing",
                );
            }
            return Err(t);
        }
    };
    outcome.details.correlation_id = e.correlation_id;
    outcome.details.context_id = e.context_id;
    Ok(outcome)
}
