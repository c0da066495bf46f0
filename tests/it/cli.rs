//! The binary as users run it: `invoke --sandbox` on every sample, exit codes, stdout purity.

use genesys_wrapup::sandbox::demo;
use genesys_wrapup::signature;
use genesys_wrapup::WebhookKeys;
use serde_json::Value;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs")
}

/// stdout must be exactly one JSON document.
fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).expect("utf-8 stdout");
    let mut docs = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let first = docs.next().expect("one document").expect("valid JSON");
    assert!(
        docs.next().is_none(),
        "more than one JSON document on stdout: {text}"
    );
    first
}

fn status_of(result: &Value) -> String {
    if let Some(failures) = result.get("batchItemFailures").and_then(Value::as_array) {
        assert!(failures.is_empty(), "{result}");
        return "applied".to_owned();
    }
    if let Some(body) = result.get("body").and_then(Value::as_str) {
        assert_eq!(result["statusCode"], 200, "{result}");
        let body: Value = serde_json::from_str(body).unwrap();
        return body["status"].as_str().unwrap().to_owned();
    }
    result["status"].as_str().unwrap().to_owned()
}

#[test]
fn every_sample_event_gets_its_outcome_in_the_sandbox() {
    let mut samples: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    samples.sort();
    assert!(samples.len() >= 3);
    for sample in samples {
        let out = run(&["invoke", "--sandbox", sample.to_str().unwrap()], &[]);
        assert!(
            out.status.success(),
            "{sample:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = sample.file_name().unwrap().to_string_lossy().into_owned();
        let expected = if name.contains("already-applied") {
            "already_applied"
        } else if name.contains("skipped") {
            "skipped"
        } else {
            "applied"
        };
        assert_eq!(status_of(&stdout_json(&out)), expected, "{sample:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.contains("\"event\":\"outcome\"")),
            "{stderr}"
        );
    }
}

#[test]
fn an_event_file_that_is_not_json_is_an_invalid_event_rejection() {
    let dir = std::env::temp_dir().join(format!("gw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(&file, "{not json").unwrap();
    let out = run(&["invoke", "--sandbox", file.to_str().unwrap()], &[]);
    assert!(out.status.success());
    let result = stdout_json(&out);
    assert_eq!(
        (result["status"].as_str(), result["reason"].as_str()),
        (Some("rejected"), Some("invalid_event"))
    );
}

#[test]
fn a_transient_failure_exits_non_zero_with_one_json_error() {
    let out = run(
        &["invoke", "--sandbox", "tests/fixtures/not-ended.json"],
        &[],
    );
    assert!(!out.status.success());
    let result = stdout_json(&out);
    assert_eq!(result["errorType"], "Transient.not_ended");
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not ended"));
}

#[test]
fn a_missing_required_setting_fails_naming_it() {
    let out = run(&["invoke", "events/eventbridge-custom.json"], &[]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("GENESYS_SECRET_ID"), "{stderr}");
    assert!(
        stderr.contains("--sandbox"),
        "the way to run it with none: {stderr}"
    );
}

#[test]
fn sign_produces_headers_the_webhook_accepts() {
    let out = run(
        &["sign", "tests/fixtures/body.json"],
        &[("WEBHOOK_SIGNING_KEY", "k-123")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headers = stdout_json(&out);
    let mut map = aws_lambda_events::http::HeaderMap::new();
    for name in ["X-Signature-Timestamp", "X-Signature-256"] {
        map.insert(name, headers[name].as_str().unwrap().parse().unwrap());
    }
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/body.json"
    ))
    .unwrap();
    let keys: WebhookKeys = serde_json::from_str(r#"{"signingKey":"k-123"}"#).unwrap();
    let now = headers["X-Signature-Timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(signature::verify(&map, &body, &keys, now), Ok(()));

    let out = run(
        &["sign", "events/webhook-http-api.json"],
        &[("WEBHOOK_SIGNING_KEY", demo::SIGNING_KEY)],
    );
    let event = stdout_json(&out);
    assert!(event["headers"]["x-signature-256"]
        .as_str()
        .unwrap()
        .starts_with("sha256="));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(demo::SIGNING_KEY));
}

/// A usage problem: exit 2, nothing on stdout, one line on stderr.
fn usage_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn unknown_commands_and_options_are_one_line_with_a_hint() {
    let stderr = usage_error(&run(&["frobnicate"], &[]));
    assert!(
        stderr.contains("frobnicate") && stderr.contains("--help"),
        "{stderr}"
    );
    let stderr = usage_error(&run(&["doctr"], &[]));
    assert!(stderr.contains("doctor"), "a suggestion: {stderr}");
    let stderr = usage_error(&run(&["invoke", "--sandbx", "x.json"], &[]));
    assert!(stderr.contains("--sandbox"), "{stderr}");
    for args in [
        &["rules"][..],
        &["invoke"],
        &["doctor", "--code", "Sale"],
        &["doctor", "--conversation", "not-a-uuid"],
        &[
            "redrive",
            "--from",
            "https://sqs.eu-west-1.amazonaws.com/1/q",
        ],
    ] {
        usage_error(&run(args, &[]));
    }
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["invoke", "--help"],
        &["sign", "--help"],
        &["doctor", "--help"],
        &["rules", "check", "--help"],
        &["redrive", "--help"],
        &["help", "redrive"],
    ] {
        let out = run(args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("Usage:"), "{args:?}: {stdout}");
        assert!(out.stderr.is_empty(), "{args:?}");
    }
    let out = run(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("genesys-wrapup ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_command_panics_outside_lambda_or_on_a_closed_pipe() {
    // The bare binary is the Lambda function: outside Lambda it says so.
    let stderr = usage_error(&run(&[], &[]));
    assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{stderr}");
    // `... | head`: stdout closed before anything is written.
    let mut child = Command::new(BIN)
        .args(["sign", "tests/fixtures/body.json"])
        .env_clear()
        .env("WEBHOOK_SIGNING_KEY", "k")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101), "no panic: {out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let stderr = usage_error(&run(&["invoke", "no/such/file.json"], &[]));
    assert!(stderr.contains("no/such/file.json"), "{stderr}");
}

#[test]
fn invoke_dry_run_prints_the_write_and_sends_nothing() {
    let out = run(
        &[
            "invoke",
            "--sandbox",
            "--dry-run",
            "events/webhook-function-url.json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = stdout_json(&out);
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["status"], "would_apply");
    assert_eq!(body["write"]["method"], "POST");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"dryRun\":true"), "{stderr}");
    assert!(
        !stderr.contains("\"post_wrapup\""),
        "no write was sent: {stderr}"
    );
}

#[test]
fn without_credentials_or_region_each_command_says_one_line_and_nothing_from_the_sdk() {
    // No credentials, no region; the instance metadata service refuses at once (as it does
    // off EC2), which is when the SDK's credential and region probes log a screenful each.
    let base = [
        ("HOME", "/nonexistent"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
    ];
    let queue = "https://sqs.us-east-1.amazonaws.com/123456789012/attention";
    let buffer = "https://sqs.us-east-1.amazonaws.com/123456789012/buffer";
    type Command<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let commands: [Command; 4] = [
        (&["redrive", "--from", queue, "--to", buffer], &[]),
        (&["redrive", "--from", queue, "--function", "wrapup"], &[]),
        (&["doctor", "--function", "wrapup"], &[]),
        (&["doctor"], &[("GENESYS_SECRET_ID", "genesys/wrapup")]),
    ];
    for (args, extra) in commands {
        let env: Vec<(&str, &str)> = base.iter().chain(extra.iter()).copied().collect();
        let out = run(args, &env);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains("no AWS credentials"), "{args:?}: {all}");
        for sdk in ["aws_config", "IMDS", "\"level\"", "FailedToLoadToken"] {
            assert!(
                !all.contains(sdk),
                "{args:?} printed the SDK's {sdk}: {all}"
            );
        }
        if args[0] == "redrive" {
            assert_eq!(all.trim().lines().count(), 1, "{args:?}: {all}");
        }
        // The same run asked for the SDK's lines shows what was kept out (not vacuous).
        let loud: Vec<(&str, &str)> = env
            .iter()
            .copied()
            .chain([("RUST_LOG", "aws_config=warn")])
            .collect();
        let out = run(args, &loud);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("aws_config"),
            "{args:?}: {out:?}"
        );
    }
    // With credentials but no region: one line naming the region.
    let out = run(
        &["redrive", "--from", queue, "--to", buffer],
        &[
            ("HOME", "/nonexistent"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-secret"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no AWS region"), "{stderr}");
}
