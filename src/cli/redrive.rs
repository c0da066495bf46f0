//! `redrive`: what the attention queue holds, sent on again. One line per message
//! (`<messageId> <kind> <reason> → sent | skipped (<why>) | failed (<why>)`), then the counts.

use super::output::{self, USAGE};
use crate::redrive::{self, Action, Clients, Destination, Options};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["to", "function"])))]
pub(super) struct RedriveArgs {
    /// The attention queue's URL.
    #[arg(long, value_name = "QUEUE_URL")]
    from: String,
    /// Send each original event to this queue (the buffer queue).
    #[arg(long, value_name = "QUEUE_URL")]
    to: Option<String>,
    /// Send each original event to this function (an asynchronous invoke).
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// Only messages with this reason (repeatable; lambda_failure, eventbridge_dlq and
    /// buffer_dlq stand for messages the platform moved).
    #[arg(long = "reason", value_name = "REASON")]
    reasons: Vec<String>,
    /// Also send the rejections of a dry run (left in place otherwise).
    #[arg(long)]
    include_dry_run: bool,
    /// Handle at most this many messages.
    #[arg(long, value_name = "N")]
    max: Option<usize>,
    /// List what would be sent; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print {"sent", "skipped", "failed", "messages": [...]} instead of lines.
    #[arg(long)]
    json: bool,
}

/// `redrive`: exit 0 when nothing failed, 1 when something did.
pub(super) async fn run(args: RedriveArgs) -> ExitCode {
    let to = match (args.to, args.function) {
        (Some(queue), _) => Destination::Queue(queue),
        (None, Some(function)) => Destination::Function(function),
        // clap requires one of them.
        (None, None) => return ExitCode::from(USAGE),
    };
    let options = Options {
        from: args.from,
        to,
        reasons: args.reasons.into_iter().collect(),
        include_dry_run: args.include_dry_run,
        max: args.max,
        dry_run: args.dry_run,
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
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
                Action::Sent => "sent".to_owned(),
                Action::Skipped => format!("skipped ({})", m.detail),
                Action::Failed => format!("failed ({})", m.detail),
            };
            text.push_str(&format!(
                "{} {} {} → {action}\n",
                m.message_id, m.kind, m.reason
            ));
        }
        text.push_str(&format!(
            "{} sent, {} skipped, {} failed\n",
            report.sent, report.skipped, report.failed
        ));
        output::text(&text);
    }
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
