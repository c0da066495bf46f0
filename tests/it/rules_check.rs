//! `rules check` as operators run it before `put-parameter`: every problem of a file named by
//! rule and field with the fix, the function's own setting read when no file is given, and
//! `--resolve` asking the Genesys org (the sandbox's, through the deployment's configuration)
//! that every code and queue exists.

use crate::common::setup;
use genesys_wrapup::sandbox::demo::*;
use serde_json::{json, Value};
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

async fn check(args: &[&str], env: &[(String, String)]) -> Output {
    tokio::process::Command::new(BIN)
        .args(["rules", "check"])
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap()
}

fn file(name: &str, rules: &Value) -> String {
    let path = std::env::temp_dir().join(format!("{name}-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, serde_json::to_string_pretty(rules).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_samples_are_valid_and_a_bad_file_gets_one_line_per_problem() {
    for sample in [
        "rules/customer-abandoned-in-acw.json",
        "rules/default-code-per-queue.json",
        "rules/replace-acw-timeout.json",
        "rules/sandbox.json",
        "rules/predictions.json",
    ] {
        let out = check(&[sample], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{sample}: {}", stdout(&out));
        assert!(stdout(&out).contains("valid"), "{sample}");
    }
    let bad = file(
        "bad",
        &json!([
            {"name": "everything", "wrapUpCode": {"name": "Sale completed"}},
            {"name": "by-queue-name", "match": {"topic": "acw", "queueId": "Sales", "mediaType": "PHONE"}, "wrapUpCode": {"name": "Sale completed"}}
        ]),
    );
    let out = check(&[&bad], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "three problems and a summary: {text}");
    assert!(lines[0].starts_with("everything: match.topic: "), "{text}");
    assert!(
        lines[1].starts_with("by-queue-name: match.queueId: "),
        "{text}"
    );
    assert!(
        lines[2].starts_with("by-queue-name: match.mediaType: "),
        "{text}"
    );
    assert!(lines[3].ends_with("2 rule(s), 3 problem(s)"), "{text}");
    let out = check(&[&bad, "--json"], &[]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&report["ok"], &report["rules"]),
        (&json!(false), &json!(2))
    );
    assert_eq!(
        report["problems"][1],
        json!({"rule": "by-queue-name", "field": "match.queueId",
               "message": report["problems"][1]["message"]})
    );
    // Nothing to read: a usage problem, exit 2.
    let out = check(&["no/such/rules.json"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = check(&[], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WRAPUP_RULES"));
}

#[tokio::test]
async fn without_a_file_it_checks_the_rules_the_function_would_load() {
    let inline = r#"[{"name": "x", "match": {"topic": "acw", "direction": "SIDEWAYS"}, "wrapUpCode": {"name": "Sale completed"}}]"#;
    let out = check(&[], &[("WRAPUP_RULES".into(), inline.into())]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("x: match.direction: "),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("WRAPUP_RULES: 1 rule(s), 1 problem(s)"));
    let out = check(
        &[],
        &[("WRAPUP_RULES_FILE".into(), "rules/sandbox.json".into())],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test]
async fn resolve_asks_genesys_that_every_code_and_queue_exists() {
    let s = setup().await;
    let env = s.env(&[]);
    let out = check(&["rules/sandbox.json", "--resolve"], &env).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("looked up in Genesys"),
        "{}",
        stdout(&out)
    );
    let missing = "c0de0000-0000-4000-8000-0000000000ff";
    let unknown_queue = "9ee00000-0000-4000-8000-0000000000ff";
    let rules = file(
        "resolve",
        &json!([
            {"name": "other-queue", "match": {"topic": "acw", "queueId": [QUEUE_SALES, unknown_queue]}, "wrapUpCode": {"id": CODE_SALE}},
            {"name": "gone", "match": {"topic": "acw"}, "wrapUpCode": {"id": missing}},
            {"name": "typo", "match": {"topic": "user.end"}, "wrapUpCode": {"name": "Sale complete"}},
            {"name": "twins", "match": {"topic": "customer.end"}, "wrapUpCode": {"name": "Escalated"}},
        ]),
    );
    let out = check(&[&rules, "--resolve", "--json"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let at: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["rule"].as_str().unwrap().to_owned(),
                p["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        at,
        [
            ("gone".to_owned(), "wrapUpCode.id".to_owned()),
            ("typo".into(), "wrapUpCode.name".into()),
            ("twins".into(), "wrapUpCode.name".into()),
            ("other-queue".into(), "match.queueId".into()),
        ]
    );
    let text = report.to_string();
    assert!(
        text.contains(missing)
            && text.contains(unknown_queue)
            && text.contains(CODE_ESCALATED_TWIN),
        "{text}"
    );
    // Where Genesys lists an unknown queue as empty instead of 404, it is still named.
    s.sandbox.emulator.list_unknown_queues_empty();
    let out = check(&[&rules, "--resolve", "--json"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["rule"] == "other-queue"
                && p["message"].as_str().unwrap().contains(unknown_queue)),
        "{report}"
    );
    // Without the function's credentials, --resolve cannot ask: one line, exit 2.
    let out = check(&["rules/sandbox.json", "--resolve"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GENESYS_SECRET_ID"));
}

#[tokio::test]
async fn predicted_codes_and_observe_rules_are_checked() {
    let bad = file(
        "predicted",
        &json!([
            {"name": "too-sure", "match": {"topic": "acw"}, "wrapUpCode": {"predicted": {"minConfidence": 1.2}}},
            {"name": "nothing", "match": {"topic": "acw"}},
            {"name": "both", "match": {"topic": "acw"}, "observe": true, "wrapUpCode": {"name": "Sale completed"}},
            {"name": "wrong-topic", "match": {"topic": "user.end"}, "observe": true},
            {"name": "no-share", "match": {"topic": "acw", "queueId": QUEUE_SALES}, "observe": true, "sample": 0}
        ]),
    );
    let out = check(&[&bad, "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let at: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["rule"].as_str().unwrap().to_owned(),
                p["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (rule, field) in [
        ("too-sure", "wrapUpCode.predicted.minConfidence"),
        ("nothing", "wrapUpCode"),
        ("both", "observe"),
        ("wrong-topic", "match.topic"),
        ("no-share", "sample"),
    ] {
        assert!(
            at.contains(&(rule.to_owned(), field.to_owned())),
            "{rule}: {field} in {at:?}"
        );
    }
    // A fallback that does not exist is found by --resolve.
    let s = setup().await;
    let missing = file(
        "fallback",
        &json!([{"name": "fill", "match": {"topic": "acw"},
                 "wrapUpCode": {"predicted": {"minConfidence": 0.7, "fallback": {"name": "No such code"}}}}]),
    );
    let out = check(&[&missing, "--resolve"], &s.env(&[])).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("fill: wrapUpCode.predicted.fallback.name: no wrap-up code is named"),
        "{}",
        stdout(&out)
    );
}
