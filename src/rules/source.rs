//! Where the wrap-up rules come from: inline JSON, a file, or SSM Parameter Store; and what
//! happens when they are wrong. A rule set that does not load never stops the function: apply
//! requests are served as usual, Genesys events wait (a retryable error naming the problem)
//! and the `RulesInvalid` metric says so. Parameter Store rules are read again after a TTL; a
//! warm instance keeps the last good set when a new version is bad, and says so in its log.

use super::check::RulesError;
use super::matching::RuleSet;
use crate::clock::Clock;
use crate::config::RulesSetting;
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How often rules that never loaded are read again (a Parameter Store outage, a fix put in
/// place): sooner than the TTL, so Genesys events do not wait longer than they must.
const RETRY_WITHOUT_RULES: Duration = Duration::from_secs(30);

#[async_trait]
pub(crate) trait ParameterStore: Send + Sync + 'static {
    async fn get(&self, name: &str) -> Result<String, String>;
}

pub(crate) struct SsmParameters {
    client: aws_sdk_ssm::Client,
}

impl SsmParameters {
    pub(crate) fn new(client: aws_sdk_ssm::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ParameterStore for SsmParameters {
    async fn get(&self, name: &str) -> Result<String, String> {
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                crate::aws_errors::explain(&e, "ssm:GetParameter", &format!("parameter {name}"))
            })?;
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| format!("parameter {name} has no value"))
    }
}

/// The text of the rules `setting` names, and where it came from (`None`: no rules set).
/// `Err`: it could not be read (a missing file, Parameter Store refusing).
pub(crate) async fn text(
    setting: &RulesSetting,
    store: Option<&dyn ParameterStore>,
) -> Result<Option<(String, String)>, (String, String)> {
    match setting {
        RulesSetting::None => Ok(None),
        RulesSetting::Inline(json) => Ok(Some(("WRAPUP_RULES".into(), json.clone()))),
        RulesSetting::File(path) => {
            let origin = format!("WRAPUP_RULES_FILE {}", path.display());
            match std::fs::read_to_string(path) {
                Ok(text) => Ok(Some((origin, text))),
                Err(e) => Err((origin, format!("cannot be read: {e}"))),
            }
        }
        RulesSetting::Parameter(name) => {
            let origin = format!("WRAPUP_RULES_PARAMETER {name}");
            let Some(store) = store else {
                return Err((origin, "no Parameter Store client".into()));
            };
            match store.get(name).await {
                Ok(text) => Ok(Some((origin, text))),
                Err(problem) => Err((origin, problem)),
            }
        }
    }
}

/// Reads and checks the rules of `setting`.
async fn read(
    setting: &RulesSetting,
    store: Option<&dyn ParameterStore>,
) -> Result<RuleSet, RulesError> {
    match text(setting, store).await {
        Ok(None) => Ok(RuleSet::default()),
        Ok(Some((origin, text))) => RuleSet::parse(&text, &origin),
        Err((origin, problem)) => Err(RulesError {
            origin,
            count: 0,
            problems: vec![super::check::RuleProblem {
                rule: "-".into(),
                field: "document".into(),
                message: problem,
            }],
        }),
    }
}

struct Parameter {
    store: Arc<dyn ParameterStore>,
    ttl: Duration,
}

/// What was read last.
struct State {
    /// The last rule set that loaded: the one in force.
    good: Option<Arc<RuleSet>>,
    /// What was wrong with the latest read, if anything.
    problem: Option<String>,
    read_at: SystemTime,
}

/// The rules in force, and what is wrong with the latest read.
pub(crate) struct Rules {
    setting: RulesSetting,
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    /// Parameter Store rules are read again; inline and file rules are fixed for the process.
    parameter: Option<Parameter>,
}

impl Rules {
    /// Reads the rules once. A problem does not fail: it is kept, said in the log, and asked
    /// for by every Genesys event until a good set is read.
    pub(crate) async fn load(
        setting: &RulesSetting,
        store: Option<Arc<dyn ParameterStore>>,
        clock: Arc<dyn Clock>,
        ttl: Duration,
    ) -> Self {
        let read_at = clock.now();
        let result = read(setting, store.as_deref()).await;
        let (good, problem) = match result {
            Ok(set) => (Some(Arc::new(set)), None),
            Err(e) => {
                tracing::error!(
                    event = "rules_invalid",
                    error = %e,
                    "the wrap-up rules do not load: apply requests are served, Genesys events wait until the rules are fixed"
                );
                (None, Some(e.to_string()))
            }
        };
        Self {
            setting: setting.clone(),
            state: Mutex::new(State {
                good,
                problem,
                read_at,
            }),
            clock,
            parameter: match setting {
                RulesSetting::Parameter(_) => store.map(|store| Parameter { store, ttl }),
                _ => None,
            },
        }
    }

    /// The rules in force, read again first when they are due; `Err` when none ever loaded.
    pub(crate) async fn current(&self) -> Result<Arc<RuleSet>, String> {
        if let Some(p) = &self.parameter {
            // One caller reads again; the others, meanwhile, use the set in force.
            let due = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let wait = if state.good.is_some() {
                    p.ttl
                } else {
                    p.ttl.min(RETRY_WITHOUT_RULES)
                };
                let now = self.clock.now();
                let due = now.duration_since(state.read_at).unwrap_or(Duration::ZERO) >= wait;
                if due {
                    state.read_at = now;
                }
                due
            };
            if due {
                self.refresh(p).await;
            }
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match (&state.good, &state.problem) {
            (Some(set), _) => Ok(set.clone()),
            (None, Some(problem)) => Err(problem.clone()),
            (None, None) => Ok(Arc::new(RuleSet::default())),
        }
    }

    /// Whether the latest read had a problem, for the `RulesInvalid` metric.
    pub(crate) fn has_problem(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .problem
            .is_some()
    }

    /// What is wrong with the latest read (a good set may still be in force), for `doctor`.
    pub(crate) fn problem(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .problem
            .clone()
    }

    async fn refresh(&self, p: &Parameter) {
        let fresh = read(&self.setting, Some(p.store.as_ref())).await;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match fresh {
            Ok(set) => {
                if state.problem.take().is_some() {
                    tracing::info!(event = "rules_fixed", "the wrap-up rules load again");
                }
                state.good = Some(Arc::new(set));
            }
            Err(e) => {
                if state.good.is_some() {
                    tracing::warn!(event = "rules_invalid", error = %e, "the new wrap-up rules do not load; keeping the last good set");
                } else {
                    tracing::error!(event = "rules_invalid", error = %e, "the wrap-up rules still do not load: Genesys events wait");
                }
                state.problem = Some(e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{ManualClock, MemoryParameters};

    const RULES_A: &str = r#"[{"name": "a", "match": {"topic": "acw"}, "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000001"}}]"#;
    const RULES_B: &str = r#"[{"name": "b", "match": {"topic": "acw"}, "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000002"}}]"#;

    async fn parameter(store: &Arc<MemoryParameters>, clock: &Arc<ManualClock>) -> Rules {
        Rules::load(
            &RulesSetting::Parameter("/rules".into()),
            Some(store.clone()),
            clock.clone(),
            Duration::from_secs(300),
        )
        .await
    }

    #[tokio::test]
    async fn parameter_rules_are_cached_refreshed_and_kept_when_a_new_version_is_bad() {
        let store = Arc::new(MemoryParameters::default());
        store.put("/rules", RULES_A);
        let clock = Arc::new(ManualClock::starting_now());
        let rules = parameter(&store, &clock).await;
        store.put("/rules", RULES_B);
        assert_eq!(rules.current().await.unwrap().rules[0].name, "a");
        clock.advance(Duration::from_secs(301));
        assert_eq!(rules.current().await.unwrap().rules[0].name, "b");
        assert_eq!(rules.problem(), None);
        store.put("/rules", "{broken");
        clock.advance(Duration::from_secs(301));
        assert_eq!(
            rules.current().await.unwrap().rules[0].name,
            "b",
            "the last good set stays"
        );
        assert!(rules.problem().is_some(), "and the problem is said");
        store.put("/rules", RULES_A);
        clock.advance(Duration::from_secs(301));
        assert_eq!(rules.current().await.unwrap().rules[0].name, "a");
        assert_eq!(rules.problem(), None);
    }

    #[tokio::test]
    async fn a_bad_rule_set_never_fails_the_load_and_names_its_origin() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
        let rules = Rules::load(
            &RulesSetting::Inline("[{\"name\": 1}]".into()),
            None,
            clock.clone(),
            Duration::ZERO,
        )
        .await;
        let problem = rules.current().await.unwrap_err();
        assert!(problem.contains("WRAPUP_RULES"), "{problem}");
        assert_eq!(rules.problem().as_deref(), Some(problem.as_str()));
        let rules = Rules::load(
            &RulesSetting::File("/nonexistent/rules.json".into()),
            None,
            clock,
            Duration::ZERO,
        )
        .await;
        let problem = rules.current().await.unwrap_err();
        assert!(problem.contains("/nonexistent/rules.json"), "{problem}");
    }

    #[tokio::test]
    async fn rules_that_never_loaded_are_read_again_within_half_a_minute() {
        let store = Arc::new(MemoryParameters::default());
        let clock = Arc::new(ManualClock::starting_now());
        let rules = parameter(&store, &clock).await;
        assert!(rules.current().await.is_err(), "no parameter yet");
        store.put("/rules", RULES_A);
        assert!(rules.current().await.is_err(), "not read again at once");
        clock.advance(RETRY_WITHOUT_RULES);
        assert_eq!(rules.current().await.unwrap().rules[0].name, "a");
    }
}
