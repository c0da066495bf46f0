//! What doctor is asked and what it answers: the options (a conversation to read, a code to
//! plan, an org, a New Relic test event), every check's fixed name and order, and the states a
//! check ends in. An operator reads the states as: `failed` is the one line to fix; `skipped`
//! waits on a failed check it names (the root cause is said once); `not_configured` is a
//! feature left off; `unverified` is what no read can prove. `--json` consumers and
//! `doctor --function` rely on the names.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;
use uuid::Uuid;

/// Each check's own budget: one slow link must not hide the others.
pub(super) const CHECK_TIMEOUT: Duration = Duration::from_secs(8);

/// What to check beyond the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Options {
    #[serde(default)]
    pub conversation: Option<Uuid>,
    /// A code id or name, planned for `conversation` through the dry-run pipeline.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub org: Option<Uuid>,
    #[serde(default)]
    pub send_test_event: bool,
}

/// Whose credentials the AWS checks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// The caller's (a laptop, CI).
    Caller,
    /// The deployed function's role.
    Function,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The link works.
    Passed,
    /// The link is broken: the detail says what to fix.
    Failed,
    /// Blocked by a failed check it depends on (named in the detail): the root cause is said
    /// once, there.
    Skipped,
    /// The feature is off, or the option that asks for the check was not given.
    NotConfigured,
    /// Nothing a read can prove (the write permission).
    Unverified,
}

impl State {
    fn mark(self) -> char {
        match self {
            Self::Passed => '✔',
            Self::Failed => '✘',
            Self::Skipped => '–',
            Self::NotConfigured => '○',
            Self::Unverified => '?',
        }
    }
}

/// One check: its fixed name, whether it failed, its state and what to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// One of the fixed names (`settings`, `genesys_secret`, ...).
    pub name: String,
    /// False only when the state is `failed`.
    pub ok: bool,
    /// What the check found.
    pub state: State,
    /// What was found, and the fix.
    pub detail: String,
}

/// Every check, and whether none failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// False when a check failed.
    pub ok: bool,
    /// In the fixed order.
    pub checks: Vec<Check>,
}

impl Report {
    /// The report of these checks.
    pub fn new(checks: Vec<Check>) -> Self {
        Self {
            ok: checks.iter().all(|c| c.state != State::Failed),
            checks,
        }
    }

    /// One line per check, marked ✔ passed, ✘ failed, – skipped, ○ not configured,
    /// ? unverified, for a person.
    pub fn human(&self, run_as: RunAs) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = match run_as {
            RunAs::Caller => "doctor: AWS checks use this shell's AWS credentials, not the function's role (`doctor --function <name>` runs them as the function)\n".to_owned(),
            RunAs::Function => "doctor: run inside the deployed function, as its role\n".to_owned(),
        };
        for c in &self.checks {
            out.push_str(&format!(
                "{} {:width$}  {}\n",
                c.state.mark(),
                c.name,
                c.detail
            ));
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.state == State::Failed)
            .count();
        out.push_str(&match failed {
            0 => {
                "no check failed (✔ passed, – skipped, ○ not configured, ? unverified)\n".to_owned()
            }
            n => format!("{n} check(s) failed: fix the ✘ lines (– lines wait on them)\n"),
        });
        out
    }
}

/// Every check, in the order the report lists them. Their names are fixed: `--json` consumers
/// and `doctor --function` rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Name {
    Settings,
    GenesysSecret,
    GenesysToken,
    GenesysOrg,
    WrapupCodes,
    Rules,
    RuleCodes,
    Predictions,
    Conversation,
    Plan,
    WritePermission,
    WebhookSecret,
    OrgMap,
    NewRelic,
    Queues,
    LockTable,
}

impl Name {
    pub(super) const ALL: [Self; 16] = [
        Self::Settings,
        Self::GenesysSecret,
        Self::GenesysToken,
        Self::GenesysOrg,
        Self::WrapupCodes,
        Self::Rules,
        Self::RuleCodes,
        Self::Predictions,
        Self::Conversation,
        Self::Plan,
        Self::WritePermission,
        Self::WebhookSecret,
        Self::OrgMap,
        Self::NewRelic,
        Self::Queues,
        Self::LockTable,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::GenesysSecret => "genesys_secret",
            Self::GenesysToken => "genesys_token",
            Self::GenesysOrg => "genesys_org",
            Self::WrapupCodes => "wrapup_codes",
            Self::Rules => "rules",
            Self::RuleCodes => "rule_codes",
            Self::Predictions => "predictions",
            Self::Conversation => "conversation",
            Self::Plan => "plan",
            Self::WritePermission => "write_permission",
            Self::WebhookSecret => "webhook_secret",
            Self::OrgMap => "org_map",
            Self::NewRelic => "new_relic",
            Self::Queues => "queues",
            Self::LockTable => "lock_table",
        }
    }

    /// The chain that needs Genesys, each link needing the ones before it: a broken link skips
    /// the rest. (The rules sit in it, in report order, but need no Genesys.)
    pub(super) fn in_genesys_chain(self) -> bool {
        matches!(
            self,
            Self::GenesysSecret
                | Self::GenesysToken
                | Self::GenesysOrg
                | Self::WrapupCodes
                | Self::RuleCodes
                | Self::Predictions
                | Self::Conversation
                | Self::Plan
        )
    }

    pub(super) fn position(name: &str) -> usize {
        Self::ALL
            .iter()
            .position(|n| n.as_str() == name)
            .unwrap_or(Self::ALL.len())
    }
}

/// What a check found, when it did not fail (`Err` is a failure, with its fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    Passed(String),
    NotConfigured(String),
    Unverified(String),
}

impl From<String> for Found {
    fn from(detail: String) -> Self {
        Self::Passed(detail)
    }
}

pub(super) type Finding = Result<Found, String>;

pub(super) fn check(name: Name, finding: Finding) -> Check {
    let (state, detail) = match finding {
        Ok(Found::Passed(detail)) => (State::Passed, detail),
        Ok(Found::NotConfigured(detail)) => (State::NotConfigured, detail),
        Ok(Found::Unverified(detail)) => (State::Unverified, detail),
        Err(detail) => (State::Failed, detail),
    };
    Check {
        name: name.as_str().to_owned(),
        ok: state != State::Failed,
        state,
        detail,
    }
}

/// `name` could not run: `needs` failed (said once, there).
pub(super) fn skipped(name: Name, needs: &str) -> Check {
    Check {
        name: name.as_str().to_owned(),
        ok: true,
        state: State::Skipped,
        detail: format!("needs {needs} (see above)"),
    }
}

/// Runs `fut` within the check's own budget.
pub(super) async fn timed(fut: impl Future<Output = Finding>) -> Finding {
    tokio::time::timeout(CHECK_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {} s: check the network path (a VPC function needs a NAT gateway or endpoints)",
                CHECK_TIMEOUT.as_secs()
            ))
        })
}
