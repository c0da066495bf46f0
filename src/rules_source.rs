//! Where the wrap-up rules come from: inline JSON, a file, or SSM Parameter Store. Loaded and
//! validated at cold start (a bad rule set stops the function with the line and column);
//! Parameter Store rules are re-read after a TTL, keeping the last good set if a re-read fails.

use crate::clock::Clock;
use crate::config::RulesSetting;
use crate::wrapup::rules::{RuleSet, RulesError};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[async_trait]
pub trait ParameterStore: Send + Sync + 'static {
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
            .map_err(|e| format!("{}", aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| format!("parameter {name} has no value"))
    }
}

/// Rules that need no AWS call: none, inline JSON or a file. `None` for a Parameter Store setting.
fn local_rules(setting: &RulesSetting) -> Result<Option<RuleSet>, RulesError> {
    match setting {
        RulesSetting::None => Ok(Some(RuleSet::default())),
        RulesSetting::Inline(json) => RuleSet::parse(json, "WRAPUP_RULES").map(Some),
        RulesSetting::File(path) => {
            let origin = format!("WRAPUP_RULES_FILE {}", path.display());
            let text = std::fs::read_to_string(path).map_err(|e| RulesError {
                origin: origin.clone(),
                problem: e.to_string(),
            })?;
            RuleSet::parse(&text, &origin).map(Some)
        }
        RulesSetting::Parameter(_) => Ok(None),
    }
}

struct Parameter {
    name: String,
    store: Arc<dyn ParameterStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
}

pub struct Rules {
    current: Mutex<(Arc<RuleSet>, SystemTime)>,
    parameter: Option<Parameter>,
}

impl Rules {
    pub fn fixed(set: RuleSet) -> Self {
        Self {
            current: Mutex::new((Arc::new(set), SystemTime::UNIX_EPOCH)),
            parameter: None,
        }
    }

    pub async fn load(
        setting: &RulesSetting,
        store: Option<Arc<dyn ParameterStore>>,
        clock: Arc<dyn Clock>,
        ttl: Duration,
    ) -> Result<Self, RulesError> {
        match setting {
            RulesSetting::None | RulesSetting::Inline(_) | RulesSetting::File(_) => {
                Ok(Self::fixed(local_rules(setting)?.unwrap_or_default()))
            }
            RulesSetting::Parameter(name) => {
                let origin = format!("WRAPUP_RULES_PARAMETER {name}");
                let store = store.ok_or_else(|| RulesError {
                    origin: origin.clone(),
                    problem: "no Parameter Store client".into(),
                })?;
                let text = store.get(name).await.map_err(|problem| RulesError {
                    origin: origin.clone(),
                    problem,
                })?;
                let set = RuleSet::parse(&text, &origin)?;
                Ok(Self {
                    current: Mutex::new((Arc::new(set), clock.now())),
                    parameter: Some(Parameter {
                        name: name.clone(),
                        store,
                        clock,
                        ttl,
                    }),
                })
            }
        }
    }

    /// The rules in force; Parameter Store rules older than the TTL are read again first.
    pub async fn current(&self) -> Arc<RuleSet> {
        let (set, read_at) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(p) = &self.parameter else {
            return set;
        };
        let now = p.clock.now();
        if now.duration_since(read_at).unwrap_or(Duration::ZERO) < p.ttl {
            return set;
        }
        let fresh = match p.store.get(&p.name).await {
            Ok(text) => RuleSet::parse(&text, &format!("WRAPUP_RULES_PARAMETER {}", p.name))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let mut slot = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match fresh {
            Ok(set) => *slot = (Arc::new(set), now),
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the wrap-up rules; keeping the last good set");
                slot.1 = now;
            }
        }
        slot.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::ManualClock;
    use crate::sandbox::MemoryParameters;

    const RULES_A: &str =
        r#"[{"name": "a", "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000001"}}]"#;
    const RULES_B: &str =
        r#"[{"name": "b", "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000002"}}]"#;

    #[tokio::test]
    async fn parameter_rules_are_cached_refreshed_and_kept_when_a_refresh_fails() {
        let store = Arc::new(MemoryParameters::default());
        store.put("/rules", RULES_A);
        let clock = Arc::new(ManualClock::starting_now());
        let rules = Rules::load(
            &RulesSetting::Parameter("/rules".into()),
            Some(store.clone()),
            clock.clone(),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
        store.put("/rules", RULES_B);
        assert_eq!(rules.current().await.rules[0].name, "a");
        clock.advance(Duration::from_secs(301));
        assert_eq!(rules.current().await.rules[0].name, "b");
        store.put("/rules", "{broken");
        clock.advance(Duration::from_secs(301));
        assert_eq!(
            rules.current().await.rules[0].name,
            "b",
            "the last good set stays"
        );
    }

    #[tokio::test]
    async fn a_bad_rule_set_fails_the_load_naming_its_origin() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
        let e = Rules::load(
            &RulesSetting::Inline("[{\"name\": 1}]".into()),
            None,
            clock.clone(),
            Duration::ZERO,
        )
        .await
        .err()
        .unwrap();
        assert!(e.to_string().contains("WRAPUP_RULES"), "{e}");
        let e = Rules::load(
            &RulesSetting::File("/nonexistent/rules.json".into()),
            None,
            clock,
            Duration::ZERO,
        )
        .await
        .err()
        .unwrap();
        assert!(e.to_string().contains("/nonexistent/rules.json"), "{e}");
    }
}
