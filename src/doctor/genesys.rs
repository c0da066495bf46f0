//! The checks that need Genesys, in a chain where each link needs the ones before it: the
//! secret (readable, the JSON expected, an environment), the token (the login host takes the
//! client), the org the token belongs to, the wrap-up codes the role may see, the codes and
//! queues the rules name, an optional conversation and the plan for it (the dry-run pipeline).
//! A failure here means no wrap-up is written for that org until it is fixed: events wait and
//! are retried (credentials, throttling) or are rejected (a missing permission), and the line
//! says which permission or setting to fix. A broken link skips what depends on it instead of
//! timing out again. The rules themselves need no Genesys and are always checked.

use super::report::{check, skipped, timed, Check, Finding, Found, Name, Options};
use crate::app::App;
use crate::clock::Deadline;
use crate::error::TransientKind;
use crate::genesys::{ErrorClass, GenesysClient, GenesysError};
use crate::pipeline;
use crate::rules::{Rule, RuleSet};
use crate::secrets::{GenesysCredentials, SecretError};
use crate::wrapup::{ApplyRequest, CodeRef, Overwrite, Request, Status, Wanted};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// All of Genesys's checks together, inside a Lambda invocation's 30 s.
pub(super) const GENESYS_BUDGET: Duration = Duration::from_secs(25);

/// The chain that needs Genesys: secret → token → org → codes → rule codes → conversation →
/// plan. A broken link skips what depends on it, saying so, instead of timing out again; the
/// rules themselves need no Genesys and are always checked.
pub(super) async fn checks(app: &App, options: &Options, whose: &str) -> Vec<Check> {
    let deadline = Deadline::after(app.clock.as_ref(), GENESYS_BUDGET);
    let rules = app.rules.current().await;
    let rules_check = check(Name::Rules, loaded(&rules, app.rules.problem()));
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
    let uses = rules.as_ref().is_ok_and(|set| {
        set.rules
            .iter()
            .any(|r| r.observe || matches!(r.wrap_up_code, Some(CodeRef::Predicted(_))))
    });
    checks.push(check(
        Name::Predictions,
        timed(predictions(client, options, uses, deadline)).await,
    ));
    checks.push(check(
        Name::Conversation,
        timed(conversation(client, options, deadline)).await,
    ));
    checks.push(check(Name::Plan, timed(plan(app, options, deadline)).await));
    checks.push(write_permission());
    checks
}

/// Genesys Copilot: the role may read summaries (`conversation:summary:view`, with a read of
/// `--conversation`'s, else of a made-up conversation's, which Genesys answers 404 when the
/// role may and 403 when it may not), and an assistant of the org predicts wrap-up codes.
/// Required only when a rule uses predicted codes or `observe`.
async fn predictions(
    client: &GenesysClient,
    options: &Options,
    uses: bool,
    deadline: Deadline,
) -> Finding {
    let (probe, probed) = match options.conversation {
        Some(id) => (id, "conversation"),
        None => (Uuid::new_v4(), "a made-up conversation"),
    };
    let permission =
        match client.get_summaries(probe, deadline).await {
            Ok(Some(s)) => Ok(format!(
            "summaries readable (conversation:summary:view holds): {} session summar{} of {probed}",
            s.session_summaries.len(),
            if s.session_summaries.len() == 1 { "y" } else { "ies" }
        )),
            Ok(None) => Ok(format!(
                "summaries readable (conversation:summary:view holds; {probed} has none)"
            )),
            Err(e) if e.class == ErrorClass::Forbidden => Err(permission_problem(
                &e,
                "conversation:summary:view",
                "in the conversations' divisions",
            )),
            Err(e) => Err(format!("the summaries could not be read: {e}")),
        };
    let assistant = match client.copilot_predicts_codes(deadline).await {
        Ok(Some(true)) => Ok("an assistant of the org predicts wrap-up codes".to_owned()),
        Ok(Some(false)) => Err("no assistant of the org predicts wrap-up codes: turn on wrap-up code prediction in the Copilot assistant (Admin > Copilot), or nothing is ever predicted".to_owned()),
        Ok(None) => Err("the org has no Copilot assistant: Agent Copilot (its licence and an assistant with wrap-up code prediction) is what predicts codes".to_owned()),
        Err(e) if e.class == ErrorClass::Forbidden => Ok(format!(
            "whether an assistant predicts codes is not known: {}",
            permission_problem(&e, "assistants:copilot:view", "")
        )),
        Err(e) => Ok(format!("whether an assistant predicts codes is not known: {e}")),
    };
    let said = |r: &Result<String, String>| match r {
        Ok(s) | Err(s) => s.clone(),
    };
    if !uses {
        return Ok(Found::NotConfigured(format!(
            "no rule uses predicted codes or observe (apply requests may still name one); {}; {}",
            said(&permission),
            said(&assistant)
        )));
    }
    match (permission, assistant) {
        (Ok(p), Ok(a)) => Ok(Found::Passed(format!("{p}; {a}"))),
        (p, a) => Err([p, a]
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// The rules as the function holds them: loaded, kept from before a bad change, or none.
fn loaded(rules: &Result<Arc<RuleSet>, String>, problem: Option<String>) -> Finding {
    match (rules, problem) {
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
    }
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
pub(super) fn secret_problem(e: &SecretError, whose: &str) -> String {
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

pub(super) async fn genesys_org(
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

async fn rule_codes(client: &GenesysClient, rules: &[Rule], deadline: Deadline) -> Finding {
    if rules.is_empty() {
        return Ok(Found::NotConfigured("no rules".into()));
    }
    let (problems, found) = crate::rules::resolve(client, rules, deadline).await;
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
    let context = pipeline::Context {
        orgs: &app.orgs,
        rules,
        clock: app.clock.as_ref(),
        deadline,
        dry_run: true,
        exclusive: None,
        summaries: &pipeline::SummaryCache::default(),
        prediction_wait: app.handler.prediction_wait,
    };
    // A plan is no request: nothing is remembered about it.
    let outcome = pipeline::run(&context, &request, None).await;
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
