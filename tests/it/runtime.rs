//! The binary under a Lambda Runtime API, as Lambda and the ecosystem's local emulators run it.
//! Lambda sends `Lambda-Runtime-Deadline-Ms` as epoch milliseconds; cargo-lambda's emulator
//! sends a relative budget (`600000`). Both must get the event applied, not "deadline too close".

use crate::common::AWS_TEST_ENV;
use genesys_wrapup::sandbox::demo;
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::sandbox::runtime_api::{DeadlineMs, RuntimeApi, Step};
use genesys_wrapup::sandbox::{secrets_manager, Sandbox};
use serde_json::{json, Value};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

fn request(conversation: &str) -> Value {
    json!({"conversationId": conversation, "wrapUpCode": {"id": demo::CODE_SALE}})
}

#[tokio::test]
async fn epoch_and_relative_deadlines_both_get_the_event_applied() {
    let sandbox = Sandbox::start().await.unwrap();
    let emulator = &sandbox.emulator;
    let secrets = secrets_manager(sandbox.secrets.clone()).await.unwrap();
    let api = RuntimeApi::start(None).await.unwrap();
    api.feed([
        (
            "cargo-lambda".to_owned(),
            DeadlineMs::Raw("600000".to_owned()),
            request(demo::CONV_CALL),
        ),
        (
            "lambda".to_owned(),
            DeadlineMs::After(Duration::from_secs(30)),
            request(demo::CONV_EMAIL),
        ),
        (
            "relative-again".to_owned(),
            DeadlineMs::Raw("30000".to_owned()),
            request(demo::CONV_MESSAGE),
        ),
    ]);
    let base = emulator.base_url().to_string();
    let log = std::env::temp_dir().join(format!("gw-runtime-{}.log", uuid::Uuid::new_v4()));
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", api.address().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "wrapup"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                &format!("http://{}", secrets.addr),
            ),
            ("GENESYS_SECRET_ID", demo::GENESYS_SECRET_ID),
            ("GENESYS_API_BASE_URL", &base),
            ("GENESYS_LOGIN_BASE_URL", &base),
        ])
        .envs(AWS_TEST_ENV)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the binary starts");
    let replies = api.wait_for_replies(3, Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert_eq!(replies.len(), 3, "{replies:?}\n{logs}");
    for reply in &replies {
        assert_eq!(
            (reply.step, reply.body["status"].as_str()),
            (Step::Response, Some("applied")),
            "{reply:?}\n{logs}"
        );
    }
    assert_eq!(emulator.count(Route::PostWrapup), 3);
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("not an epoch time"))
        .collect();
    assert_eq!(warnings.len(), 1, "said once per process: {logs}");
    // Without a lease table, the cold start says what delivery guarantee that leaves.
    let guarantee: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("delivery_guarantee"))
        .collect();
    assert_eq!(guarantee.len(), 1, "{logs}");
    assert!(guarantee[0].contains("at least once") && guarantee[0].contains("WRAPUP_LOCK_TABLE"));
    // Every line written during an invocation carries its request id and X-Ray trace id, and
    // every field is named in camelCase, as outcomes and New Relic name them.
    let outcomes: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["event"] == "outcome")
        .collect();
    assert_eq!(outcomes.len(), 3, "{logs}");
    for line in &outcomes {
        assert!(line["awsRequestId"].is_string(), "{line}");
        assert!(
            line.get("target").is_none(),
            "the function's own lines carry no target: {line}"
        );
        assert!(
            line["xrayTraceId"]
                .as_str()
                .is_some_and(|t| t.starts_with("Root=")),
            "{line}"
        );
    }
    for line in logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("_aws").is_none())
    {
        for key in line.as_object().unwrap().keys() {
            assert!(!key.contains('_'), "{key} is not camelCase: {line}");
        }
    }
}

/// The binary started with no event waiting, as Lambda's proactive initialisation starts it:
/// what INIT fetched before its first `/next`, and what the first event fetched after it.
async fn first_event_after_init(prefetch: &str) -> ((usize, usize), (usize, usize)) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let sandbox = Sandbox::start().await.unwrap();
    let emulator = &sandbox.emulator;
    let secrets = secrets_manager(sandbox.secrets.clone()).await.unwrap();
    let nexts = Arc::new(AtomicUsize::new(0));
    let counted = nexts.clone();
    let api = RuntimeApi::start(Some(Box::new(move |step| {
        if step == Step::Next {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    })))
    .await
    .unwrap();
    let base = emulator.base_url().to_string();
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", api.address().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "wrapup"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                &format!("http://{}", secrets.addr),
            ),
            ("GENESYS_SECRET_ID", demo::GENESYS_SECRET_ID),
            ("WEBHOOK_SECRET_ID", demo::WEBHOOK_SECRET_ID),
            ("GENESYS_API_BASE_URL", &base),
            ("GENESYS_LOGIN_BASE_URL", &base),
            ("WRAPUP_INIT_PREFETCH_SECONDS", prefetch),
        ])
        .envs(AWS_TEST_ENV)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    while nexts.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < give_up {
        let _ = tokio::time::timeout_at(give_up, api.changed()).await;
    }
    assert_eq!(nexts.load(Ordering::SeqCst), 1, "INIT ended with a /next");
    let at_init = (sandbox.secrets.reads(), emulator.count(Route::Token));
    api.feed([(
        "first".to_owned(),
        DeadlineMs::After(Duration::from_secs(30)),
        request(demo::CONV_CALL),
    )]);
    let replies = api.wait_for_replies(1, Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(replies[0].body["status"], "applied", "{replies:?}");
    let after = (sandbox.secrets.reads(), emulator.count(Route::Token));
    (at_init, (after.0 - at_init.0, after.1 - at_init.1))
}

#[tokio::test]
async fn credentials_are_fetched_during_init_so_the_first_event_fetches_none() {
    // Default: the Genesys secret and token, and the webhook key, before the first /next.
    let (init, first_event) = first_event_after_init("3").await;
    assert_eq!(init, (2, 1), "secrets read / tokens fetched in INIT");
    assert_eq!(first_event, (0, 0), "the first event reads none");
    // Off: the first event pays for them.
    let (init, first_event) = first_event_after_init("0").await;
    assert_eq!(init, (0, 0));
    assert_eq!(
        first_event,
        (1, 1),
        "the Genesys secret and token (no webhook here)"
    );
}
