//! `doctor` as operators run it: the real binary, its AWS SDK clients pointed at loopback
//! services (the sandbox's Secrets Manager, moto's SQS, the sandbox's Lambda Invoke API) and the Genesys
//! emulator. All green on a good set-up; each broken link named, with its fix; no secret ever.

use crate::common::moto::{create_lock_table, create_queue, lock_items, moto, sqs_client};
use crate::common::{setup, AWS_TEST_ENV};
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::sandbox::lambda_api::LambdaApi;
use genesys_wrapup::sandbox::newrelic::NewRelicEmulator;
use genesys_wrapup::sandbox::Sandbox;
use genesys_wrapup::SystemClock;
use serde_json::{json, Value};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");
const NR_KEY: &str = "nr-doctor-license-key-0123456789";
/// Every check, in order: the names are part of the contract.
const CHECKS: [&str; 16] = [
    "settings",
    "genesys_secret",
    "genesys_token",
    "genesys_org",
    "wrapup_codes",
    "rules",
    "rule_codes",
    "predictions",
    "conversation",
    "plan",
    "write_permission",
    "webhook_secret",
    "org_map",
    "new_relic",
    "queues",
    "lock_table",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    fn check(&self, name: &str) -> (bool, String) {
        let report = self.report();
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {report}"))
            .clone();
        (
            check["ok"].as_bool().unwrap(),
            check["detail"].as_str().unwrap().to_owned(),
        )
    }

    /// The check's state: passed, failed, skipped, not_configured or unverified.
    fn state(&self, name: &str) -> String {
        let report = self.report();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["state"].as_str())
            .unwrap_or_else(|| panic!("no check {name}: {report}"))
            .to_owned()
    }

    fn failed(&self) -> Vec<String> {
        self.report()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// No secret, key or token in anything the command printed.
    fn assert_no_secret(&self) {
        let all = format!("{}\n{}", self.stdout, self.stderr);
        for secret in [CLIENT_SECRET, SIGNING_KEY, NR_KEY, "emu-", "Bearer "] {
            assert!(!all.contains(secret), "{secret} leaked:\n{all}");
        }
    }
}

async fn doctor(args: &[&str], env: &[(String, String)]) -> Run {
    let out = tokio::process::Command::new(BIN)
        .arg("doctor")
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn a_good_set_up_is_all_green_with_a_plan_and_every_check_named() {
    let s = setup().await;
    let moto = moto().await;
    let sqs = sqs_client(&moto.endpoint).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let attention = create_queue(&sqs, &format!("attention-{suffix}")).await;
    let nr = NewRelicEmulator::start("42", NR_KEY).await.unwrap();
    s.sandbox
        .secrets
        .put("newrelic/key", json!({"licenseKey": NR_KEY}).to_string());
    s.sandbox.secrets.put(
        WEBHOOK_SECRET_ID,
        json!({"signingKey": SIGNING_KEY, "previousSigningKey": "the-old-one"}).to_string(),
    );
    let org_map = json!({ORG_ID: GENESYS_SECRET_ID}).to_string();
    let nr_url = nr.url().to_string();
    let env = s.env(&[
        ("AWS_ENDPOINT_URL_SQS", &moto.endpoint),
        ("ATTENTION_QUEUE_URL", &attention),
        ("GENESYS_ORG_SECRETS", &org_map),
        (
            "WRAPUP_RULES_FILE",
            concat!(env!("CARGO_MANIFEST_DIR"), "/rules/sandbox.json"),
        ),
        ("NEW_RELIC_ACCOUNT_ID", "42"),
        ("NEW_RELIC_LICENSE_KEY_SECRET_ID", "newrelic/key"),
        ("NEW_RELIC_EVENTS_URL", &nr_url),
    ]);
    let run = doctor(
        &[
            "--json",
            "--conversation",
            CONV_CALL,
            "--code",
            "Sale completed",
            "--send-test-event",
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, CHECKS.to_vec());
    assert!(run.check("genesys_org").1.contains(ORG_ID));
    let plan = run.check("plan").1;
    assert!(
        plan.contains("would apply")
            && plan.contains(&participant(1, 2))
            && plan.contains("/wrapup"),
        "{plan}"
    );
    assert!(run.check("write_permission").1.contains("only by a write"));
    assert_eq!(run.state("write_permission"), "unverified", "not a ✔");
    for passed in [
        "settings",
        "genesys_token",
        "rules",
        "rule_codes",
        "predictions",
        "plan",
        "queues",
    ] {
        assert_eq!(run.state(passed), "passed", "{passed}");
    }
    assert!(run
        .check("predictions")
        .1
        .contains("an assistant of the org predicts wrap-up codes"));
    assert!(run.check("queues").1.contains("attention queue reachable"));
    assert!(run.check("new_relic").1.contains("accepted"));
    let events = nr.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["eventType"], "GenesysWrapUpDoctor");
    assert_eq!(
        s.sandbox.emulator.count(Route::PostWrapup),
        0,
        "doctor never writes"
    );
    run.assert_no_secret();
    // The human form: one line per check, marked.
    let human = doctor(&[], &s.env(&[])).await;
    assert_eq!(human.code, 0, "{}", human.stdout);
    assert!(
        human.stdout.contains("✔ genesys_token")
            && human.stdout.contains("this shell's AWS credentials")
            && human.stdout.contains("? write_permission")
            && human.stdout.contains("○ new_relic"),
        "{}",
        human.stdout
    );
    human.assert_no_secret();
}

#[tokio::test]
async fn each_broken_link_is_named_with_its_fix() {
    let s = setup().await;
    let env = s.env(&[]);

    // A missing secret: nothing that needs it is tried; the rules, which need none, are.
    s.sandbox.secrets.remove(GENESYS_SECRET_ID);
    let run = doctor(&["--json"], &env).await;
    assert_eq!(run.code, 1);
    let (ok, detail) = run.check("genesys_secret");
    assert!(!ok && detail.contains("not found"), "{detail}");
    // Said once, on its own check; what waits on it is skipped, not failed.
    assert_eq!(run.failed(), vec!["genesys_secret"]);
    assert_eq!(run.state("genesys_token"), "skipped");
    assert!(run
        .check("genesys_token")
        .1
        .contains("needs genesys_secret"));
    assert_eq!(run.state("rules"), "not_configured");
    assert_eq!(s.sandbox.emulator.requests().len(), 0);
    run.assert_no_secret();
    let names: Vec<String> = run.report()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, CHECKS.to_vec(), "the same checks, in the same order");

    // Bad JSON, never quoted.
    s.sandbox.secrets.put(
        GENESYS_SECRET_ID,
        format!(
            r#"{{"clientId": "{CLIENT_ID}", "clientSecret": {{"nested": "{CLIENT_SECRET}"}}}}"#
        ),
    );
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("genesys_secret");
    assert!(!ok && detail.contains("JSON"), "{detail}");
    run.assert_no_secret();

    // A client Genesys refuses.
    s.sandbox.secrets.put(
        GENESYS_SECRET_ID,
        json!({"clientId": CLIENT_ID, "clientSecret": "wrong-secret", "environment": "sandbox.invalid"}).to_string(),
    );
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("genesys_token");
    assert!(!ok && detail.contains("refused the client"), "{detail}");
    assert!(!run.stdout.contains("wrong-secret"));
    s.sandbox.secrets.put(
        GENESYS_SECRET_ID,
        json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "environment": "sandbox.invalid"}).to_string(),
    );

    // A throttled login host.
    s.sandbox.emulator.set_token_rate_limit(Some(0));
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("genesys_token");
    assert!(!ok && detail.contains("throttling"), "{detail}");
    s.sandbox.emulator.set_token_rate_limit(None);

    // A role without routing:wrapupCode:view.
    s.sandbox.emulator.inject(
        Route::ListWrapupCodes,
        FaultKind::Status {
            status: 403,
            code: "missing.permissions".into(),
            message: "You are missing the following permission(s): routing:wrapupCode:view".into(),
            retry_after: None,
        },
        10,
    );
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("wrapup_codes");
    assert!(
        !ok && detail.contains("routing:wrapupCode:view") && detail.contains("missing.permissions"),
        "{detail}"
    );
    assert_eq!(run.failed(), vec!["wrapup_codes"], "the root cause, once");
    assert_eq!(run.state("rule_codes"), "skipped");
    run.assert_no_secret();
}

#[tokio::test]
async fn an_unreadable_org_secret_and_bad_rules_are_named_while_the_rest_is_checked() {
    let s = setup().await;
    let other_org = "7e3c5b4d-2a1f-4c9b-8d8e-6f5a4b3c2d1e";
    let org_map = json!({ORG_ID: GENESYS_SECRET_ID, other_org: "genesys/missing-org"}).to_string();
    let rules = "[{\"name\": \"a\",\n  \"wrapUpCode\": {\"id\": \"not-a-uuid\"}}]";
    let run = doctor(
        &["--json"],
        &s.env(&[("GENESYS_ORG_SECRETS", &org_map), ("WRAPUP_RULES", rules)]),
    )
    .await;
    assert_eq!(run.code, 1);
    let (ok, detail) = run.check("org_map");
    assert!(
        !ok && detail.contains(other_org) && detail.contains("genesys/missing-org"),
        "{detail}"
    );
    let (ok, detail) = run.check("rules");
    assert!(!ok && detail.contains("line 2"), "{detail}");
    assert_eq!(run.failed(), vec!["rules", "org_map"]);
    assert!(run.check("genesys_org").0, "the rest was checked");
    // An org map that points an org at another org's client.
    let wrong = json!({other_org: GENESYS_SECRET_ID}).to_string();
    let run = doctor(&["--json"], &s.env(&[("GENESYS_ORG_SECRETS", &wrong)])).await;
    let (ok, detail) = run.check("org_map");
    assert!(!ok && detail.contains("another org"), "{detail}");
    run.assert_no_secret();
}

#[tokio::test]
async fn a_plan_that_would_be_rejected_fails_and_usage_errors_exit_2() {
    let s = setup().await;
    let run = doctor(
        &[
            "--json",
            "--conversation",
            CONV_CALL,
            "--code",
            CODE_SUPPORT,
        ],
        &s.env(&[]),
    )
    .await;
    let (ok, detail) = run.check("plan");
    assert!(!ok && detail.contains("division_mismatch"), "{detail}");
    for args in [
        &["--code", CODE_SALE][..],
        &["--conversation", "not-a-uuid"],
        &["--frobnicate"],
        &["--conversation"],
    ] {
        let run = doctor(args, &s.env(&[])).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    // Not configured at all: one clear line naming the setting.
    let run = doctor(&["--json"], &[("PATH".into(), "/usr/bin".into())]).await;
    assert_eq!(run.code, 1);
    let (ok, detail) = run.check("settings");
    assert!(!ok && detail.contains("GENESYS_SECRET_ID"), "{detail}");
}

#[tokio::test]
async fn doctor_function_runs_the_checks_inside_the_function_as_its_role() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = Arc::new(sandbox.app(&[], Arc::new(SystemClock)).await.unwrap());
    let api = LambdaApi::start(app, "wrapup-fn").await.unwrap();
    let lambda_url = api.url();
    let env: Vec<(String, String)> = [("AWS_ENDPOINT_URL_LAMBDA", lambda_url.as_str())]
        .iter()
        .chain(AWS_TEST_ENV.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let run = doctor(
        &[
            "--function",
            "wrapup-fn",
            "--json",
            "--conversation",
            CONV_EMAIL,
            "--code",
            CODE_SALE,
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.check("genesys_secret").1.contains("function's role"));
    assert!(run.check("plan").1.contains("would apply"));
    assert_eq!(sandbox.emulator.count(Route::PostWrapup), 0);
    let human = doctor(&["--function", "wrapup-fn"], &env).await;
    assert!(
        human.stdout.contains("inside the deployed function"),
        "{}",
        human.stdout
    );
    let wrong = doctor(&["--function", "not-this-one", "--json"], &env).await;
    assert_eq!(wrong.code, 1);
    let detail = wrong.check("function").1;
    assert!(
        detail.contains("not-this-one") && detail.contains("not found"),
        "{detail}"
    );
    run.assert_no_secret();
}

#[tokio::test]
async fn access_denied_and_kms_refusals_name_the_permission_to_grant() {
    let s = setup().await;
    for (error_type, expect) in [
        ("AccessDeniedException", "secretsmanager:GetSecretValue"),
        ("DecryptionFailure", "kms:Decrypt"),
    ] {
        let failing = crate::common::secrets_manager_failing(error_type, 400).await;
        let env = s.env(&[(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            &format!("http://{}", failing.addr),
        )]);
        let run = doctor(&["--json"], &env).await;
        let (ok, detail) = run.check("genesys_secret");
        assert!(!ok && detail.contains(expect), "{error_type}: {detail}");
        let (ok, detail) = run.check("webhook_secret");
        assert!(!ok && detail.contains(expect), "{error_type}: {detail}");
    }
}

#[tokio::test]
async fn bad_rules_are_named_even_when_genesys_refuses_the_client() {
    let s = setup().await;
    s.sandbox.emulator.set_client_secret("rotated-elsewhere");
    let run = doctor(&["--json"], &s.env(&[("WRAPUP_RULES", "[{\"name\": 1}]")])).await;
    assert!(!run.check("genesys_token").0);
    let (ok, detail) = run.check("rules");
    assert!(!ok && detail.contains("WRAPUP_RULES"), "{detail}");
    assert_eq!(run.state("rule_codes"), "skipped");
    assert_eq!(run.failed(), vec!["genesys_token", "rules"]);
}

#[tokio::test]
async fn without_aws_credentials_the_root_cause_is_said_once_with_its_fix() {
    let env: Vec<(String, String)> = [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/nonexistent"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        (
            "GENESYS_SECRET_ID",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbCdEf",
        ),
        ("WEBHOOK_SECRET_ID", "webhook"),
        (
            "ATTENTION_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/attention",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let run = doctor(&["--json"], &env).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.failed(), vec!["genesys_secret"], "{}", run.stdout);
    let (_, detail) = run.check("genesys_secret");
    assert!(
        detail.contains("no AWS credentials") && detail.contains("AWS_PROFILE"),
        "{detail}"
    );
    assert_eq!(detail.lines().count(), 1, "one line, no SDK dump: {detail}");
    for waits in ["webhook_secret", "queues", "genesys_token"] {
        assert_eq!(run.state(waits), "skipped", "{waits}");
    }
    let human = doctor(&[], &env).await;
    assert!(!human.stdout.contains("your local"), "{}", human.stdout);
    assert!(
        human.stdout.contains("1 check(s) failed"),
        "{}",
        human.stdout
    );
}

#[tokio::test]
async fn a_customer_managed_key_must_let_eventbridge_use_it() {
    let s = setup().await;
    let moto = moto().await;
    let sqs = sqs_client(&moto.endpoint).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let attention = create_queue(&sqs, &format!("attention-{suffix}")).await;
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .http_client(genesys_wrapup::sandbox::aws_http_client())
            .endpoint_url(&moto.endpoint)
            .build(),
    );
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let env = s.env(&[
        ("AWS_ENDPOINT_URL_SQS", &moto.endpoint),
        ("AWS_ENDPOINT_URL_KMS", &moto.endpoint),
        ("ATTENTION_QUEUE_URL", &attention),
        ("KMS_KEY_ARN", &key),
    ]);
    // The default key policy lets the account in, not EventBridge.
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("queues");
    assert!(
        !ok && detail.contains("events.amazonaws.com") && detail.contains("docs/security.md"),
        "{detail}"
    );
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "EventBridgeToEncryptedQueues", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}
    ]});
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("queues");
    assert!(ok && detail.contains("lets EventBridge"), "{detail}");
}

#[tokio::test]
async fn the_lock_table_is_checked_and_left_as_it_was() {
    let s = setup().await;
    let moto = moto().await;
    let good = create_lock_table(&moto.endpoint, true).await;
    let no_ttl = create_lock_table(&moto.endpoint, false).await;
    let with_table = |table: &str| {
        s.env(&[
            ("AWS_ENDPOINT_URL_DYNAMODB", &moto.endpoint),
            ("WRAPUP_LOCK_TABLE", table),
        ])
    };

    let run = doctor(&["--json"], &with_table(&good)).await;
    assert_eq!(run.state("lock_table"), "passed", "{}", run.stdout);
    let detail = run.check("lock_table").1;
    assert!(
        detail.contains("time to live enabled") && detail.contains("given back"),
        "{detail}"
    );
    assert_eq!(
        lock_items(&moto.endpoint, &good).await,
        0,
        "the probe is removed"
    );

    let run = doctor(&["--json"], &with_table(&no_ttl)).await;
    assert_eq!(run.state("lock_table"), "failed");
    let detail = run.check("lock_table").1;
    assert!(
        detail.contains("update-time-to-live") && detail.contains("expiresAt"),
        "{detail}"
    );

    let run = doctor(&["--json"], &with_table("wrapup-leases-missing")).await;
    assert_eq!(run.state("lock_table"), "failed");
    assert!(
        run.check("lock_table").1.contains("not found"),
        "{}",
        run.stdout
    );

    let run = doctor(&["--json"], &s.env(&[])).await;
    assert_eq!(run.state("lock_table"), "not_configured");
    assert!(run.check("lock_table").1.contains("at least once"));
}

#[tokio::test]
async fn copilot_predictions_name_the_missing_permission_and_a_prediction_switched_off() {
    let s = setup().await;
    // The sandbox's rules use a predicted code: the check is required.
    let env = s.env(&[("WRAPUP_RULES_FILE", "rules/sandbox.json")]);
    s.sandbox.emulator.inject(
        Route::GetSummaries,
        FaultKind::Status {
            status: 403,
            code: "missing.permissions".into(),
            message: "You are missing the following permission(s): conversation:summary:view"
                .into(),
            retry_after: None,
        },
        10,
    );
    s.sandbox.emulator.set_copilot_predicts_codes(Some(false));
    let run = doctor(&["--json"], &env).await;
    let (ok, detail) = run.check("predictions");
    assert!(!ok, "{detail}");
    assert!(detail.contains("conversation:summary:view"), "{detail}");
    assert!(detail.contains("wrap-up code prediction"), "{detail}");
    assert_eq!(run.failed(), vec!["predictions"]);
    // Without a rule that uses predictions, the same is said, and fails nothing.
    let plain = s.env(&[(
        "WRAPUP_RULES",
        r#"[{"name": "fill", "match": {"topic": "acw", "wrapUpMissing": true}, "wrapUpCode": {"name": "Sale completed"}}]"#,
    )]);
    let run = doctor(&["--json"], &plain).await;
    assert_eq!(run.state("predictions"), "not_configured");
    assert!(run
        .check("predictions")
        .1
        .contains("conversation:summary:view"));
    assert!(run.failed().is_empty(), "{:?}", run.failed());
}
