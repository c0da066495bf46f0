//! The binary's commands: the Lambda runtime (no arguments), `invoke` (one event through the
//! exact handler the runtime runs), `sign` (webhook signatures for real deployments), `doctor`
//! (a deployment checked link by link, here or inside the function) and `help`.

use crate::app::App;
use crate::clock::{Clock, Deadline, SystemClock};
use crate::doctor;
use crate::error::{Transient, TransientKind};
use crate::handler::{handle, Invocation};
use crate::triggers::{shape, signature, Shape};
use crate::wrapup::{CodeRef, Outcome, Reason};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The function timeout of the template: the deadline `invoke` gives itself, and the cap of a
/// deadline a local Runtime API sends as a budget.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "usage:
  genesys-wrapup                          run as the AWS Lambda function (the Lambda runtime calls this)
  genesys-wrapup invoke [--sandbox] [--dry-run] FILE
                                          run the handler once on the event in FILE; print the result JSON
                                          (--dry-run: every read and check, no write; WRAPUP_DRY_RUN=true)
  genesys-wrapup sign [--sandbox] FILE    sign FILE for the webhook with WEBHOOK_SIGNING_KEY
                                          (an HTTP event is printed re-signed; any other file is taken as
                                          the raw body and the two signature headers are printed)
  genesys-wrapup doctor [--json] [--conversation UUID [--code UUID|NAME] [--org UUID]]
                        [--send-test-event] [--function NAME]
                                          check the deployment's configuration, one line per link; with
                                          --function, inside the deployed function as its role (never writes)";

/// `--sandbox` needs the emulator, which the deployed binary does not carry.
const NO_SANDBOX: &str = "--sandbox needs the built-in sandbox: cargo run --release --features sandbox -- invoke --sandbox FILE";

struct Args<'a> {
    command: Option<&'a str>,
    sandbox: bool,
    dry_run: bool,
    file: Option<&'a str>,
}

fn parse(args: &[String]) -> Option<Args<'_>> {
    let mut parsed = Args {
        command: None,
        sandbox: false,
        dry_run: false,
        file: None,
    };
    for arg in args {
        match arg.as_str() {
            "--sandbox" => parsed.sandbox = true,
            "--dry-run" => parsed.dry_run = true,
            flag if flag.starts_with('-') => return None,
            word if parsed.command.is_none() => parsed.command = Some(word),
            word if parsed.file.is_none() => parsed.file = Some(word),
            _ => return None,
        }
    }
    Some(parsed)
}

/// The binary: with no arguments the Lambda runtime (as Lambda starts it), else a command
/// (`invoke`, `sign`, `doctor`, `help`). Returns the process's exit code.
pub async fn run(args: Vec<String>) -> ExitCode {
    let usage = || {
        eprintln!("{USAGE}");
        ExitCode::from(2)
    };
    if args.first().map(String::as_str) == Some("doctor") {
        return match DoctorArgs::parse(&args[1..]) {
            Ok(parsed) => doctor(parsed).await,
            Err(problem) => {
                eprintln!("{problem}\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let Some(args) = parse(&args) else {
        return usage();
    };
    if args.sandbox && !cfg!(feature = "sandbox") {
        eprintln!("{NO_SANDBOX}");
        return ExitCode::from(2);
    }
    match (args.command, args.file) {
        (None, None) if !args.sandbox && !args.dry_run => run_lambda().await,
        (Some("invoke"), Some(file)) => invoke(file, args.sandbox, args.dry_run).await,
        (Some("sign"), Some(file)) if !args.dry_run => sign(file, args.sandbox),
        (Some("help"), None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage(),
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
            runtime_deadline(event.context.deadline),
        );
        handle(app, &event.payload, &invocation).await
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

/// The invocation's deadline; a local Runtime API's relative budget is said once.
fn runtime_deadline(ms: u64) -> Deadline {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let (deadline, relative) = Deadline::from_runtime(ms, &SystemClock, FUNCTION_TIMEOUT);
    if relative && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            deadline_ms = ms,
            "the Runtime API's deadline is not an epoch time (a local emulator?); read as a budget of at most {} s",
            FUNCTION_TIMEOUT.as_secs()
        );
    }
    deadline
}

async fn invoke(file: &str, use_sandbox: bool, dry_run: bool) -> ExitCode {
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
                Outcome::decided(Reason::InvalidEvent, format!("the event is not JSON: {e}"));
            print_json(&outcome);
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
        .map_err(|e| e.to_string())
    };
    let (app, _sandbox) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
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
            print_json(&reply);
            ExitCode::SUCCESS
        }
        Err(t) => {
            eprintln!("error (the platform would retry): {t}");
            let diagnostic = lambda_runtime::Diagnostic::from(t);
            print_json(
                &json!({"errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message}),
            );
            ExitCode::FAILURE
        }
    }
}

/// Exactly one JSON document on stdout.
fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("could not print the result: {e}"),
    }
}

fn sign(file: &str, use_sandbox: bool) -> ExitCode {
    let Some(key) = use_sandbox
        .then(sandbox_key)
        .flatten()
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
        Ok(mut event) if shape(&event) == Shape::Http => {
            signature::resign_event(&mut event, key.as_bytes(), now);
            print_json(&event);
        }
        _ => {
            let signature = signature::sign(key.as_bytes(), now, &bytes);
            print_json(
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
    let rules_file = std::env::var("WRAPUP_RULES_FILE").unwrap_or_default();
    let mut overrides = vec![];
    if !rules_file.is_empty() {
        overrides.push(("WRAPUP_RULES_FILE", rules_file.as_str()));
    }
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

struct DoctorArgs {
    json: bool,
    function: Option<String>,
    options: doctor::Options,
}

impl DoctorArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut parsed = Self {
            json: false,
            function: None,
            options: doctor::Options::default(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            let uuid = |name: &str, text: String| {
                uuid::Uuid::parse_str(&text).map_err(|_| format!("{name} must be a UUID"))
            };
            match arg.as_str() {
                "--json" => parsed.json = true,
                "--send-test-event" => parsed.options.send_test_event = true,
                "--function" => parsed.function = Some(value("--function")?),
                "--conversation" => {
                    parsed.options.conversation =
                        Some(uuid("--conversation", value("--conversation")?)?)
                }
                "--org" => parsed.options.org = Some(uuid("--org", value("--org")?)?),
                "--code" => {
                    let code = value("--code")?;
                    CodeRef::parse(&code)?;
                    parsed.options.code = Some(code);
                }
                other => return Err(format!("doctor does not take {other:?}")),
            }
        }
        if parsed.options.code.is_some() && parsed.options.conversation.is_none() {
            return Err("--code plans a wrap-up for --conversation: give both".into());
        }
        Ok(parsed)
    }
}

/// `doctor`: exit 0 when every check passes, 1 when one fails.
async fn doctor(args: DoctorArgs) -> ExitCode {
    let (report, run_as) = match &args.function {
        Some(function) => (
            doctor::remote(function, &args.options).await,
            doctor::RunAs::Function,
        ),
        None => (doctor::local(&args.options).await, doctor::RunAs::Caller),
    };
    if args.json {
        print_json(&report);
    } else {
        print!("{}", report.human(run_as));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
