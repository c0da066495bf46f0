//! The checks of the AWS deployment around the function, each on its own: the webhook's
//! signing secret, the org map's secrets (and that each token names its org), New Relic, the
//! attention and buffer queues (and a customer managed key EventBridge must be allowed to use)
//! and the lease table. A failure here degrades one path, never every wrap-up: webhooks answer
//! 503, one mapped org's events wait, New Relic stays empty, rejections are only logged or
//! EventBridge drops events into the dead-letter count, or deliveries fall back to at least
//! once; the line names the resource and the permission or setting to fix.

use super::genesys::{genesys_org, secret_problem, GENESYS_BUDGET};
use super::report::{check, timed, Check, Finding, Found, Name, Options};
use crate::app::App;
use crate::clock::Deadline;
use crate::secrets::{GenesysCredentials, WebhookKeys};
use crate::telemetry::newrelic::Event;
use futures_util::future::join;
use secrecy::ExposeSecret;

/// The links that need no Genesys: webhook secret, org map, New Relic, queues, lock table.
pub(super) async fn checks(app: &App, options: &Options, whose: &str) -> Vec<Check> {
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
    let aws = crate::http::sdk_config_from_env()
        .await
        .map_err(|e| e.to_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
