//! One request from start to finish, whatever asked for it. Apply requests and Genesys events
//! go through the same steps in the same order:
//!
//! rules (Genesys events: drop those the event rules out, `acw` by its code too; no call) →
//! org → lease (with `WRAPUP_LOCK_TABLE`) → read the conversation → pick the target → has the agent's part ended? → participant
//! conditions (Genesys events: pick the rule) → code (by id or name) → division → already
//! applied? → overwrite → one [`Write`], sent by `GenesysClient::send` (a dry run stops right
//! before it).
//!
//! Rules come before the org: a Genesys event no rule can match is `skipped` whatever its org,
//! and only one a rule could act on is refused as `unknown_org`. The lease comes right before
//! the read: a request decided without calling Genesys takes none, and one that reads holds it
//! until its outcome is known, so two instances never decide on the same conversation at once.
//!
//! Every step either passes what it learned on or stops with a [`Stop`]; the outcome is then
//! built once, in [`Trace::outcome`], from everything learned so far. No Lambda, no HTTP here.

use crate::clock::Deadline;
use crate::error::{Transient, TransientKind};
use crate::genesys::models::{Conversation, WrapupCode, WrapupInput};
use crate::genesys::{ErrorClass, GenesysClient, GenesysError, Orgs, Write};
use crate::lease::{Lease, Leases};
use crate::wrapup::rules::{ParticipantFacts, Rule, RuleSet};
use crate::wrapup::{
    check_division, codes_named, is_already_applied, keep_current, list_codes, select_target,
    supervisor, unended_leg, ApplyRequest, ByName, CodeRef, Details, GenesysEvent, Keep, Outcome,
    Reason, Request, Status, Target, Topic, Wanted,
};
use std::time::Duration;
use uuid::Uuid;

/// What a caller is told to wait when the agent's part has not ended yet.
const NOT_ENDED_RETRY_AFTER: Duration = Duration::from_secs(30);
/// What a Genesys event is told to wait when the rules do not load (a fix is a deploy away).
const RULES_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The request the steps run: a decided one never reaches them.
#[derive(Clone, Copy)]
enum Asked<'a> {
    Apply(&'a ApplyRequest),
    Event(&'a GenesysEvent),
}

/// The conversation's lease to take before reading it: whose table, and for whom (the
/// invocation's request id, so the holder can be found in the logs).
#[derive(Clone, Copy)]
pub(crate) struct Exclusive<'a> {
    pub(crate) leases: &'a Leases,
    pub(crate) holder: &'a str,
}

/// Why the steps stopped before a write.
enum Stop {
    /// A final outcome: rejected or skipped (the reason says which), and why in words.
    Final(Reason, String),
    /// Trouble the platform should retry.
    Retry(Transient),
}

impl Stop {
    fn because(reason: Reason, message: impl Into<String>) -> Self {
        Self::Final(reason, message.into())
    }

    /// The agent's part has not ended (or the agent has not chosen yet): retry later.
    fn not_ended(message: String, correlation_id: Option<String>) -> Self {
        Self::Retry(Transient {
            retry_after: Some(NOT_ENDED_RETRY_AFTER),
            correlation_id,
            ..Transient::new(TransientKind::NotEnded, message)
        })
    }
}

/// Everything learned on the way, from which the outcome is built.
struct Trace {
    conversation_id: Uuid,
    target: Option<Target>,
    /// The code on the participant before this request: the read's, else an `acw` event's.
    current_code: Option<String>,
    code_id: Option<Uuid>,
    code: Option<WrapupCode>,
    rule: Option<String>,
    /// Dry run: the write a real run would have sent.
    write: Option<Box<Write>>,
    correlation_id: Option<String>,
    context_id: Option<String>,
    /// The conversation's lease while this request holds it.
    lease: Option<Lease>,
    /// A write whose result is unknown: the lease is kept until it expires, so no duplicate
    /// reads the conversation before Genesys shows what the write did.
    keep_lease: bool,
}

impl Trace {
    /// A Genesys failure: a rejection naming Genesys's own words, or the retry it calls for.
    /// `not_found` is the reason a 404 means at this step (`None`: Genesys refused the write).
    fn genesys(&mut self, e: GenesysError, not_found: Option<Reason>) -> Stop {
        self.correlation_id = e.correlation_id.clone().or(self.correlation_id.take());
        self.context_id = e.context_id.clone();
        match (&e.class, not_found) {
            (ErrorClass::NotFound, Some(reason)) => Stop::because(reason, e.to_string()),
            (ErrorClass::NotFound | ErrorClass::Rejected, _) => {
                Stop::because(Reason::GenesysRejected, e.quoted())
            }
            (ErrorClass::Forbidden, _) => Stop::because(
                Reason::Forbidden,
                format!(
                    "{}; the OAuth client's role lacks the permission or division for this call",
                    e.quoted()
                ),
            ),
            (ErrorClass::Transient(kind), _) => {
                let mut message = e.to_string();
                if e.write_unknown {
                    message.push_str("; the write's result is unknown, so the retry re-reads the conversation before writing");
                }
                Stop::Retry(Transient {
                    retry_after: e.retry_after,
                    correlation_id: e.correlation_id,
                    ..Transient::new(*kind, message)
                })
            }
        }
    }

    fn outcome(self, status: Status, reason: Option<Reason>, message: Option<String>) -> Outcome {
        let target = self.target.as_ref();
        let code = self.code.as_ref();
        Outcome {
            status,
            conversation_id: Some(self.conversation_id.hyphenated().to_string()),
            participant_id: target.map(|t| t.participant_id.hyphenated().to_string()),
            communication_id: target.map(|t| t.communication_id.hyphenated().to_string()),
            wrap_up_code_id: self.code_id.map(|c| c.hyphenated().to_string()),
            wrap_up_code_name: code.and_then(|c| c.name.clone()),
            current_wrap_up_code: self.current_code,
            reason,
            message,
            rule: self.rule,
            write: self.write,
            details: Details {
                media: target.map(|t| t.media.as_str()),
                division_id: code.and_then(|c| c.division.as_ref()?.id.clone()),
                queue_id: target.and_then(|t| t.queue_id.clone()),
                user_id: target.and_then(|t| t.user_id.clone()),
                correlation_id: self.correlation_id,
                context_id: self.context_id,
            },
        }
    }
}

/// Runs a request to its outcome; `Err` is trouble the platform should retry.
/// A dry run stops right before the write and reports it instead (`would_apply`).
pub(crate) async fn run(
    orgs: &Orgs,
    rules: Result<&RuleSet, &str>,
    request: &Request,
    deadline: Deadline,
    dry_run: bool,
    exclusive: Option<Exclusive<'_>>,
) -> Result<Outcome, Transient> {
    let (asked, conversation_id, org_id, current_code) = match request {
        Request::Decided(_, outcome) => return Ok(outcome.clone()),
        Request::Apply(r) => (Asked::Apply(r), r.conversation_id, r.org_id, None),
        Request::GenesysEvent(e) => (
            Asked::Event(e),
            e.conversation_id,
            e.org_id,
            e.facts.current_wrap_up_code.clone().flatten(),
        ),
    };
    let mut trace = Trace {
        conversation_id,
        target: None,
        current_code,
        code_id: None,
        code: None,
        rule: None,
        write: None,
        correlation_id: None,
        context_id: None,
        lease: None,
        keep_lease: false,
    };
    let result = steps(
        orgs, org_id, rules, asked, deadline, dry_run, exclusive, &mut trace,
    )
    .await;
    // Written or decided: the next request for this conversation may go.
    if let (Some(exclusive), Some(lease), false) = (exclusive, trace.lease.take(), trace.keep_lease)
    {
        exclusive.leases.release(lease).await;
    }
    match result {
        Ok(status) => Ok(trace.outcome(status, None, None)),
        Err(Stop::Final(reason, message)) => {
            Ok(trace.outcome(reason.status(), Some(reason), Some(message)))
        }
        Err(Stop::Retry(mut t)) => {
            t.current_wrap_up_code = trace.current_code;
            Err(t)
        }
    }
}

#[allow(clippy::too_many_arguments)] // the steps' inputs, each used once; a struct would only rename them
async fn steps(
    orgs: &Orgs,
    org_id: Option<Uuid>,
    rules: Result<&RuleSet, &str>,
    asked: Asked<'_>,
    deadline: Deadline,
    dry_run: bool,
    exclusive: Option<Exclusive<'_>>,
    trace: &mut Trace,
) -> Result<Status, Stop> {
    // Rules: an event no rule can match costs no Genesys call, whatever its org. Without a
    // rule set that loads, a Genesys event waits for one (apply requests need none).
    let candidates: Vec<&Rule> = match asked {
        Asked::Event(event) => {
            let rules = rules.map_err(|problem| {
                Stop::Retry(
                    Transient::new(
                        TransientKind::RulesUnavailable,
                        format!("Genesys events wait until the wrap-up rules load: {problem}"),
                    )
                    .with_retry_after(Some(RULES_RETRY_AFTER)),
                )
            })?;
            let candidates: Vec<&Rule> = rules.candidates(&event.facts).collect();
            if candidates.is_empty() {
                return Err(Stop::because(
                    Reason::NoRule,
                    format!(
                        "no wrap-up rule matches this {} event",
                        event.topic.as_str()
                    ),
                ));
            }
            candidates
        }
        Asked::Apply(_) => Vec::new(),
    };

    // Org: its own client with an org map; one the map does not list is refused before any call.
    let genesys = orgs.client(org_id).map_err(|unknown| {
        Stop::because(
            Reason::UnknownOrg,
            format!("Genesys org {} is not in GENESYS_ORG_SECRETS", unknown.0),
        )
    })?;

    // Lease: from here to the outcome, this instance alone works on the conversation.
    if let Some(exclusive) = exclusive {
        let lease = exclusive
            .leases
            .acquire(trace.conversation_id, exclusive.holder, deadline)
            .await
            .map_err(Stop::Retry)?;
        trace.lease = Some(lease);
    }

    // Read.
    let (conversation, correlation) = genesys
        .get_conversation(trace.conversation_id, deadline)
        .await
        .map_err(|e| trace.genesys(e, Some(Reason::ConversationNotFound)))?;
    trace.correlation_id = correlation;

    // Target: the named participant (customer.end names the customer: the latest agent then).
    let (named, session) = match asked {
        Asked::Apply(r) => (r.participant_id, None),
        Asked::Event(e) => match e.topic {
            Topic::CustomerEnd => (None, None),
            Topic::UserEnd | Topic::Acw => (e.participant_id, e.session_id),
        },
    };
    if let (Asked::Event(_), Some(pid)) = (asked, named) {
        // A supervisor's own leg ending is no request for a wrap-up.
        if let Some(why) = supervisor(&conversation, pid) {
            return Err(Stop::because(Reason::SupervisorParticipant, why));
        }
    }
    let target = select_target(&conversation, named, session)
        .map_err(|r| Stop::because(r.reason, r.message))?;
    // The read's code, else what an `acw` event said (a read can lag behind the event).
    trace.current_code = target
        .final_code()
        .map(str::to_owned)
        .or(trace.current_code.take());
    trace.target = Some(target.clone());

    // Ended: the agent's part, not the whole conversation.
    if let Some(leg) = unended_leg(&conversation, &target, named.is_some()) {
        return Err(Stop::not_ended(
            format!(
                "conversation {}: the agent's part has not ended yet: {leg}",
                conversation.id
            ),
            trace.correlation_id.clone(),
        ));
    }

    // Participant conditions: the first candidate rule the participant matches names the code.
    let want: Wanted = match asked {
        Asked::Apply(r) => r.wanted.clone(),
        Asked::Event(event) => {
            // An `acw` event says which code is on the communication now: its rules are decided
            // by it, as they were before the read, even if the read lags behind.
            let current = match &event.facts.current_wrap_up_code {
                Some(said) => said.clone(),
                None => target.final_code().map(str::to_owned),
            };
            let facts = ParticipantFacts {
                current_wrap_up_code: current,
                attributes: target.attributes.clone(),
            };
            let rule = candidates
                .into_iter()
                .find(|r| r.matches_participant(&facts))
                .ok_or_else(|| {
                    Stop::because(
                        Reason::NoRule,
                        format!(
                            "no wrap-up rule matches this {} event and participant {}",
                            event.topic.as_str(),
                            target.participant_id
                        ),
                    )
                })?;
            trace.rule = Some(rule.name.clone());
            rule.wanted()
        }
    };

    // Code.
    if let CodeRef::Id(id) = want.code {
        trace.code_id = Some(id);
    }
    let code = resolve_code(genesys, &want.code, &conversation, &target, deadline, trace).await?;
    let code_id = Uuid::parse_str(code.id.trim()).map_err(|_| {
        Stop::because(
            Reason::WrapupCodeNotFound,
            "Genesys returned a wrap-up code id that is not a UUID",
        )
    })?;
    trace.code_id = Some(code_id);
    trace.code = Some(code.clone());

    // Division.
    check_division(&conversation, &code).map_err(|r| Stop::because(r.reason, r.message))?;

    // Already applied.
    if is_already_applied(&target, code_id, &want) {
        return Ok(Status::AlreadyApplied);
    }

    // Overwrite: keep what the agent chose, when asked.
    match keep_current(&target, want.overwrite) {
        Keep::No => {}
        Keep::Yes(why) => return Err(Stop::because(Reason::CodePresent, why)),
        Keep::NotYet(why) => return Err(Stop::not_ended(why, trace.correlation_id.clone())),
    }

    // The write. Replacing a code keeps the agent's notes and tags unless the request has its own.
    let kept = target
        .current
        .as_ref()
        .filter(|_| target.final_code().is_some());
    let write = Write {
        media: target.media,
        conversation_id: trace.conversation_id,
        participant_id: target.participant_id,
        communication_id: target.communication_id,
        body: WrapupInput {
            code: code_id.hyphenated().to_string(),
            notes: want.notes.or_else(|| kept.and_then(|c| c.notes.clone())),
            tags: want.tags.or_else(|| kept.and_then(|c| c.tags.clone())),
            ..Default::default()
        },
    };
    if dry_run {
        trace.write = Some(Box::new(write));
        return Ok(Status::WouldApply);
    }
    match genesys.send(&write, deadline).await {
        Ok(correlation) => {
            trace.correlation_id = correlation;
            Ok(Status::Applied)
        }
        Err(e) => {
            trace.keep_lease = e.write_unknown;
            if matches!(e.class, ErrorClass::Rejected | ErrorClass::NotFound) {
                // Perhaps the code was deleted or moved since it was cached. Which status
                // Genesys gives an unknown code on a write is undocumented (400 or 404): either
                // way the next request reads the code again.
                genesys.forget_code(code_id).await;
            }
            Err(trace.genesys(e, None))
        }
    }
}

/// The code a request or rule names: by id (cached), or by name from the org's codes (a name
/// not found reads them again, at most once a minute); a tie between codes of one name is
/// broken by the participant's own codes, else refused.
async fn resolve_code(
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
