//! One request from start to finish, whatever asked for it: the table of contents of every
//! decision. Apply requests and Genesys events go through the same steps in the same order,
//! one line each in [`Run::steps`]:
//!
//! rules (Genesys events: drop those the event rules out, `acw` by its code too; no call) →
//! org → lease (with `WRAPUP_LOCK_TABLE`; a remembered request is answered here) → read the
//! conversation → target → our last write (while reads lag) → ended → wanted (Genesys events:
//! the rule the participant matches) → code (by id or name) → division → already applied? →
//! newer write? → overwrite → one [`Write`], sent by `GenesysClient::send` (a dry run stops
//! right before it) → finish (the lease given back, the outcome remembered).
//!
//! Rules come before the org: a Genesys event no rule can match is `skipped` whatever its org,
//! and only one a rule could act on is refused as `unknown_org`. The lease comes right before
//! the read: a request decided without calling Genesys takes none, and one that reads holds it
//! until its outcome is known, so two instances never decide on the same conversation at once.
//! Taking it also asks what the table remembers: a redelivery of a decided request gets its
//! first outcome with no Genesys call, whatever a lagging read would show.
//!
//! Every step either passes what it learned on or stops with a [`Stop`]; the outcome is then
//! built once from everything learned so far (`trace.rs`). The code step's reads are in
//! `code.rs`; what reads Genesys Copilot (a predicted code, an `observe` rule) in
//! `predicted.rs`. No Lambda, no HTTP here.

mod code;
mod predicted;
mod trace;

pub(crate) use predicted::SummaryCache;

use crate::clock::{Clock, Deadline};
use crate::error::{Transient, TransientKind};
use crate::genesys::models::Wrapup;
use crate::genesys::models::{Conversation, WrapupCode, WrapupInput};
use crate::genesys::{ErrorClass, GenesysClient, Orgs, Write};
use crate::lease::{made_ms, Ask, End, LastWrite, Leases, Taken};
use crate::rules::{Asks, ParticipantFacts, Rule, RuleSet};
use crate::wrapup::{
    check_division, is_already_applied, keep_current, select_target, supervisor, unended_leg,
    ApplyRequest, CodeRef, GenesysEvent, Identity, Keep, Outcome, Reason, Request, Status, Target,
    Topic, Wanted,
};
use std::time::Duration;
use trace::{Stop, Trace};
use uuid::Uuid;

/// What a Genesys event is told to wait when the rules do not load (a fix is a deploy away).
const RULES_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What every step of every request shares: each org's client, the rules, time and the
/// invocation's deadline, whether to stop before the write, and the lease table.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) orgs: &'a Orgs,
    /// The rules, or why they do not load (Genesys events wait; apply requests need none).
    pub(crate) rules: Result<&'a RuleSet, &'a str>,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) deadline: Deadline,
    /// Stop right before the write and report it (`would_apply`).
    pub(crate) dry_run: bool,
    /// The conversation's lease to take before reading it; `None`: at least once.
    pub(crate) exclusive: Option<Exclusive<'a>>,
    /// Copilot's summaries already read in this invocation.
    pub(crate) summaries: &'a SummaryCache,
    /// How long a Copilot summary that is not ready is waited for (`WRAPUP_PREDICTION_WAIT`).
    pub(crate) prediction_wait: Duration,
}

/// The conversation's lease to take before reading it: whose table, and for whom (the
/// invocation's request id, so the holder can be found in the logs).
#[derive(Clone, Copy)]
pub(crate) struct Exclusive<'a> {
    pub(crate) leases: &'a Leases,
    pub(crate) holder: &'a str,
}

/// Runs a request to its outcome; `Err` is trouble the platform should retry.
/// A dry run stops right before the write and reports it instead (`would_apply`). `identity`
/// tells a redelivery from a new request (`None`: nothing is remembered).
pub(crate) async fn run(
    context: &Context<'_>,
    request: &Request,
    identity: Option<&Identity>,
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
    let mut run = Run {
        context: *context,
        asked,
        org_id,
        identity,
        last_write: None,
        trace: Trace::new(conversation_id, current_code),
    };
    let result = run.steps().await;
    run.finish(result).await
}

/// The request the steps run: a decided one never reaches them.
#[derive(Clone, Copy)]
enum Asked<'a> {
    Apply(&'a ApplyRequest),
    Event(&'a GenesysEvent),
}

/// One request on its way: what it asks, and what it learned so far.
struct Run<'a> {
    context: Context<'a>,
    asked: Asked<'a>,
    org_id: Option<Uuid>,
    identity: Option<&'a Identity>,
    /// What this function last wrote on the conversation, when it bears on this request.
    last_write: Option<LastWrite>,
    trace: Trace,
}

impl<'a> Run<'a> {
    /// Every step, in order; each passes what it learned on, or stops the run.
    async fn steps(&mut self) -> Result<Status, Stop> {
        let candidates = self.rules()?;
        let genesys = self.org()?;
        self.lease().await?;
        let conversation = self.read(genesys).await?;
        let mut target = self.target(&conversation)?;
        self.our_last_write(&mut target);
        self.ended(&conversation, &target)?;
        let wanted = match self.wanted(candidates, &target)? {
            Asks::Write(wanted) => wanted,
            Asks::Observe => return self.observe(genesys, &target).await,
        };
        let code = self.code(genesys, &wanted, &conversation, &target).await?;
        let code_id = self.division(&conversation, &code)?;
        if is_already_applied(&target, code_id, &wanted) {
            return Ok(Status::AlreadyApplied);
        }
        self.newer_write(&target)?;
        self.overwrite(&target, &wanted)?;
        let write = self.write(&target, code_id, wanted);
        self.send(genesys, write).await
    }

    /// Rules: the rules a Genesys event could match, before any call (an event no rule can
    /// match costs none, whatever its org). Without a rule set that loads, a Genesys event
    /// waits for one; apply requests need none.
    fn rules(&self) -> Result<Vec<&'a Rule>, Stop> {
        let Asked::Event(event) = self.asked else {
            return Ok(Vec::new());
        };
        let rules = self.context.rules.map_err(|problem| {
            Stop::Retry(
                Transient::new(
                    TransientKind::RulesUnavailable,
                    format!("Genesys events wait until the wrap-up rules load: {problem}"),
                )
                .with_retry_after(Some(RULES_RETRY_AFTER)),
            )
        })?;
        let candidates: Vec<&Rule> = rules
            .candidates(&event.facts)
            .filter(|r| r.samples(event.conversation_id))
            .collect();
        if candidates.is_empty() {
            return Err(Stop::because(
                Reason::NoRule,
                format!(
                    "no wrap-up rule matches this {} event",
                    event.topic.as_str()
                ),
            ));
        }
        Ok(candidates)
    }

    /// Org: its own client with an org map; one the map does not list is refused before any
    /// call.
    fn org(&self) -> Result<&'a GenesysClient, Stop> {
        self.context.orgs.client(self.org_id).map_err(|unknown| {
            Stop::because(
                Reason::UnknownOrg,
                format!("Genesys org {} is not in GENESYS_ORG_SECRETS", unknown.0),
            )
        })
    }

    /// Lease: from here to the outcome, this instance alone works on the conversation. A
    /// request an earlier delivery decided is answered with that outcome here, and what this
    /// function last wrote on the conversation comes back when it bears on the request.
    async fn lease(&mut self) -> Result<(), Stop> {
        let Some(ask) = self.ask() else {
            return Ok(());
        };
        let Some(exclusive) = self.context.exclusive else {
            return Ok(());
        };
        match exclusive.leases.take(&ask).await.map_err(Stop::Retry)? {
            Taken::Held(lease, last_write) => {
                self.trace.lease = Some(lease);
                self.last_write = last_write;
                Ok(())
            }
            Taken::Remembered(outcome) => Err(Stop::Remembered(outcome)),
        }
    }

    /// What the lease table is asked for this request (`None`: no table).
    fn ask(&self) -> Option<Ask<'a>> {
        let exclusive = self.context.exclusive?;
        Some(Ask {
            conversation_id: self.trace.conversation_id,
            holder: exclusive.holder,
            deadline: self.context.deadline,
            identity: self.identity,
            dry_run: self.context.dry_run,
        })
    }

    /// Finish: the outcome, built once; the lease given back in the same call that remembers
    /// it (held instead after a write whose result is unknown).
    async fn finish(mut self, result: Result<Status, Stop>) -> Result<Outcome, Transient> {
        let lease = self.trace.lease.take();
        let ask = self.ask();
        let unknown = self
            .trace
            .unknown_write
            .filter(|_| matches!(result, Err(Stop::Retry(_))));
        self.name_current_code();
        let outcome = self.trace.finish(result);
        let (Some(lease), Some(ask), Some(exclusive)) = (lease, ask, self.context.exclusive) else {
            return outcome;
        };
        let end = match (&outcome, unknown) {
            (Err(_), Some(sent)) => End::Unknown(sent),
            (Ok(o), _) if o.status == Status::Applied => End::Written(o),
            (Ok(o), _) if o.status != Status::Rejected => End::Decided(o),
            _ => End::Forgotten,
        };
        exclusive.leases.finish(lease, &ask, end).await;
        outcome
    }

    /// The name of the code the participant had, when the read did not give it: the code this
    /// request resolved, if it is that one, else one the org's client already has cached. Never
    /// a call of its own: unknown, it stays absent.
    fn name_current_code(&mut self) {
        let Some(current) = self.trace.current_code.as_deref().map(str::trim) else {
            return;
        };
        if self.trace.current_code_name.is_some() {
            return;
        }
        let resolved = self
            .trace
            .code
            .as_ref()
            .filter(|c| c.id.trim().eq_ignore_ascii_case(current))
            .and_then(|c| c.name.clone());
        self.trace.current_code_name = resolved.or_else(|| {
            self.context
                .orgs
                .client(self.org_id)
                .ok()?
                .cached_code_name(current)
        });
    }

    /// Read: the conversation as Genesys shows it now.
    async fn read(&mut self, genesys: &GenesysClient) -> Result<Conversation, Stop> {
        let (conversation, correlation) = genesys
            .get_conversation(self.trace.conversation_id, self.context.deadline)
            .await
            .map_err(|e| self.trace.genesys(e, Some(Reason::ConversationNotFound)))?;
        self.trace.correlation_id = correlation;
        Ok(conversation)
    }

    /// The participant a request names (`customer.end` names the customer: the latest agent
    /// then), and the session an event names.
    fn named(&self) -> (Option<Uuid>, Option<Uuid>) {
        match self.asked {
            Asked::Apply(r) => (r.participant_id, None),
            Asked::Event(e) => match e.topic {
                Topic::CustomerEnd => (None, None),
                Topic::UserEnd | Topic::Acw => (e.participant_id, e.session_id),
            },
        }
    }

    /// Target: the participant and communication the code goes on, never a supervisor.
    fn target(&mut self, conversation: &Conversation) -> Result<Target, Stop> {
        let (named, session) = self.named();
        if let (Asked::Event(_), Some(pid)) = (self.asked, named) {
            // A supervisor's own leg ending is no request for a wrap-up.
            if let Some(why) = supervisor(conversation, pid) {
                return Err(Stop::because(Reason::SupervisorParticipant, why));
            }
        }
        let target = select_target(conversation, named, session)
            .map_err(|r| Stop::because(r.reason, r.message))?;
        // The read's code (and its name), else what an `acw` event said (a read can lag
        // behind the event).
        if let Some(read) = target.final_code() {
            self.trace.current_code = Some(read.to_owned());
            self.trace.current_code_name = target
                .current
                .as_ref()
                .and_then(|w| w.name.as_deref())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
        }
        self.trace.target = Some(target.clone());
        Ok(target)
    }

    /// Our last write: what this function wrote counts while reads lag. For a few minutes after
    /// it wrote on this communication, a read that shows the code from before the write (or
    /// none) has not caught up yet ("not yet"): the request is decided as if the read showed the
    /// write. A read showing any other code shows a change made since (the agent's, another
    /// tool's): it stands.
    fn our_last_write(&mut self, target: &mut Target) {
        let Some(last) = self.last_write.as_ref().filter(|w| w.reads_may_lag) else {
            return;
        };
        let same = last.participant_id == target.participant_id.hyphenated().to_string()
            && last.communication_id == target.communication_id.hyphenated().to_string();
        let shown = target.final_code().map(str::to_owned);
        let not_yet = shown.is_none() || shown.as_deref() == last.previous_code.as_deref();
        if !same || shown.as_deref() == Some(last.code.as_str()) || !not_yet {
            return;
        }
        tracing::info!(
            event = "read_lags",
            conversationId = %self.trace.conversation_id,
            shown = shown.as_deref(),
            written = %last.code,
            "Genesys's read does not show this function's write yet: decided as if it did"
        );
        target.current = Some(Wrapup {
            code: Some(last.code.clone()),
            provisional: Some(false),
            ..target.current.clone().unwrap_or_default()
        });
        target.acw_pending = false;
        self.trace.current_code = Some(last.code.clone());
        // Named again at the end, from what this function already knows of the code.
        self.trace.current_code_name = None;
        if let Some(t) = self.trace.target.as_mut() {
            t.current = target.current.clone();
            t.acw_pending = false;
        }
    }

    /// Newer write: a newer request's write on this communication stands; an older request (a
    /// late redelivery, a retry that waited) never puts its code back over it.
    fn newer_write(&self, target: &Target) -> Result<(), Stop> {
        let (Some(last), Some(identity)) = (self.last_write.as_ref(), self.identity) else {
            return Ok(());
        };
        // A request that says nothing of its time was made now: never the older one.
        if identity.when().is_none() {
            return Ok(());
        }
        let mine = made_ms(Some(identity), self.context.clock.unix_seconds());
        let same = last.participant_id == target.participant_id.hyphenated().to_string()
            && last.communication_id == target.communication_id.hyphenated().to_string();
        if !same || last.sent_at_ms <= mine {
            return Ok(());
        }
        let made = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        Err(Stop::because(
            Reason::CodePresent,
            format!(
                "a newer request (made at {}) wrote code {} after this one was made ({}): an older request never replaces it",
                made(last.sent_at_ms),
                last.code,
                made(mine)
            ),
        ))
    }

    /// Ended: the agent's part, not the whole conversation.
    fn ended(&self, conversation: &Conversation, target: &Target) -> Result<(), Stop> {
        let named = self.named().0.is_some();
        match unended_leg(conversation, target, named) {
            None => Ok(()),
            Some(leg) => Err(Stop::not_ended(
                format!(
                    "conversation {}: the agent's part has not ended yet: {leg}",
                    conversation.id
                ),
                self.trace.correlation_id.clone(),
            )),
        }
    }

    /// Wanted: the apply request's wrap-up, or the one the first candidate rule the
    /// participant matches names.
    fn wanted(&mut self, candidates: Vec<&Rule>, target: &Target) -> Result<Asks, Stop> {
        let event = match self.asked {
            Asked::Apply(r) => return Ok(Asks::Write(r.wanted.clone())),
            Asked::Event(event) => event,
        };
        // An `acw` event says which code is on the communication now: its rules are decided by
        // it, as they were before the read, even if the read lags behind.
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
        self.trace.rule = Some(rule.name.clone());
        Ok(rule.asks())
    }

    /// What reads Genesys Copilot for this request (`predicted.rs`).
    fn copilot(&self) -> predicted::Copilot<'a> {
        predicted::Copilot {
            cache: self.context.summaries,
            wait: self.context.prediction_wait,
            clock: self.context.clock,
            identity: self.identity,
            deadline: self.context.deadline,
        }
    }

    /// Observe: an `observe` rule writes nothing; it records Copilot's prediction beside the
    /// code the agent chose (the `acw` event's, else the read's).
    async fn observe(&mut self, genesys: &GenesysClient, target: &Target) -> Result<Status, Stop> {
        let said = match self.asked {
            Asked::Event(event) => event.facts.current_wrap_up_code.clone().flatten(),
            Asked::Apply(_) => None,
        };
        let agent_code = said.or_else(|| target.final_code().map(str::to_owned));
        let observation = self
            .copilot()
            .observe(genesys, target, agent_code.as_deref(), &mut self.trace)
            .await?;
        let message = match (&observation.predicted_code, observation.confidence) {
            (Some(code), Some(confidence)) => format!(
                "observed: Copilot predicted {} at {confidence:.2}; the agent's code was {}",
                observation.predicted_code_name.as_deref().unwrap_or(code),
                agent_code.as_deref().unwrap_or("none")
            ),
            _ => "observed: Copilot predicted no code for this communication".to_owned(),
        };
        self.trace.observation = Some(Box::new(observation));
        Err(Stop::because(Reason::Observed, message))
    }

    /// Code: the one the wanted wrap-up names, by id or by name (`code.rs`), or Copilot's
    /// prediction for the target's communication (`predicted.rs`), else its fallback.
    async fn code(
        &mut self,
        genesys: &GenesysClient,
        wanted: &Wanted,
        conversation: &Conversation,
        target: &Target,
    ) -> Result<WrapupCode, Stop> {
        let deadline = self.context.deadline;
        let named = match &wanted.code {
            CodeRef::Predicted(predicted) => {
                let picked = self
                    .copilot()
                    .pick(genesys, predicted, conversation, target, &mut self.trace)
                    .await?;
                match (picked, &predicted.fallback) {
                    (predicted::Picked::Code(code, confidence), _) => {
                        self.trace.predicted_confidence = Some(confidence);
                        return Ok(code);
                    }
                    (predicted::Picked::Nothing(_), Some(fallback)) => fallback.as_ref(),
                    (predicted::Picked::Nothing(why), None) => {
                        return Err(Stop::because(Reason::NoPrediction, why))
                    }
                }
            }
            named => named,
        };
        if let CodeRef::Id(id) = named {
            self.trace.code_id = Some(*id);
        }
        code::find(
            genesys,
            named,
            conversation,
            target,
            deadline,
            &mut self.trace,
        )
        .await
    }

    /// Division: the code must be in one of the conversation's divisions (or in all); its id,
    /// which Genesys must give as a UUID.
    fn division(&mut self, conversation: &Conversation, code: &WrapupCode) -> Result<Uuid, Stop> {
        let code_id = Uuid::parse_str(code.id.trim()).map_err(|_| {
            Stop::because(
                Reason::WrapupCodeNotFound,
                "Genesys returned a wrap-up code id that is not a UUID",
            )
        })?;
        self.trace.code_id = Some(code_id);
        self.trace.code = Some(code.clone());
        check_division(conversation, code).map_err(|r| Stop::because(r.reason, r.message))?;
        Ok(code_id)
    }

    /// Overwrite: keep what the agent chose, when asked.
    fn overwrite(&self, target: &Target, wanted: &Wanted) -> Result<(), Stop> {
        match keep_current(target, wanted.overwrite) {
            Keep::No => Ok(()),
            Keep::Yes(why) => Err(Stop::because(Reason::CodePresent, why)),
            Keep::NotYet(why) => Err(Stop::not_ended(why, self.trace.correlation_id.clone())),
        }
    }

    /// The write. Replacing a code keeps the agent's notes and tags unless the request has its
    /// own.
    fn write(&self, target: &Target, code_id: Uuid, wanted: Wanted) -> Write {
        let kept = target
            .current
            .as_ref()
            .filter(|_| target.final_code().is_some());
        Write {
            media: target.media,
            conversation_id: self.trace.conversation_id,
            participant_id: target.participant_id,
            communication_id: target.communication_id,
            body: WrapupInput {
                code: code_id.hyphenated().to_string(),
                notes: wanted.notes.or_else(|| kept.and_then(|c| c.notes.clone())),
                tags: wanted.tags.or_else(|| kept.and_then(|c| c.tags.clone())),
                ..Default::default()
            },
        }
    }

    /// Send: the one call that changes Genesys (a dry run reports the write instead).
    async fn send(&mut self, genesys: &GenesysClient, write: Write) -> Result<Status, Stop> {
        if self.context.dry_run {
            self.trace.write = Some(Box::new(write));
            return Ok(Status::WouldApply);
        }
        let sent = self.context.clock.now();
        match genesys.send(&write, self.context.deadline).await {
            Ok(correlation) => {
                self.trace.correlation_id = correlation;
                Ok(Status::Applied)
            }
            Err(e) => {
                self.trace.unknown_write = e.write_unknown.then_some(sent);
                if matches!(e.class, ErrorClass::Rejected | ErrorClass::NotFound) {
                    // Perhaps the code was deleted or moved since it was cached. Which status
                    // Genesys gives an unknown code on a write is undocumented (400 or 404):
                    // either way the next request reads the code again.
                    if let Some(code_id) = self.trace.code_id {
                        genesys.forget_code(code_id).await;
                    }
                }
                Err(self.trace.genesys(e, None))
            }
        }
    }
}
