//! `doctor`: is this deployment set up right? One line per link, each with what to fix. It
//! never writes to Genesys and never shows a secret: errors name secrets by id and quote no
//! value. Run locally it uses the caller's AWS credentials; `doctor --function` asks the
//! deployed function to run the same checks as its own role. One file per kind of check:
//!
//! - `report.rs`: the options, every check's fixed name and order, and its states;
//! - `genesys.rs`: the chain that needs Genesys (secret, token, org, codes, rules and their
//!   codes, a conversation, a plan for it, the write permission no read can prove);
//! - `deployment.rs`: the AWS resources around the function (webhook secret, org map, New
//!   Relic, queues and their key, the lease table);
//! - `function.rs`: the same checks inside the deployed function (`--function`).
//!
//! Here: the run itself, in a fixed order with fixed names, and the configuration as read.

mod deployment;
mod function;
mod genesys;
mod report;

pub(crate) use function::remote;
pub(crate) use report::Options;
pub(crate) use report::{Check, Report, RunAs, State};

use crate::app::App;
use crate::config::Settings;
use futures_util::future::join;
use report::{check, Finding, Name};

/// Every check, in a fixed order with fixed names.
pub(crate) async fn run(app: &App, options: &Options, run_as: RunAs) -> Report {
    let whose = match run_as {
        RunAs::Caller => "",
        RunAs::Function => " (as the function's role)",
    };
    let (genesys, others) = join(
        genesys::checks(app, options, whose),
        deployment::checks(app, options, whose),
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
