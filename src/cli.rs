//! The binary's commands: the Lambda runtime (no arguments), `invoke` (one event through the
//! exact handler the runtime runs) and `sign` (webhook signatures for real deployments).

use crate::app::{App, Invocation};
use crate::clock::{Clock, Deadline, SystemClock};
use crate::error::Transient;
use crate::sandbox::{self, Sandbox};
use crate::triggers::{self, signature};
use crate::wrapup::{Outcome, Reason};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The function timeout of the template, and the deadline `invoke` gives itself.
pub const INVOKE_DEADLINE: Duration = Duration::from_secs(30);

const USAGE: &str = "usage:
  genesys-wrapup                          run as the AWS Lambda function (the Lambda runtime calls this)
  genesys-wrapup invoke [--sandbox] FILE  run the handler once on the event in FILE; print the result JSON
  genesys-wrapup sign [--sandbox] FILE    sign FILE for the webhook with WEBHOOK_SIGNING_KEY
                                          (an HTTP event is printed re-signed; any other file is taken as
                                          the raw body and the two signature headers are printed)";

pub async fn main(args: Vec<String>) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => run_lambda().await,
        ["invoke", "--sandbox", file] | ["invoke", file, "--sandbox"] => invoke(file, true).await,
        ["invoke", file] if !file.starts_with('-') => invoke(file, false).await,
        ["sign", "--sandbox", file] => sign(file, Some(sandbox::demo::SIGNING_KEY.to_owned())),
        ["sign", file] if !file.starts_with('-') => sign(file, None),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn run_lambda() -> ExitCode {
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let app = &app;
    let result = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::new(
            event.context.request_id.clone(),
            Deadline::from_epoch_millis(event.context.deadline),
        );
        triggers::handle(app, event.payload, &invocation).await
    }))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lambda runtime stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn invoke(file: &str, use_sandbox: bool) -> ExitCode {
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut event: Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => {
            let outcome =
                Outcome::rejected(Reason::InvalidEvent, format!("the event is not JSON: {e}"));
            println!("{}", outcome.to_json());
            return ExitCode::SUCCESS;
        }
    };
    // The sandbox must outlive the invocation: it serves the Genesys calls.
    let (app, _sandbox) = if use_sandbox {
        let sandbox = match Sandbox::start().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot start the sandbox: {e}");
                return ExitCode::FAILURE;
            }
        };
        sandbox::resign_http_event(
            &mut event,
            sandbox::demo::SIGNING_KEY.as_bytes(),
            clock.unix_seconds(),
        );
        let mut settings = sandbox.settings();
        if let Some(path) = std::env::var_os("WRAPUP_RULES_FILE") {
            settings.rules = crate::config::RulesSetting::File(path.into());
        }
        match sandbox.app_with(settings, clock.clone()) {
            Ok(app) => (app, Some(sandbox)),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        match App::from_env().await {
            Ok(app) => (app, None),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    };
    let invocation = Invocation::new(
        format!("invoke-{}", uuid::Uuid::new_v4()),
        Deadline::after(clock.as_ref(), INVOKE_DEADLINE),
    );
    let result =
        tokio::time::timeout(INVOKE_DEADLINE, triggers::handle(&app, event, &invocation)).await;
    let result = result.unwrap_or_else(|_| {
        Err(Transient::new(
            crate::error::TransientKind::Upstream,
            "the invocation reached its 30 s deadline",
        ))
    });
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(t) => {
            eprintln!("error (the platform would retry): {t}");
            let diagnostic = lambda_runtime::Diagnostic::from(t);
            println!(
                "{}",
                json!({"errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message})
            );
            ExitCode::FAILURE
        }
    }
}

fn sign(file: &str, key: Option<String>) -> ExitCode {
    let Some(key) = key
        .or_else(|| std::env::var("WEBHOOK_SIGNING_KEY").ok())
        .filter(|k| !k.is_empty())
    else {
        eprintln!(
            "set WEBHOOK_SIGNING_KEY to the signingKey of the webhook secret (or use --sandbox)"
        );
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let now = SystemClock.unix_seconds();
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut event) if triggers::recognise(&event) == triggers::Envelope::Http => {
            if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
                headers.insert(
                    signature::SIGNATURE_HEADER.to_owned(),
                    Value::String(String::new()),
                );
            } else {
                event["headers"] = json!({signature::SIGNATURE_HEADER: ""});
            }
            sandbox::resign_http_event(&mut event, key.as_bytes(), now);
            println!("{event}");
        }
        _ => {
            let signature = signature::sign(key.as_bytes(), now, &bytes);
            println!(
                "{}",
                json!({"X-Signature-Timestamp": now.to_string(), "X-Signature-256": signature})
            );
        }
    }
    ExitCode::SUCCESS
}
