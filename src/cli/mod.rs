//! The binary's commands: the Lambda runtime (no arguments, as Lambda starts it), `invoke` (one
//! event through the exact handler the runtime runs), `sign` (webhook signatures), `doctor` (a
//! deployment checked link by link, here or inside the function), `rules check` (a rule set
//! checked before it is used) and `redrive` (what the attention queue holds, sent on again or
//! dropped).
//!
//! Every answer is one line with the fix: usage errors exit 2, `--help` and `--version` print on
//! stdout and exit 0, and nothing panics (a closed pipe, a missing file, no Lambda around).
//!
//! Here: the command line (clap), the runtime, `sign` and `doctor`; one file per other command:
//! `invoke.rs`, `rules.rs` (`rules check`), `redrive.rs`; `output.rs` prints results and
//! problems the same way for all of them.

mod invoke;
mod output;
mod redrive;
mod rules;

use crate::doctor;
use crate::wrapup::CodeRef;
use clap::{Args, CommandFactory, Parser, Subcommand};
use output::USAGE;
use redrive::RedriveArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

/// Applies Genesys Cloud wrap-up codes to ended conversations, as an AWS Lambda function.
///
/// Without a command it runs as the Lambda function (Lambda starts it so). The commands run the
/// same code from a laptop or CI: try `genesys-wrapup invoke --sandbox events/eventbridge-custom.json`.
#[derive(Debug, Parser)]
#[command(name = "genesys-wrapup", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the handler once on the event in FILE and print its result (one JSON document).
    ///
    /// Exit 0 when the handler succeeded, 1 when it returned an error the platform would
    /// retry. Uses the deployment's configuration (environment and Secrets Manager), or with
    /// --sandbox the built-in Genesys Cloud emulator and in-memory secrets.
    Invoke {
        /// Run against the built-in sandbox: no AWS, no Genesys, no configuration.
        #[arg(long)]
        sandbox: bool,
        /// Every read and check, no write (WRAPUP_DRY_RUN=true).
        #[arg(long)]
        dry_run: bool,
        /// The event: any sample in events/, or one of your own.
        file: PathBuf,
    },
    /// Sign FILE for the webhook with WEBHOOK_SIGNING_KEY.
    ///
    /// An HTTP event is printed re-signed; any other file is taken as the raw body and the two
    /// signature headers are printed.
    Sign {
        /// Sign with the sandbox's key.
        #[arg(long)]
        sandbox: bool,
        /// The body, or an HTTP API (payload 2.0) event.
        file: PathBuf,
    },
    /// Check a deployment's configuration end to end, one line per link with the fix.
    ///
    /// Exit 0 when every check passes, 1 when one fails. Never writes to Genesys.
    Doctor(DoctorArgs),
    /// Wrap-up rules for Genesys events.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Send what waits in the attention queue on again, once its cause is fixed (or drop it).
    ///
    /// Recognises the function's own rejections, Lambda on-failure records, EventBridge
    /// dead letters and messages SQS moved from the buffer queue; sends each original event to
    /// a queue or the function, and deletes a message only once it was sent. Each line names
    /// the conversation and why the message is there. A run takes only what was in the queue
    /// when it started: a replay that fails again waits for the next run.
    Redrive(RedriveArgs),
}

#[derive(Debug, Args)]
struct DoctorArgs {
    /// Print {"ok", "checks": [{"name", "ok", "state", "detail"}]} instead of lines.
    #[arg(long)]
    json: bool,
    /// Also read this conversation (proves conversation:communication:view).
    #[arg(long, value_name = "UUID", value_parser = uuid_arg)]
    conversation: Option<Uuid>,
    /// Plan this code (an id or a name) for --conversation through the dry-run pipeline.
    #[arg(long, value_name = "UUID|NAME", requires = "conversation", value_parser = code_arg)]
    code: Option<String>,
    /// Check this org's client (with GENESYS_ORG_SECRETS).
    #[arg(long, value_name = "UUID", value_parser = uuid_arg)]
    org: Option<Uuid>,
    /// Post one GenesysWrapUpDoctor event to New Relic.
    #[arg(long)]
    send_test_event: bool,
    /// Run the checks inside this deployed function, as its role (a direct invoke).
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Check a rule set before it is used: what the function would refuse, and with
    /// --resolve whether every code and queue exists.
    ///
    /// Exit 0 when valid, 1 when a problem was found, 2 on a usage error or an unreadable file.
    Check {
        /// A rules file; without it, the rules the function would load (WRAPUP_RULES,
        /// WRAPUP_RULES_FILE or WRAPUP_RULES_PARAMETER).
        file: Option<PathBuf>,
        /// Also ask Genesys, with the function's credentials, that every code and queue exists.
        #[arg(long)]
        resolve: bool,
        /// Print {"ok", "rules", "problems": [{"rule", "field", "message"}]} instead of lines.
        #[arg(long)]
        json: bool,
    },
}

fn uuid_arg(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text.trim()).map_err(|_| format!("{text:?} is not a UUID"))
}

fn code_arg(text: &str) -> Result<String, String> {
    CodeRef::parse(text).map(|_| text.to_owned())
}

/// The binary: with no arguments the Lambda runtime (as Lambda starts it), else a command.
/// `args` are the process's arguments after the program name. Returns the exit code.
pub async fn run(args: Vec<String>) -> ExitCode {
    // The command a usage error is about, when clap's message does not say (a bad value).
    let command = args.first().filter(|a| !a.starts_with('-')).cloned();
    let argv = std::iter::once("genesys-wrapup".to_owned()).chain(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => return clap_answer(e, command.as_deref()),
    };
    // Each command's future is built on the heap, in a frame of its own (see `on_heap`).
    match cli.command {
        None => on_heap(invoke::lambda).await,
        Some(Command::Invoke {
            sandbox,
            dry_run,
            file,
        }) => on_heap(|| invoke::invoke(&file, sandbox, dry_run)).await,
        Some(Command::Sign { sandbox, file }) => invoke::sign(&file, sandbox),
        Some(Command::Doctor(args)) => on_heap(|| doctor(args)).await,
        Some(Command::Rules {
            command:
                RulesCommand::Check {
                    file,
                    resolve,
                    json,
                },
        }) => on_heap(|| rules::check(file.as_deref(), resolve, json)).await,
        Some(Command::Redrive(args)) => on_heap(|| redrive::run(args)).await,
    }
}

/// A command's future, made and moved to the heap in a function of its own. A future holds
/// the state of everything it awaits (`doctor`'s is tens of kilobytes), and a stack frame is
/// touched page by page, one page fault each, when its function is entered: built in `run`,
/// every command's future would enlarge `run`'s frame and so every cold start. Here only the
/// command that runs pays for its own. docs/performance.md, "Start-up".
#[inline(never)]
fn on_heap<F: std::future::Future<Output = ExitCode>>(
    make: impl FnOnce() -> F,
) -> std::pin::Pin<Box<F>> {
    Box::pin(make())
}

/// `--help` and `--version` on stdout (exit 0); a usage error as one line with its hint on
/// stderr (exit 2). `command`: the command line's first word, for messages that name none.
fn clap_answer(e: clap::Error, command: Option<&str>) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            output::text(&e.to_string());
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let command = command_of(&e.to_string());
            output::problem(&format!("{command} needs a command (see {command} --help)"));
            ExitCode::from(USAGE)
        }
        _ => {
            let known = command.filter(|c| Cli::command().find_subcommand(c).is_some());
            output::problem(&one_line(&e.to_string(), known));
            ExitCode::from(USAGE)
        }
    }
}

/// clap's error and tip on one line, with where to read more (the command's own `--help`:
/// from clap's `Usage:` line, else `command`).
fn one_line(text: &str, command: Option<&str>) -> String {
    let mut line = String::new();
    for part in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
    {
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(part);
    }
    let mut about = command_of(text);
    if let (true, Some(command)) = (about == "genesys-wrapup", command) {
        about = format!("genesys-wrapup {command}");
    }
    format!("{line} (see {about} --help)")
}

/// The command a clap message is about, from its `Usage:` line (`genesys-wrapup redrive`).
fn command_of(text: &str) -> String {
    let usage = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))
        .unwrap_or("genesys-wrapup");
    usage
        .split_whitespace()
        .take_while(|w| !w.starts_with(['-', '<', '[']))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `doctor`: exit 0 when every check passes, 1 when one fails.
async fn doctor(args: DoctorArgs) -> ExitCode {
    let options = doctor::Options {
        conversation: args.conversation,
        code: args.code,
        org: args.org,
        send_test_event: args.send_test_event,
    };
    let (report, run_as) = match &args.function {
        Some(function) => (
            doctor::remote(function, &options).await,
            doctor::RunAs::Function,
        ),
        None => (doctor::local(&options).await, doctor::RunAs::Caller),
    };
    if args.json {
        output::json(&report);
    } else {
        output::text(&report.human(run_as));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
