//! `rules check [FILE] [--resolve] [--json]`: a rule set checked before it is used. Offline, it
//! finds everything the function would refuse at load; `--resolve` also asks Genesys, with the
//! function's credentials, that every code and queue exists. One line per problem
//! (`<rule>: <field>: <what is wrong, and the fix>`), then a summary.

use super::output::{self, USAGE};
use crate::app::App;
use crate::clock::{Deadline, SystemClock};
use crate::config::{RulesSetting, Settings};
use crate::rules::{self, ParameterStore, RuleProblem, RuleSet, SsmParameters};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// How long `--resolve` may ask Genesys.
const RESOLVE_BUDGET: Duration = Duration::from_secs(60);

#[derive(Serialize)]
struct Report {
    ok: bool,
    rules: usize,
    problems: Vec<RuleProblem>,
}

/// `rules check`: exit 0 when valid, 1 when a problem was found, 2 when there is nothing to
/// read.
pub(super) async fn check(file: Option<&Path>, resolve: bool, json: bool) -> ExitCode {
    let (origin, text) = match read(file).await {
        Ok(read) => read,
        Err(problem) => {
            output::problem(&problem);
            return ExitCode::from(USAGE);
        }
    };
    let (count, mut problems, set) = match RuleSet::parse(&text, &origin) {
        Ok(set) => (set.rules.len(), Vec::new(), Some(set)),
        Err(e) => (e.count, e.problems, None),
    };
    let resolution = match (resolve, &set) {
        (true, Some(set)) => match resolved(set).await {
            Ok((more, found)) => {
                problems.extend(more);
                format!("; {} code(s) looked up in Genesys", found.len())
            }
            Err(problem) => {
                output::problem(&problem);
                return ExitCode::from(USAGE);
            }
        },
        (true, None) => "; not resolved in Genesys until these are fixed".into(),
        (false, _) => String::new(),
    };
    let report = Report {
        ok: problems.is_empty(),
        rules: count,
        problems,
    };
    if json {
        output::json(&report);
    } else {
        let mut lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        lines.push(match report.problems.len() {
            0 => format!("{origin}: {count} rule(s), valid{resolution}"),
            n => format!("{origin}: {count} rule(s), {n} problem(s){resolution}"),
        });
        output::text(&(lines.join("\n") + "\n"));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The rules to check, and where they came from: FILE, else the function's own setting.
async fn read(file: Option<&Path>) -> Result<(String, String), String> {
    if let Some(file) = file {
        return std::fs::read_to_string(file)
            .map(|text| (file.display().to_string(), text))
            .map_err(|e| format!("cannot read {}: {e}", file.display()));
    }
    let setting =
        RulesSetting::from_lookup(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let store = match setting {
        RulesSetting::Parameter(_) => {
            let aws = crate::http::sdk_config_from_env()
                .await
                .map_err(|e| e.to_string())?;
            Some(SsmParameters::new(aws_sdk_ssm::Client::new(&aws)))
        }
        _ => None,
    };
    let store = store.as_ref().map(|s| s as &dyn ParameterStore);
    match rules::text(&setting, store).await {
        Ok(Some(read)) => Ok(read),
        Ok(None) => Err(
            "no rules to check: give a FILE, or set WRAPUP_RULES, WRAPUP_RULES_FILE or WRAPUP_RULES_PARAMETER"
                .into(),
        ),
        Err((origin, problem)) => Err(format!("{origin}: {problem}")),
    }
}

/// The codes and queues of `set` against Genesys, with the function's credentials.
async fn resolved(set: &RuleSet) -> Result<(Vec<RuleProblem>, Vec<String>), String> {
    let settings = Settings::from_env()
        .map_err(|e| format!("--resolve needs the function's Genesys credentials: {e}"))?;
    let app = App::from_settings_without_rules(settings)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Deadline::after(&SystemClock, RESOLVE_BUDGET);
    let client = app.orgs.default_client();
    if let Err(e) = client.check_token(deadline).await {
        return Err(format!(
            "--resolve could not get a Genesys token: {e} (`genesys-wrapup doctor` says why)"
        ));
    }
    Ok(rules::resolve(client, &set.rules, deadline).await)
}
