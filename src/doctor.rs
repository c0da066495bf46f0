//! `doctor`: is this deployment set up right? One line per link, each with what to fix: the
//! Genesys secret and token and the org it names, the permissions reads can prove, the rules and
//! their codes, an optional plan for one conversation (the dry-run pipeline), the webhook
//! secret, the org map, New Relic, the queues and the lease table. It never writes to Genesys and never shows a
//! secret: errors name secrets by id and quote no value.
//!
//! Run locally it uses the caller's AWS credentials; `doctor --function` asks the deployed
//! function (a direct invoke) to run the same checks as its own role.

use crate::app::App;
use crate::clock::Deadline;
use crate::config::Settings;
use crate::error::TransientKind;
use crate::genesys::{ErrorClass, GenesysClient, GenesysError};
use crate::pipeline;
use crate::secrets::{GenesysCredentials, SecretError, WebhookKeys};
use crate::telemetry::newrelic::Event;
use crate::wrapup::{ApplyRequest, CodeRef, Overwrite, Request, Status, Wanted};
use futures_util::future::join;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::time::Duration;
use uuid::Uuid;

/// Each check's own budget: one slow link must not hide the others.
const CHECK_TIMEOUT: Duration = Duration::from_secs(8);
/// All of Genesys's checks together, inside a Lambda invocation's 30 s.
const GENESYS_BUDGET: Duration = Duration::from_secs(25);

/// What to check beyond the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Options {
    #[serde(default)]
    pub conversation: Option<Uuid>,
    /// A code id or name, planned for `conversation` through the dry-run pipeline.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub org: Option<Uuid>,
    #[serde(default)]
    pub send_test_event: bool,
}

/// Whose credentials the AWS checks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// The caller's (a laptop, CI).
    Caller,
    /// The deployed function's role.
    Function,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The link works.
    Passed,
    /// The link is broken: the detail says what to fix.
    Failed,
    /// Blocked by a failed check it depends on (named in the detail): the root cause is said
    /// once, there.
    Skipped,
    /// The feature is off, or the option that asks for the check was not given.
    NotConfigured,
    /// Nothing a read can prove (the write permission).
    Unverified,
}

impl State {
    fn mark(self) -> char {
        match self {
            Self::Passed => '✔',
            Self::Failed => '✘',
            Self::Skipped => '–',
            Self::NotConfigured => '○',
            Self::Unverified => '?',
        }
    }
}

/// One check: its fixed name, whether it failed, its state and what to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// One of the fixed names (`settings`, `genesys_secret`, ...).
    pub name: String,
    /// False only when the state is `failed`.
    pub ok: bool,
    /// What the check found.
    pub state: State,
    /// What was found, and the fix.
    pub detail: String,
}

/// Every check, and whether none failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// False when a check failed.
    pub ok: bool,
    /// In the fixed order.
    pub checks: Vec<Check>,
}

impl Report {
    /// The report of these checks.
    pub fn new(checks: Vec<Check>) -> Self {
        Self {
            ok: checks.iter().all(|c| c.state != State::Failed),
            checks,
        }
    }

    /// One line per check, marked ✔ passed, ✘ failed, – skipped, ○ not configured,
    /// ? unverified, for a person.
    pub fn human(&self, run_as: RunAs) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = match run_as {
            RunAs::Caller => "doctor: AWS checks use this shell's AWS credentials, not the function's role (`doctor --function <name>` runs them as the function)\n".to_owned(),
            RunAs::Function => "doctor: run inside the deployed function, as its role\n".to_owned(),
        };
        for c in &self.checks {
            out.push_str(&format!(
                "{} {:width$}  {}\n",
                c.state.mark(),
                c.name,
                c.detail
            ));
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.state == State::Failed)
            .count();
        out.push_str(&match failed {
            0 => {
                "no check failed (✔ passed, – skipped, ○ not configured, ? unverified)\n".to_owned()
            }
            n => format!("{n} check(s) failed: fix the ✘ lines (– lines wait on them)\n"),
        });
        out
    }
}

/// Every check, in the order the report lists them. Their names are fixed: `--json` consumers
/// and `doctor --function` rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Settings,
    GenesysSecret,
    GenesysToken,
    GenesysOrg,
    WrapupCodes,
    Rules,
    RuleCodes,
    Conversation,
    Plan,
    WritePermission,
    WebhookSecret,
    OrgMap,
    NewRelic,
    Queues,
    LockTable,
}

impl Name {
    const ALL: [Self; 15] = [
        Self::Settings,
        Self::GenesysSecret,
        Self::GenesysToken,
        Self::GenesysOrg,
        Self::WrapupCodes,
        Self::Rules,
        Self::RuleCodes,
        Self::Conversation,
        Self::Plan,
        Self::WritePermission,
        Self::WebhookSecret,
        Self::OrgMap,
        Self::NewRelic,
        Self::Queues,
        Self::LockTable,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::GenesysSecret => "genesys_secret",
            Self::GenesysToken => "genesys_token",
            Self::GenesysOrg => "genesys_org",
            Self::WrapupCodes => "wrapup_codes",
            Self::Rules => "rules",
            Self::RuleCodes => "rule_codes",
            Self::Conversation => "conversation",
            Self::Plan => "plan",
            Self::WritePermission => "write_permission",
            Self::WebhookSecret => "webhook_secret",
            Self::OrgMap => "org_map",
            Self::NewRelic => "new_relic",
            Self::Queues => "queues",
            Self::LockTable => "lock_table",
        }
    }

    /// The chain that needs Genesys, each link needing the ones before it: a broken link skips
    /// the rest. (The rules sit in it, in report order, but need no Genesys.)
    fn in_genesys_chain(self) -> bool {
        matches!(
            self,
            Self::GenesysSecret
                | Self::GenesysToken
                | Self::GenesysOrg
                | Self::WrapupCodes
                | Self::RuleCodes
                | Self::Conversation
                | Self::Plan
        )
    }

    fn position(name: &str) -> usize {
        Self::ALL
            .iter()
            .position(|n| n.as_str() == name)
            .unwrap_or(Self::ALL.len())
    }
}

/// What a check found, when it did not fail (`Err` is a failure, with its fix).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Passed(String),
    NotConfigured(String),
    Unverified(String),
}

impl From<String> for Found {
    fn from(detail: String) -> Self {
        Self::Passed(detail)
    }
}

type Finding = Result<Found, String>;

fn check(name: Name, finding: Finding) -> Check {
    let (state, detail) = match finding {
        Ok(Found::Passed(detail)) => (State::Passed, detail),
        Ok(Found::NotConfigured(detail)) => (State::NotConfigured, detail),
        Ok(Found::Unverified(detail)) => (State::Unverified, detail),
        Err(detail) => (State::Failed, detail),
    };
    Check {
        name: name.as_str().to_owned(),
        ok: state != State::Failed,
        state,
        detail,
    }
}

/// `name` could not run: `needs` failed (said once, there).
fn skipped(name: Name, needs: &str) -> Check {
    Check {
        name: name.as_str().to_owned(),
        ok: true,
        state: State::Skipped,
        detail: format!("needs {needs} (see above)"),
    }
}

/// Runs `fut` within the check's own budget.
async fn timed(fut: impl Future<Output = Finding>) -> Finding {
    tokio::time::timeout(CHECK_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {} s: check the network path (a VPC function needs a NAT gateway or endpoints)",
                CHECK_TIMEOUT.as_secs()
            ))
        })
}

/// Every check, in a fixed order with fixed names.
pub(crate) async fn run(app: &App, options: &Options, run_as: RunAs) -> Report {
    let whose = match run_as {
        RunAs::Caller => "",
        RunAs::Function => " (as the function's role)",
    };
    let (genesys, others) = join(
        genesys_checks(app, options, whose),
        other_checks(app, options, whose),
    )
    .await;
    let platform_level = match run_as {
        RunAs::Function => std::env::var("AWS_LAMBDA_LOG_LEVEL").ok(),
        RunAs::Caller => None,
    };
    let mut checks = vec![check(Name::Settings, settings(app, platform_level))];
    checks.extend(genesys);
    checks.extend(others);
    checks.sort_by_key(|c| Name::position(&c.name));
    Report::new(once(checks))
}

/// No AWS credentials or region breaks every AWS check the same way: said once, on the first,
/// and the others skipped.
fn once(mut checks: Vec<Check>) -> Vec<Check> {
    let aws_access = |c: &Check| {
        c.state == State::Failed
            && [
                "no AWS credentials",
                "no AWS region",
                "AWS credentials are not valid",
            ]
            .iter()
            .any(|cause| c.detail.contains(cause))
    };
    let Some(first) = checks.iter().position(aws_access) else {
        return checks;
    };
    let root = checks[first].name.clone();
    for c in checks.iter_mut().skip(first + 1).filter(|c| aws_access(c)) {
        c.state = State::Skipped;
        c.ok = true;
        c.detail = format!("needs AWS access (see {root})");
    }
    checks
}

/// The configuration as read, and Lambda's log level: one above INFO drops the metric lines.
fn settings(app: &App, platform_level: Option<String>) -> Finding {
    let dry_run = if app.handler.dry_run {
        "on: nothing is written (switch it off with DryRun=false, WRAPUP_DRY_RUN=false)"
    } else {
        "off: wrap-ups are written"
    };
    match platform_level {
        Some(level)
            if ["warn", "error", "fatal"].contains(&level.trim().to_ascii_lowercase().as_str()) =>
        {
            Err(format!(
                "Lambda's ApplicationLogLevel is {level}: it drops the metric lines (Lambda counts a line without a level as INFO), so dashboards and alarms go blind; set ApplicationLogLevel to TRACE and the function's own level in WRAPUP_LOG_LEVEL (the template does)"
            ))
        }
        _ => Ok(format!("configuration read; dry run {dry_run}").into()),
    }
}

/// The chain that needs Genesys: secret → token → org → codes → rule codes → conversation →
/// plan. A broken link skips what depends on it, saying so, instead of timing out again; the
/// rules themselves need no Genesys and are always checked.
async fn genesys_checks(app: &App, options: &Options, whose: &str) -> Vec<Check> {
    let deadline = Deadline::after(app.clock.as_ref(), GENESYS_BUDGET);
    let rules = app.rules.current().await;
    let rules_check = check(
        Name::Rules,
        match (&rules, app.rules.problem()) {
            (Err(problem), _) => Err(format!(
                "{problem}; until they load, apply requests are served and Genesys events wait (`genesys-wrapup rules check` lists every problem)"
            )),
            (Ok(set), Some(problem)) => Err(format!(
                "the latest rules do not load, so the function keeps its last good set of {} rule(s): {problem}",
                set.rules.len()
            )),
            (Ok(set), None) if set.rules.is_empty() => Ok(Found::NotConfigured(
                "no rules (Genesys events are skipped)".into(),
            )),
            (Ok(set), None) => Ok(Found::Passed(format!(
                "{} rule(s): {}",
                set.rules.len(),
                set.rules
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
    );
    let mut checks = Vec::new();
    // With --org, that org's client and secret; else GENESYS_SECRET_ID's.
    let (client, secret_id) = match options.org {
        Some(org) if !app.settings.org_secrets.is_empty() => {
            match (
                app.orgs.client(Some(org)),
                app.settings.org_secrets.get(&org),
            ) {
                (Ok(client), Some(secret_id)) => (client, secret_id.as_str()),
                _ => {
                    checks.push(check(
                        Name::GenesysSecret,
                        Err(format!(
                            "org {org} is not in GENESYS_ORG_SECRETS: add it, or leave out --org"
                        )),
                    ));
                    return skip_after(checks, Name::GenesysSecret, rules_check);
                }
            }
        }
        _ => (
            app.orgs.default_client(),
            app.settings.genesys_secret_id.as_str(),
        ),
    };
    let secret = timed(genesys_secret(app, secret_id, whose)).await;
    let secret_ok = secret.is_ok();
    checks.push(check(Name::GenesysSecret, secret));
    if !secret_ok {
        return skip_after(checks, Name::GenesysSecret, rules_check);
    }
    let token = timed(genesys_token(client, deadline)).await;
    let token_ok = token.is_ok();
    checks.push(check(Name::GenesysToken, token));
    if !token_ok {
        return skip_after(checks, Name::GenesysToken, rules_check);
    }
    checks.push(check(
        Name::GenesysOrg,
        timed(async {
            genesys_org(client, options.org, deadline)
                .await
                .map(Found::from)
        })
        .await,
    ));
    let codes = timed(async {
        client
            .all_codes(false, deadline)
            .await
            .map(|codes| {
                Found::Passed(format!(
                    "{} wrap-up codes visible (routing:wrapupCode:view holds)",
                    codes.len()
                ))
            })
            .map_err(|e| {
                permission_problem(&e, "routing:wrapupCode:view", "in at least one division")
            })
    })
    .await;
    let codes_ok = codes.is_ok();
    checks.push(check(Name::WrapupCodes, codes));
    checks.push(rules_check);
    checks.push(match (&rules, codes_ok) {
        (Ok(set), true) => check(
            Name::RuleCodes,
            timed(rule_codes(client, &set.rules, deadline)).await,
        ),
        // The root cause is said once, where it is.
        (Err(_), _) => skipped(Name::RuleCodes, Name::Rules.as_str()),
        (_, false) => skipped(Name::RuleCodes, Name::WrapupCodes.as_str()),
    });
    checks.push(check(
        Name::Conversation,
        timed(conversation(client, options, deadline)).await,
    ));
    checks.push(check(Name::Plan, timed(plan(app, options, deadline)).await));
    checks.push(write_permission());
    checks
}

fn write_permission() -> Check {
    check(
        Name::WritePermission,
        Ok(Found::Unverified("conversation:participant:wrapup is proven only by a write: reads cannot show it. Give the role it in every division the conversations are in; a missing one shows as rejected/forbidden on the first write".into())),
    )
}

/// The checks after a broken link: skipped, saying why, except the rules, which need none.
fn skip_after(mut checks: Vec<Check>, broken: Name, rules: Check) -> Vec<Check> {
    let after = Name::ALL.iter().skip_while(|n| **n != broken).skip(1);
    for name in after.copied().filter(|n| n.in_genesys_chain()) {
        checks.push(skipped(name, broken.as_str()));
    }
    checks.push(rules);
    checks.push(write_permission());
    checks
}

/// What a secret read says, in words that name the fix.
fn secret_problem(e: &SecretError, whose: &str) -> String {
    match e {
        SecretError::NotFound { id } => format!(
            "secret {id} was not found: check the id (a full ARN includes its random suffix) and the region{whose}"
        ),
        SecretError::Unreadable { id, reason } => format!("secret {id} is readable but {reason}"),
        SecretError::Unavailable { id, reason } => {
            let lower = reason.to_ascii_lowercase();
            if lower.contains("kms") || lower.contains("decryptionfailure") {
                format!("secret {id}: KMS refused to decrypt it ({reason}): grant kms:Decrypt on its key (template parameter KmsKeyArn){whose}")
            } else {
                format!("secret {id}: {reason}{whose}")
            }
        }
    }
}

async fn genesys_secret(app: &App, secret_id: &str, whose: &str) -> Finding {
    let creds: GenesysCredentials = app
        .secrets
        .get_json(secret_id)
        .await
        .map_err(|e| secret_problem(&e, whose))?;
    if creds.client_id.trim().is_empty() || creds.client_secret.expose_secret().is_empty() {
        return Err(format!(
            "secret {secret_id}: clientId or clientSecret is empty"
        ));
    }
    let genesys = &app.settings.genesys;
    let environment = match (&creds.environment, &genesys.environment) {
        (Some(env), _) => crate::config::validate_environment(env)
            .map_err(|p| format!("secret {secret_id}: its environment {p}"))?,
        (None, Some(env)) => format!("{env} (GENESYS_ENVIRONMENT)"),
        (None, None) if genesys.api_base_url.is_some() && genesys.login_base_url.is_some() => {
            "given by GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL".to_owned()
        }
        (None, None) => {
            return Err(format!(
                "secret {secret_id} has no \"environment\" and GENESYS_ENVIRONMENT is not set: add e.g. \"environment\": \"mypurecloud.ie\""
            ))
        }
    };
    Ok(
        format!("secret {secret_id} readable, JSON as expected; environment {environment}{whose}")
            .into(),
    )
}

async fn genesys_token(client: &GenesysClient, deadline: Deadline) -> Finding {
    match client.check_token(deadline).await {
        Ok(()) => Ok(Found::Passed("client-credentials token obtained".into())),
        Err(e) if matches!(e.class, ErrorClass::Transient(TransientKind::RateLimited)) => Err(format!(
            "the login host is throttling this client ({e}); wait {} s and run doctor again",
            e.retry_after.map_or(60, |w| w.as_secs())
        )),
        Err(e) if e.code.as_deref() == Some("invalid_client") || e.status == Some(401) => Err(format!(
            "Genesys refused the client ({e}): check clientId/clientSecret in the secret, that the OAuth client uses the Client Credentials grant, and the environment"
        )),
        Err(e) if e.status.is_none() && is_transport(&e) => Err(format!(
            "could not reach the login host ({e}): check the environment (e.g. mypurecloud.ie) and the network"
        )),
        Err(e) => Err(format!("no token: {e}")),
    }
}

/// A failure to talk to the host at all, as the client words it.
fn is_transport(e: &GenesysError) -> bool {
    [
        "could not connect",
        "timed out",
        "connection failed",
        "reading the response",
    ]
    .iter()
    .any(|words| e.message.contains(words))
}

async fn genesys_org(
    client: &GenesysClient,
    expected: Option<Uuid>,
    deadline: Deadline,
) -> Result<String, String> {
    let info = client
        .token_info(deadline)
        .await
        .map_err(|e| format!("GET /api/v2/tokens/me failed: {e}"))?;
    let org = info.organization.unwrap_or_default();
    let client_name = info.oauth_client.and_then(|c| c.name).unwrap_or_default();
    let id = org.id.unwrap_or_default();
    if let Some(expected) = expected {
        if Uuid::parse_str(&id).ok() != Some(expected) {
            return Err(format!(
                "the token belongs to org {id}, not {expected}: the org map points {expected} at another org's client"
            ));
        }
    }
    Ok(format!(
        "the token belongs to org {id} ({}), OAuth client {client_name:?}",
        org.name.unwrap_or_default()
    ))
}

/// A refusal that means a missing permission, named; anything else as it is.
fn permission_problem(e: &GenesysError, permission: &str, scope: &str) -> String {
    match e.class {
        ErrorClass::Forbidden => format!(
            "{}: the OAuth client's role lacks {permission} {scope}",
            e.quoted()
        ),
        _ => e.to_string(),
    }
}

async fn rule_codes(
    client: &GenesysClient,
    rules: &[crate::wrapup::rules::Rule],
    deadline: Deadline,
) -> Finding {
    if rules.is_empty() {
        return Ok(Found::NotConfigured("no rules".into()));
    }
    let (problems, found) = crate::resolve::problems(client, rules, deadline).await;
    if problems.is_empty() {
        Ok(Found::Passed(found.join("; ")))
    } else {
        Err(problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "))
    }
}

async fn conversation(client: &GenesysClient, options: &Options, deadline: Deadline) -> Finding {
    let Some(id) = options.conversation else {
        return Ok(Found::NotConfigured(
            "not asked for (--conversation <uuid> reads one)".into(),
        ));
    };
    let (conversation, _) =
        client
            .get_conversation(id, deadline)
            .await
            .map_err(|e| match e.class {
                ErrorClass::NotFound => format!("conversation {id} was not found in this org"),
                _ => permission_problem(
                    &e,
                    "conversation:communication:view",
                    "in the conversation's division",
                ),
            })?;
    let divisions: Vec<&str> = conversation
        .divisions
        .iter()
        .filter_map(|d| d.division.as_ref()?.id.as_deref())
        .collect();
    Ok(Found::Passed(format!(
        "conversation {id} readable (conversation:communication:view holds): {} participants, divisions [{}], {}",
        conversation.participants.len(),
        divisions.join(", "),
        if conversation.end_time.is_some() {
            "ended"
        } else {
            "still active (the agent's part may have ended: see plan)"
        }
    )))
}

/// The wrap-up `--code` would get on `--conversation`, through the dry-run pipeline.
async fn plan(app: &App, options: &Options, deadline: Deadline) -> Finding {
    let (Some(conversation_id), Some(code)) = (options.conversation, options.code.as_deref())
    else {
        return Ok(Found::NotConfigured(
            "not asked for (--conversation <uuid> --code <uuid|name> plans one)".into(),
        ));
    };
    let code = CodeRef::parse(code)?;
    let request = Request::Apply(ApplyRequest {
        conversation_id,
        participant_id: None,
        org_id: options.org,
        wanted: Wanted::new(code, Overwrite::Always),
    });
    let rules = app.rules.current().await;
    // Always a dry run: doctor never writes, whatever WRAPUP_DRY_RUN says.
    let rules = rules.as_deref().map_err(String::as_str);
    // A person's plan takes no lease: it never writes, and it must not hold up real requests.
    let outcome = pipeline::run(&app.orgs, rules, &request, deadline, true, None).await;
    match outcome {
        Ok(o) => {
            let target = format!(
                "participant {} (user {}), communication {} ({}), code {} {:?} in division {}",
                o.participant_id.as_deref().unwrap_or("?"),
                o.details.user_id.as_deref().unwrap_or("?"),
                o.communication_id.as_deref().unwrap_or("?"),
                o.details.media.unwrap_or("?"),
                o.wrap_up_code_id.as_deref().unwrap_or("?"),
                o.wrap_up_code_name.as_deref().unwrap_or(""),
                o.details.division_id.as_deref().unwrap_or("*"),
            );
            match o.status {
                Status::WouldApply => Ok(Found::Passed(format!(
                    "would apply to {target}; division check passed; the write: {}",
                    o.write
                        .as_ref()
                        .and_then(|w| serde_json::to_string(w).ok())
                        .unwrap_or_default()
                ))),
                Status::AlreadyApplied => Ok(Found::Passed(format!("already applied to {target}"))),
                Status::Skipped => Ok(Found::Passed(format!(
                    "would skip ({}): {}",
                    o.reason.map_or("", |r| r.as_str()),
                    o.message.unwrap_or_default()
                ))),
                Status::Rejected => Err(format!(
                    "would be rejected ({}): {}",
                    o.reason.map_or("", |r| r.as_str()),
                    o.message.unwrap_or_default()
                )),
                Status::Applied => Err("a write was sent, which a dry run never does".into()),
            }
        }
        Err(t) if t.kind == TransientKind::NotEnded => Ok(Found::Passed(format!(
            "would wait and retry: {}",
            t.message
        ))),
        Err(t) => Err(format!("would retry: {t}")),
    }
}

/// The links that need no Genesys: webhook secret, org map, New Relic, queues, lock table.
async fn other_checks(app: &App, options: &Options, whose: &str) -> Vec<Check> {
    let ((webhook, org_map), (new_relic, (queues, lock_table))) = join(
        join(
            timed(webhook_secret(app, whose)),
            timed(org_map(app, whose)),
        ),
        join(
            timed(new_relic(app, options)),
            join(timed(queues(app, whose)), timed(lock_table(app, whose))),
        ),
    )
    .await;
    vec![
        check(Name::WebhookSecret, webhook),
        check(Name::OrgMap, org_map),
        check(Name::NewRelic, new_relic),
        check(Name::Queues, queues),
        check(Name::LockTable, lock_table),
    ]
}

/// The lease table: it exists with the right key, expires leases, and this role may take and
/// give back a lease (a probe item under a key no conversation has, removed at once).
async fn lock_table(app: &App, whose: &str) -> Finding {
    let Some(leases) = app.leases.as_ref() else {
        return Ok(Found::NotConfigured(
            "no WRAPUP_LOCK_TABLE: at least once (two instances handed one request at the same instant may both write it)".into(),
        ));
    };
    leases
        .check()
        .await
        .map(|found| format!("{found}{whose}").into())
        .map_err(|problem| format!("{problem}{whose}"))
}

async fn webhook_secret(app: &App, whose: &str) -> Finding {
    let Some(id) = app.settings.handler.webhook.secret_id.as_deref() else {
        return Ok(Found::NotConfigured(
            "no WEBHOOK_SECRET_ID: every webhook request is refused with 503".into(),
        ));
    };
    let keys: WebhookKeys = app
        .secrets
        .get_json(id)
        .await
        .map_err(|e| secret_problem(&e, whose))?;
    let current = keys.signing_key.expose_secret();
    if current.is_empty() {
        return Err(format!("secret {id}: signingKey is empty"));
    }
    match keys
        .previous_signing_key
        .as_ref()
        .map(|k| k.expose_secret())
    {
        Some(previous) if previous == current => Err(format!(
            "secret {id}: previousSigningKey equals signingKey; a rotation needs a new signingKey"
        )),
        Some(_) => Ok(format!("secret {id} readable; rotating: both keys accepted{whose}").into()),
        None => Ok(format!("secret {id} readable; one signing key{whose}").into()),
    }
}

async fn org_map(app: &App, whose: &str) -> Finding {
    if app.settings.org_secrets.is_empty() {
        return Ok(Found::NotConfigured(
            "no GENESYS_ORG_SECRETS: every event uses GENESYS_SECRET_ID".into(),
        ));
    }
    let deadline = Deadline::after(app.clock.as_ref(), GENESYS_BUDGET);
    let mut problems = Vec::new();
    for (org, secret_id) in &app.settings.org_secrets {
        if let Err(e) = app.secrets.get_json::<GenesysCredentials>(secret_id).await {
            problems.push(format!("org {org}: {}", secret_problem(&e, "")));
            continue;
        }
        let Ok(client) = app.orgs.client(Some(*org)) else {
            continue;
        };
        if let Err(e) = genesys_org(client, Some(*org), deadline).await {
            problems.push(format!("org {org}: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "{} org(s): every secret readable and its token names its org{whose}",
            app.settings.org_secrets.len()
        )
        .into())
    } else {
        Err(problems.join("; "))
    }
}

async fn new_relic(app: &App, options: &Options) -> Finding {
    let Some(sink) = app.new_relic.as_ref() else {
        return Ok(Found::NotConfigured(
            "no NEW_RELIC_ACCOUNT_ID: no New Relic events".into(),
        ));
    };
    let described = sink.describe().await?;
    if !options.send_test_event {
        return Ok(
            format!("{described} (--send-test-event posts one GenesysWrapUpDoctor event)").into(),
        );
    }
    let mut event = Event::new();
    event.insert("message".into(), "doctor test event".into());
    event.insert("dryRun".into(), u8::from(app.handler.dry_run).into());
    sink.send_test_event(event).await?;
    Ok(format!("{described}; a GenesysWrapUpDoctor event was accepted").into())
}

async fn queues(app: &App, whose: &str) -> Finding {
    let queues = [
        (
            "attention",
            app.settings.handler.attention_queue_url.as_deref(),
        ),
        ("buffer", app.settings.buffer_queue_url.as_deref()),
    ];
    let mut reached = Vec::new();
    let mut problems = Vec::new();
    for (name, url) in queues {
        let Some(url) = url else { continue };
        match app.queues.check(url).await {
            Ok(()) => reached.push(format!("{name} queue reachable")),
            Err(e) => problems.push(format!("{name} queue: {e}{whose}")),
        }
    }
    if let Some(key) = app.settings.kms_key_arn.as_deref() {
        match kms_key(key, whose).await {
            Ok(found) => reached.push(found),
            Err(problem) => problems.push(problem),
        }
    }
    match (reached.is_empty(), problems.is_empty()) {
        (true, true) => Ok(Found::NotConfigured(
            "no ATTENTION_QUEUE_URL: rejections are only logged".into(),
        )),
        (_, true) => Ok(format!("{}{whose}", reached.join("; ")).into()),
        _ => Err(problems.join("; ")),
    }
}

/// With a customer managed key, EventBridge must be allowed to use it: it encrypts what it
/// delivers into the queues, and without the key it drops the events (DroppedEventsAlarm).
async fn kms_key(key: &str, whose: &str) -> Result<String, String> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let policy = aws_sdk_kms::Client::new(&aws)
        .get_key_policy()
        .key_id(key)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| {
            format!(
                "key {key}: {}",
                crate::aws_errors::explain(&e, "kms:GetKeyPolicy", &format!("key {key}"))
            )
        })?
        .policy
        .unwrap_or_default();
    if allows_eventbridge(&policy) {
        Ok(format!(
            "key {key}: its policy lets EventBridge encrypt into the queues{whose}"
        ))
    } else {
        Err(format!(
            "key {key}: its policy does not let EventBridge (events.amazonaws.com) use it (kms:GenerateDataKey, kms:Decrypt), so EventBridge cannot deliver into the encrypted queues: add the statement in docs/security.md{whose}"
        ))
    }
}

/// Whether a key policy allows `events.amazonaws.com` to generate data keys and decrypt.
fn allows_eventbridge(policy: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut actions = Vec::new();
    for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let principal = &s["Principal"];
        let eventbridge = principal == "*"
            || list(&principal["Service"])
                .iter()
                .any(|p| p == "events.amazonaws.com");
        if eventbridge {
            actions.extend(list(&s["Action"]));
        }
    }
    // IAM matches actions ignoring case, with `*` as a wildcard at the end.
    let allows = |wanted: &str| {
        let wanted = wanted.to_ascii_lowercase();
        actions.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            match a.strip_suffix('*') {
                Some(prefix) => wanted.starts_with(prefix),
                None => a == wanted,
            }
        })
    };
    allows("kms:GenerateDataKey") && allows("kms:Decrypt")
}

/// The checks here, with this machine's AWS credentials.
pub(crate) async fn local(options: &Options) -> Report {
    let failed = |detail: String| Report::new(vec![check(Name::Settings, Err(detail))]);
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => return failed(e.to_string()),
    };
    match App::from_settings(settings).await {
        Ok(app) => run(&app, options, RunAs::Caller).await,
        Err(e) => failed(e.to_string()),
    }
}

/// The checks inside the deployed function, as its role: a direct invoke only. A function that
/// cannot be invoked, or answers no report, is one failed `function` check.
pub(crate) async fn remote(function: &str, options: &Options) -> Report {
    remote_report(function, options)
        .await
        .unwrap_or_else(|problem| {
            Report::new(vec![Check {
                name: "function".into(),
                ok: false,
                state: State::Failed,
                detail: problem,
            }])
        })
}

async fn remote_report(function: &str, options: &Options) -> Result<Report, String> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let payload = serde_json::to_vec(&json!({ "doctor": options }))
        .map_err(|e| format!("could not encode the request: {e}"))?;
    let out = aws_sdk_lambda::Client::new(&aws)
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not invoke {function}: {}",
                crate::aws_errors::explain(
                    &e,
                    "lambda:InvokeFunction",
                    &format!("function {function}")
                )
            )
        })?;
    let body = out.payload.map(|p| p.into_inner()).unwrap_or_default();
    if let Some(error) = out.function_error {
        return Err(format!(
            "the function failed ({error}): {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(500)
                .collect::<String>()
        ));
    }
    serde_json::from_slice(&body).map_err(|e| {
        format!("the function's answer is not a doctor report ({e}): is {function} this function, at this version?")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_policy_must_let_eventbridge_generate_data_keys_and_decrypt() {
        let policy = |statements: serde_json::Value| {
            json!({"Version": "2012-10-17", "Statement": statements}).to_string()
        };
        let root = json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                          "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"});
        let eventbridge = json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                 "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"});
        assert!(!allows_eventbridge(&policy(json!([root.clone()]))));
        assert!(allows_eventbridge(&policy(json!([
            root.clone(),
            eventbridge.clone()
        ]))));
        let decrypt_only = json!({"Effect": "Allow", "Principal": {"Service": ["sqs.amazonaws.com", "events.amazonaws.com"]},
                                  "Action": "kms:Decrypt", "Resource": "*"});
        assert!(!allows_eventbridge(&policy(json!([decrypt_only]))));
        let data_keys_only = json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                    "Action": "kms:GenerateDataKey*", "Resource": "*"});
        assert!(!allows_eventbridge(&policy(json!(
            [data_keys_only.clone()]
        ))));
        let wildcards = json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                               "Action": ["KMS:decrypt", "kms:GenerateDataKey*"], "Resource": "*"});
        assert!(allows_eventbridge(&policy(json!([wildcards]))));
        let denied = json!({"Effect": "Deny", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:*", "Resource": "*"});
        assert!(!allows_eventbridge(&policy(json!([denied]))));
        assert!(!allows_eventbridge("not json"));
    }
}
