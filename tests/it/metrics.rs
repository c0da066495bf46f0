//! Metrics reach CloudWatch at every log level the template offers. Lambda's log-level filter
//! gives a line without a `level` field the level INFO (AWS Lambda Developer Guide, "Log-level
//! filtering"): the EMF lines carry none, so the platform's level must pass INFO while the
//! function filters its own logs. This plays Lambda's filter, at the template's settings, over
//! what the binary writes at each `LogLevel`. And a rule set that does not load is a metric, not
//! an outage.

use serde_json::Value;

const TEMPLATE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"));
const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The value after `key:` on the template's first line that has it.
fn template_value(key: &str) -> String {
    TEMPLATE
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key} in template.yaml"))
}

fn severity(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(level))
        .unwrap_or_else(|| panic!("not a level: {level}"))
}

/// What Lambda sends to CloudWatch Logs at `platform`: lines whose level (INFO when missing or
/// invalid) is at least as severe.
fn lambda_keeps(line: &str, platform: &str) -> bool {
    let level = serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v["level"].as_str().map(str::to_owned))
        .filter(|l| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l)))
        .unwrap_or_else(|| "INFO".to_owned());
    severity(&level) >= severity(platform)
}

#[test]
fn the_metrics_survive_lambda_s_filter_at_every_log_level() {
    let platform = template_value("ApplicationLogLevel");
    assert_eq!(
        template_value("WRAPUP_LOG_LEVEL"),
        "!Ref LogLevel",
        "the function filters its own logs at LogLevel"
    );
    let allowed = TEMPLATE
        .split_once("  LogLevel:\n")
        .and_then(|(_, rest)| {
            rest.lines()
                .find_map(|l| l.trim().strip_prefix("AllowedValues:"))
        })
        .expect("LogLevel's allowed values")
        .trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(allowed, LEVELS);
    for level in &allowed {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-wrapup"))
            .args(["invoke", "--sandbox", "events/eventbridge-custom.json"])
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", "fn")
            .env("AWS_LAMBDA_LOG_LEVEL", &platform)
            .env("WRAPUP_LOG_LEVEL", level)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{level}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let kept: Vec<&str> = stderr
            .lines()
            .filter(|l| lambda_keeps(l, &platform))
            .collect();
        assert!(
            kept.iter()
                .any(|l| l.contains("\"_aws\"") && l.contains("\"Applied\":1")),
            "LogLevel {level}: no metrics reach CloudWatch:\n{stderr}"
        );
        // The function's own filter is the one that acts.
        let outcome_logged = kept.iter().any(|l| l.contains("\"event\":\"outcome\""));
        assert_eq!(
            outcome_logged,
            severity(level) <= severity("INFO"),
            "LogLevel {level}:\n{stderr}"
        );
    }
}

#[test]
fn a_platform_level_above_info_would_drop_them() {
    // The check is not vacuous: Lambda's own filter at WARN drops a line with no level.
    let emf = r#"{"Applied":1,"_aws":{"Timestamp":0,"CloudWatchMetrics":[]}}"#;
    assert!(!lambda_keeps(emf, "WARN"));
    assert!(lambda_keeps(emf, "INFO"));
    assert!(lambda_keeps(r#"{"level":"ERROR","message":"x"}"#, "WARN"));
}

/// The EMF value of `metric` in the main line of the binary's stderr.
fn metric(stderr: &str, metric: &str) -> Option<f64> {
    stderr
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|doc| doc[metric].as_f64())
}

#[test]
fn rules_that_do_not_load_are_a_metric_not_an_outage() {
    let rules = std::env::temp_dir().join(format!("bad-rules-{}.json", std::process::id()));
    std::fs::write(
        &rules,
        r#"[{"name": "no topic", "wrapUpCode": {"name": "Sale"}}]"#,
    )
    .unwrap();
    let invoke = |sample: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_genesys-wrapup"))
            .args(["invoke", "--sandbox", sample])
            .env_clear()
            .env("WRAPUP_RULES_FILE", &rules)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let applied = invoke("events/eventbridge-custom.json");
    let stderr = String::from_utf8_lossy(&applied.stderr).into_owned();
    assert!(applied.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&applied.stdout).contains("\"applied\""));
    assert_eq!(metric(&stderr, "RulesInvalid"), Some(1.0), "{stderr}");
    assert!(
        stderr.contains("\"event\":\"rules_invalid\""),
        "said once, at start: {stderr}"
    );
    let waiting = invoke("events/genesys-acw.json");
    let stderr = String::from_utf8_lossy(&waiting.stderr).into_owned();
    assert_eq!(waiting.status.code(), Some(1), "{stderr}");
    assert!(
        String::from_utf8_lossy(&waiting.stdout).contains("Transient.rules_unavailable"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(&rules);
    // With rules that load, the metric is 0.
    let fine = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-wrapup"))
        .args(["invoke", "--sandbox", "events/eventbridge-custom.json"])
        .env_clear()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        metric(&String::from_utf8_lossy(&fine.stderr), "RulesInvalid"),
        Some(0.0)
    );
}
