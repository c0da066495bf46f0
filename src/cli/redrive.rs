//! `redrive`: what the attention queue holds, sent on again or dropped for good. One line per
//! message (`<messageId> <kind> <reason> → sent | skipped (<why>) | failed (<why>) | dropped`,
//! then the conversation and the message's own words), then the counts.

use super::output::{self, USAGE};
use crate::redrive::{self, closest_reason, same_queue, Clients, Destination, Function, Options};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["to", "function", "drop"])))]
pub(super) struct RedriveArgs {
    /// The attention queue's URL.
    #[arg(long, value_name = "QUEUE_URL")]
    from: String,
    /// Send each original event to this queue (the buffer queue); not the --from queue.
    #[arg(long, value_name = "QUEUE_URL")]
    to: Option<String>,
    /// Send each original event to this function (an asynchronous invoke). A plain name or ARN
    /// goes through its alias `live`, which carries the retries and the on-failure destination;
    /// NAME:QUALIFIER or a qualified ARN is invoked as given.
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// Delete the selected messages for good instead of sending them, listing each (with
    /// --only-dry-run, or --reason, to say which).
    #[arg(long)]
    drop: bool,
    /// Only messages with this reason (repeatable): a rejection's reason, or lambda_failure,
    /// eventbridge_dlq and buffer_dlq for messages the platform moved.
    #[arg(long = "reason", value_name = "REASON", value_parser = reason_arg)]
    reasons: Vec<String>,
    /// Also the rejections of a dry run (left in place otherwise).
    #[arg(long)]
    include_dry_run: bool,
    /// Only the rejections of a dry run (to drop them once read).
    #[arg(long)]
    only_dry_run: bool,
    /// Handle at most this many messages.
    #[arg(long, value_name = "N")]
    max: Option<usize>,
    /// List what would be sent or dropped; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print {"sent", "skipped", "failed", "dropped", "messages": [...]} instead of lines.
    #[arg(long)]
    json: bool,
}

/// A reason a message in the attention queue can have; a typo names the closest one.
fn reason_arg(text: &str) -> Result<String, String> {
    let known = redrive::reasons();
    let reason = text.trim();
    if known.contains(&reason) {
        return Ok(reason.to_owned());
    }
    Err(match closest_reason(reason) {
        Some(close) => {
            format!("{reason:?} is not a reason the attention queue holds: did you mean {close}?")
        }
        None => format!(
            "{reason:?} is not a reason the attention queue holds (one of {})",
            known.join(", ")
        ),
    })
}

/// `redrive`: exit 0 when nothing failed, 1 when something did, 2 on a usage error.
pub(super) async fn run(args: RedriveArgs) -> ExitCode {
    let usage = |problem: &str| {
        output::problem(&format!("{problem} (see genesys-wrapup redrive --help)"));
        ExitCode::from(USAGE)
    };
    let to = match (args.to, args.function, args.drop) {
        (Some(queue), _, _) if same_queue(&queue, &args.from) => {
            return usage(
                "--to names the --from queue: every replay that fails again would be sent on again; --to takes the buffer queue",
            )
        }
        (Some(queue), _, _) => Destination::Queue(queue),
        (None, Some(function), _) => Destination::Function(Function::new(&function)),
        (None, None, true) => Destination::Drop,
        // clap requires one of them.
        (None, None, false) => return ExitCode::from(USAGE),
    };
    if matches!(to, Destination::Drop) && args.reasons.is_empty() && !args.only_dry_run {
        return usage(
            "--drop deletes messages for good: say which with --only-dry-run or --reason",
        );
    }
    let options = Options {
        from: args.from,
        to,
        reasons: args.reasons.into_iter().collect(),
        include_dry_run: args.include_dry_run,
        only_dry_run: args.only_dry_run,
        max: args.max,
        dry_run: args.dry_run,
    };
    let aws = match crate::http::sdk_config_from_env().await {
        Ok(aws) => aws,
        Err(problem) => {
            output::problem(&problem.to_string());
            return ExitCode::FAILURE;
        }
    };
    let clients = Clients {
        sqs: aws_sdk_sqs::Client::new(&aws),
        lambda: aws_sdk_lambda::Client::new(&aws),
    };
    let report = match redrive::run(&clients, &options).await {
        Ok(report) => report,
        Err(problem) => {
            output::problem(&problem);
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        output::json(&report);
    } else {
        let mut text = String::new();
        for m in &report.messages {
            let action = match m.action {
                redrive::Action::Sent | redrive::Action::Dropped => m.action.as_str().to_owned(),
                _ => format!("{} ({})", m.action.as_str(), m.detail),
            };
            text.push_str(&format!(
                "{} {} {} → {action}{}\n",
                m.message_id,
                m.kind,
                m.reason,
                about(m.conversation_id.as_deref(), m.message.as_deref())
            ));
        }
        text.push_str(&format!(
            "{} sent, {} skipped, {} failed",
            report.sent, report.skipped, report.failed
        ));
        if matches!(options.to, Destination::Drop) {
            text.push_str(&format!(", {} dropped", report.dropped));
        }
        text.push('\n');
        output::text(&text);
    }
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What a message is about, on its line: ` — conversation <id>: <message>` (on one line).
fn about(conversation: Option<&str>, message: Option<&str>) -> String {
    let message = message.map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "));
    match (conversation, message) {
        (Some(c), Some(m)) => format!(" — conversation {c}: {m}"),
        (Some(c), None) => format!(" — conversation {c}"),
        (None, Some(m)) => format!(" — {m}"),
        (None, None) => String::new(),
    }
}
