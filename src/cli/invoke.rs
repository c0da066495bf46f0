//! Running the handler: as the Lambda function, once on an event file (`invoke`), and signing
//! webhook bodies (`sign`).

use super::output::{self, USAGE};
use crate::app::App;
use crate::clock::{Clock, Deadline, SystemClock};
use crate::error::{Transient, TransientKind};
use crate::handler::{handle, Invocation};
use crate::triggers::{shape, signature, Shape};
use crate::wrapup::{Outcome, Reason};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The function timeout of the template: the deadline `invoke` gives itself, and the cap of a
/// deadline a local Runtime API sends as a budget.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// `--sandbox` needs the emulator, which the deployed binary does not carry.
const NO_SANDBOX: &str = "--sandbox needs the built-in sandbox: cargo run --release --features sandbox -- invoke --sandbox FILE";

/// The Lambda function, as Lambda starts it. Outside Lambda (no Runtime API) it says so in one
/// line instead of letting the runtime panic.
pub(super) async fn lambda() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        output::problem(
            "not inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set): run a command instead, e.g. `genesys-wrapup invoke --sandbox events/eventbridge-custom.json` (see genesys-wrapup --help)",
        );
        return ExitCode::from(USAGE);
    }
    run_lambda().await
}

async fn run_lambda() -> ExitCode {
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            output::problem(&e.to_string());
            return ExitCode::FAILURE;
        }
    };
    match &app.leases {
        Some(leases) => tracing::info!(
            event = "delivery_guarantee",
            lockTable = leases.table(),
            "one instance at a time per conversation: leases in the DynamoDB table {}",
            leases.table()
        ),
        None => tracing::warn!(
            event = "delivery_guarantee",
            "at least once: WRAPUP_LOCK_TABLE is not set, so two instances handed the same request at the same instant may both write it; set it to the template's lock table"
        ),
    }
    // Still INIT: Lambda freezes the process once it asks for the first event, so what is
    // fetched for that event is fetched now, bounded, or not at all.
    app.prefetch().await;
    let app = &app;
    let result = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::new(
            event.context.request_id.clone(),
            runtime_deadline(event.context.deadline),
        )
        .with_trace_id(event.context.xray_trace_id.clone());
        handle(app, &event.payload, &invocation).await
    }))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::problem(&format!("lambda runtime stopped: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// The invocation's deadline; a local Runtime API's relative budget is said once.
fn runtime_deadline(ms: u64) -> Deadline {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let (deadline, relative) = Deadline::from_runtime(ms, &SystemClock, FUNCTION_TIMEOUT);
    if relative && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            deadlineMs = ms,
            "the Runtime API's deadline is not an epoch time (a local emulator?); read as a budget of at most {} s",
            FUNCTION_TIMEOUT.as_secs()
        );
    }
    deadline
}

/// `invoke`: the handler once, on the event in `file`.
pub(super) async fn invoke(file: &Path, use_sandbox: bool, dry_run: bool) -> ExitCode {
    if use_sandbox && !cfg!(feature = "sandbox") {
        output::problem(NO_SANDBOX);
        return ExitCode::from(USAGE);
    }
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) => {
            output::problem(&format!("cannot read {}: {e}", file.display()));
            return ExitCode::from(USAGE);
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut event: Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => {
            let outcome =
                Outcome::decided(Reason::InvalidEvent, format!("the event is not JSON: {e}"));
            output::json(&outcome);
            return ExitCode::SUCCESS;
        }
    };
    // The sandbox must outlive the invocation: it serves the Genesys calls.
    let started = if use_sandbox {
        sandboxed(&mut event, clock.clone(), dry_run).await
    } else {
        App::from_lookup(|name| match name {
            "WRAPUP_DRY_RUN" if dry_run => Some("true".to_owned()),
            _ => std::env::var(name).ok(),
        })
        .await
        .map(|app| (app, None))
        .map_err(|e| {
            format!(
                "{e} (or run it on the built-in sandbox, with no configuration: genesys-wrapup invoke --sandbox {})",
                file.display()
            )
        })
    };
    let (app, _sandbox) = match started {
        Ok(started) => started,
        Err(e) => {
            output::problem(&e);
            return ExitCode::from(USAGE);
        }
    };
    let invocation = Invocation::new(
        format!("invoke-{}", uuid::Uuid::new_v4()),
        Deadline::after(clock.as_ref(), FUNCTION_TIMEOUT),
    );
    let result = tokio::time::timeout(FUNCTION_TIMEOUT, handle(&app, &event, &invocation))
        .await
        .unwrap_or_else(|_| {
            Err(Transient::new(
                TransientKind::Upstream,
                "the invocation reached its 30 s deadline",
            ))
        });
    match result {
        Ok(reply) => {
            output::json(&reply);
            ExitCode::SUCCESS
        }
        Err(t) => {
            output::problem(&format!("error (the platform would retry): {t}"));
            let diagnostic = lambda_runtime::Diagnostic::from(t);
            output::json(
                &json!({"errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message}),
            );
            ExitCode::FAILURE
        }
    }
}

/// `sign`: the signature headers for a body, or an HTTP event signed again.
pub(super) fn sign(file: &Path, use_sandbox: bool) -> ExitCode {
    if use_sandbox && !cfg!(feature = "sandbox") {
        output::problem(NO_SANDBOX);
        return ExitCode::from(USAGE);
    }
    let Some(key) = use_sandbox
        .then(sandbox_key)
        .flatten()
        .or_else(|| std::env::var("WEBHOOK_SIGNING_KEY").ok())
        .filter(|k| !k.is_empty())
    else {
        output::problem(
            "set WEBHOOK_SIGNING_KEY to the signingKey of the webhook secret (or use --sandbox)",
        );
        return ExitCode::from(USAGE);
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            output::problem(&format!("cannot read {}: {e}", file.display()));
            return ExitCode::from(USAGE);
        }
    };
    let now = SystemClock.unix_seconds();
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut event) if shape(&event) == Shape::Http => {
            signature::resign_event(&mut event, key.as_bytes(), now);
            output::json(&event);
        }
        _ => {
            let signature = signature::sign(key.as_bytes(), now, &bytes);
            output::json(
                &json!({"X-Signature-Timestamp": now.to_string(), "X-Signature-256": signature}),
            );
        }
    }
    ExitCode::SUCCESS
}

#[cfg(feature = "sandbox")]
type Sandbox = crate::sandbox::Sandbox;
#[cfg(not(feature = "sandbox"))]
type Sandbox = std::convert::Infallible;

/// The app on the built-in sandbox, with the event's HTTP signature renewed.
#[cfg(feature = "sandbox")]
async fn sandboxed(
    event: &mut Value,
    clock: Arc<dyn Clock>,
    dry_run: bool,
) -> Result<(App, Option<Sandbox>), String> {
    let sandbox = Sandbox::start()
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    crate::sandbox::resign_sample(event, clock.unix_seconds());
    // The settings a person may bring to the sandbox: their own rules, and a lease table (a
    // local DynamoDB such as moto's, to see leases and remembered requests at work).
    let passed: Vec<(&str, String)> = [
        "WRAPUP_RULES_FILE",
        "WRAPUP_LOCK_TABLE",
        "WRAPUP_IDEMPOTENCY_TTL",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ]
    .into_iter()
    .filter_map(|name| Some((name, std::env::var(name).ok().filter(|v| !v.is_empty())?)))
    .collect();
    let mut overrides: Vec<(&str, &str)> = passed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if dry_run {
        overrides.push(("WRAPUP_DRY_RUN", "true"));
    }
    let app = sandbox
        .app(&overrides, clock)
        .await
        .map_err(|e| e.to_string())?;
    Ok((app, Some(sandbox)))
}

#[cfg(not(feature = "sandbox"))]
async fn sandboxed(
    _: &mut Value,
    _: Arc<dyn Clock>,
    _: bool,
) -> Result<(App, Option<Sandbox>), String> {
    Err(NO_SANDBOX.to_owned())
}

#[cfg(feature = "sandbox")]
fn sandbox_key() -> Option<String> {
    Some(crate::sandbox::demo::SIGNING_KEY.to_owned())
}

#[cfg(not(feature = "sandbox"))]
fn sandbox_key() -> Option<String> {
    None
}
