//! One request from start to finish: read, decide, write. Everything it needs comes in as
//! arguments; it knows nothing of Lambda, HTTP or which trigger asked.

use crate::clock::Deadline;
use crate::error::{Transient, TransientKind};
use crate::genesys::models::Conversation;
use crate::genesys::{ErrorClass, GenesysClient, GenesysError};
use crate::wrapup::decision::{
    check_division, is_already_applied, is_ended, select_target, select_target_preferring,
};
use crate::wrapup::rules::{NativeEvent, ParticipantFacts, RuleSet, Topic};
use crate::wrapup::{ApplyRequest, Outcome, Reason, Status, Target};
use std::time::Duration;

/// What a caller is told to wait when the conversation has not ended yet.
pub const NOT_ENDED_RETRY_AFTER: Duration = Duration::from_secs(30);

/// An apply request: the caller named the code.
pub async fn apply(
    genesys: &GenesysClient,
    request: &ApplyRequest,
    deadline: Deadline,
) -> Result<Outcome, Transient> {
    let (conversation, read_correlation) = match genesys
        .get_conversation(request.conversation_id, deadline)
        .await
    {
        Ok(found) => found,
        Err(e) => {
            return permanent(e, Reason::ConversationNotFound).map(|o| with_request(o, request))
        }
    };
    ensure_ended(&conversation, read_correlation.clone())?;
    let target = match select_target(&conversation, request.participant_id) {
        Ok(t) => t,
        Err(r) => {
            return Ok(with_request(
                Outcome::rejected(r.reason, r.message),
                request,
            ))
        }
    };
    finish(
        genesys,
        request,
        &conversation,
        &target,
        read_correlation,
        deadline,
    )
    .await
}

/// A Genesys event: the first rule that matches names the code, then the same checks as an
/// apply request. No rule can match → `skipped` without a Genesys call.
pub async fn apply_native(
    genesys: &GenesysClient,
    rules: &RuleSet,
    event: &NativeEvent,
    deadline: Deadline,
) -> Result<Outcome, Transient> {
    let conversation_id = event.conversation_id.hyphenated().to_string();
    let skipped = |why: String| {
        let mut o = Outcome::skipped(Reason::NoRule, why);
        o.conversation_id = Some(conversation_id.clone());
        o
    };
    let mut candidates = rules.candidates(&event.facts).peekable();
    if candidates.peek().is_none() {
        return Ok(skipped(format!(
            "no wrap-up rule matches this {} event",
            event.topic.as_str()
        )));
    }
    let (conversation, read_correlation) = match genesys
        .get_conversation(event.conversation_id, deadline)
        .await
    {
        Ok(found) => found,
        Err(e) => {
            return permanent(e, Reason::ConversationNotFound).map(|mut o| {
                o.conversation_id = Some(conversation_id.clone());
                o
            })
        }
    };
    // customer.end names the customer: the latest agent takes the wrap-up.
    let participant = match event.topic {
        Topic::CustomerEnd => None,
        Topic::UserEnd | Topic::Acw => event.participant_id,
    };
    let target = match select_target_preferring(&conversation, participant, event.session_id) {
        Ok(t) => t,
        Err(r) => {
            let mut o = Outcome::rejected(r.reason, r.message);
            o.conversation_id = Some(conversation_id);
            return Ok(o);
        }
    };
    let facts = ParticipantFacts {
        current_wrap_up_code: target.final_code().map(str::to_owned),
        attributes: target.attributes.clone(),
    };
    let Some(rule) = candidates.find(|r| r.matches_participant(&facts)) else {
        return Ok(skipped(format!(
            "no wrap-up rule matches this {} event and participant {}",
            event.topic.as_str(),
            target.participant_id
        )));
    };
    let request = ApplyRequest {
        conversation_id: event.conversation_id,
        wrap_up_code_id: rule.wrap_up_code.id,
        participant_id: Some(target.participant_id),
        notes: rule.notes.clone(),
        tags: rule.tags.clone(),
        org_id: event.org_id,
    };
    ensure_ended(&conversation, read_correlation.clone())?;
    let mut outcome = finish(
        genesys,
        &request,
        &conversation,
        &target,
        read_correlation,
        deadline,
    )
    .await?;
    outcome.rule = Some(rule.name.clone());
    Ok(outcome)
}

fn ensure_ended(
    conversation: &Conversation,
    correlation_id: Option<String>,
) -> Result<(), Transient> {
    if is_ended(conversation) {
        return Ok(());
    }
    Err(Transient {
        kind: TransientKind::NotEnded,
        message: format!(
            "conversation {} has not ended yet (no endTime)",
            conversation.id
        ),
        retry_after: Some(NOT_ENDED_RETRY_AFTER),
        correlation_id,
    })
}

fn with_request(mut o: Outcome, request: &ApplyRequest) -> Outcome {
    o.conversation_id = Some(request.conversation_id.hyphenated().to_string());
    o.wrap_up_code_id = Some(request.wrap_up_code_id.hyphenated().to_string());
    o
}

/// The code's existence and division, idempotency, and the write.
async fn finish(
    genesys: &GenesysClient,
    request: &ApplyRequest,
    conversation: &Conversation,
    target: &Target,
    read_correlation: Option<String>,
    deadline: Deadline,
) -> Result<Outcome, Transient> {
    let with_target = |o: Outcome| {
        let mut o = with_request(o, request);
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
    if let Err(r) = check_division(conversation, &code) {
        return Ok(with_code(with_target(Outcome::rejected(
            r.reason, r.message,
        ))));
    }
    if is_already_applied(target, request) {
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
                t.message
                    .push_str("; the write's result is unknown, so the retry re-reads the conversation before writing");
            }
            return Err(t);
        }
    };
    outcome.details.correlation_id = e.correlation_id;
    outcome.details.context_id = e.context_id;
    Ok(outcome)
}
