//! `redrive` as operators run it: the real binary against moto's SQS (and the sandbox's Lambda
//! Invoke API, which records the version each invoke named), with every kind of message the
//! attention queue holds, a message it cannot recognise, a dry-run rejection, sends that fail
//! (nothing deleted), replays that are rejected again (the run ends after one pass), dropping
//! what a dry run left, and the usage errors that would loop or match nothing.

use crate::common::moto::{create_queue, moto, sqs_client, Moto};
use crate::common::AWS_TEST_ENV;
use aws_sdk_sqs::types::MessageAttributeValue;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::sandbox::lambda_api::LambdaApi;
use genesys_wrapup::sandbox::Sandbox;
use genesys_wrapup::SystemClock;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

fn apply(conversation: &str) -> Value {
    json!({"conversationId": conversation, "wrapUpCode": {"id": CODE_SALE}})
}

/// One message of each kind, and what it should become: `(body, attributes)`.
fn attention_messages() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let destination_record = json!({
        "version": "1.0", "timestamp": "2026-11-25T09:00:00.000Z",
        "requestContext": {"requestId": "0b8f", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:wrapup:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": apply(CONV_EMAIL),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Transient.not_ended", "errorMessage": "the agent's part has not ended yet"}
    });
    let eventbridge = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Apply Wrap-Up",
        "source": "com.example.crm", "account": "123456789012", "time": "2026-11-25T09:08:00Z",
        "region": "us-east-1", "resources": [], "detail": apply(CONV_MESSAGE)
    });
    vec![
        (
            apply(CONV_CALL).to_string(),
            vec![
                ("reason", "division_mismatch"),
                ("trigger", "sqs"),
                ("conversationId", CONV_CALL),
                (
                    "message",
                    "code Sale is in division Sales, which is not one of the conversation's",
                ),
            ],
        ),
        (
            apply(CONV_DIRECT).to_string(),
            vec![("reason", "wrapup_code_not_found"), ("dryRun", "true")],
        ),
        (destination_record.to_string(), vec![]),
        (
            eventbridge.to_string(),
            vec![
                ("ERROR_CODE", "SDK_CLIENT_ERROR"),
                ("ERROR_MESSAGE", "Unable to invoke Lambda function"),
                ("EXHAUSTED_RETRY_CONDITION", "MaximumRetryAttemptsExhausted"),
                ("RETRY_ATTEMPTS", "185"),
                (
                    "RULE_ARN",
                    "arn:aws:events:us-east-1:123456789012:rule/wrapup",
                ),
                (
                    "TARGET_ARN",
                    "arn:aws:lambda:us-east-1:123456789012:function:wrapup",
                ),
            ],
        ),
        (
            apply(CONV_TRANSFER).to_string(),
            vec![("conversationId", CONV_TRANSFER), ("trigger", "webhook")],
        ),
        ("not an event at all".to_owned(), vec![]),
    ]
}

struct Queues {
    moto: Moto,
    sqs: aws_sdk_sqs::Client,
    attention: String,
    buffer: String,
}

async fn queues() -> Queues {
    let moto = moto().await;
    let sqs = sqs_client(&moto.endpoint).await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let attention = create_queue(&sqs, &format!("attention-{id}")).await;
    let buffer = create_queue(&sqs, &format!("buffer-{id}")).await;
    for (body, attributes) in attention_messages() {
        let mut send = sqs.send_message().queue_url(&attention).message_body(body);
        for (name, value) in attributes {
            send = send.message_attributes(
                name,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .unwrap(),
            );
        }
        send.send().await.unwrap();
    }
    Queues {
        moto,
        sqs,
        attention,
        buffer,
    }
}

/// Every body in `queue` (received and put back).
async fn bodies(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<String> {
    let mut found = BTreeMap::new();
    for _ in 0..5 {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            found.insert(m.message_id.unwrap(), m.body.unwrap());
        }
    }
    found.into_values().collect()
}

struct Run {
    code: i32,
    report: Value,
    stdout: String,
}

async fn redrive(args: &[&str], env: &[(&str, &str)]) -> Run {
    let run = tokio::process::Command::new(BIN)
        .arg("redrive")
        .args(args)
        .env_clear()
        .envs(AWS_TEST_ENV)
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output();
    // A run that fed on its own replays would never end.
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("redrive ends")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// `(kind, reason, action)` of each message, sorted.
fn actions(report: &Value) -> Vec<(String, String, String)> {
    let mut seen: Vec<(String, String, String)> = report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let text = |k: &str| m[k].as_str().unwrap().to_owned();
            (text("kind"), text("reason"), text("action"))
        })
        .collect();
    seen.sort();
    seen
}

fn row(kind: &str, reason: &str, action: &str) -> (String, String, String) {
    (kind.into(), reason.into(), action.into())
}

#[tokio::test]
async fn every_kind_is_recognised_unwrapped_sent_to_the_buffer_queue_then_deleted() {
    let q = queues().await;
    let env = [("AWS_ENDPOINT_URL", q.moto.endpoint.as_str())];
    // A dry run lists and changes nothing.
    let listed = redrive(
        &[
            "--from",
            &q.attention,
            "--to",
            &q.buffer,
            "--dry-run",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(listed.report["sent"], 0, "{}", listed.stdout);
    assert_eq!(bodies(&q.sqs, &q.attention).await.len(), 6);
    assert!(bodies(&q.sqs, &q.buffer).await.is_empty());
    // Each entry says which conversation and why, in its writer's words.
    let entry = |reason: &str| {
        listed.report["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["reason"] == reason)
            .cloned()
            .unwrap()
    };
    let rejection = entry("division_mismatch");
    assert_eq!(rejection["conversationId"], CONV_CALL);
    assert_eq!(
        rejection["message"],
        "code Sale is in division Sales, which is not one of the conversation's"
    );
    let failure = entry("lambda_failure");
    assert_eq!(
        failure["conversationId"], CONV_EMAIL,
        "from the Lambda record's payload"
    );
    assert_eq!(
        failure["message"],
        "RetriesExhausted: Transient.not_ended: the agent's part has not ended yet"
    );
    let dead = entry("eventbridge_dlq");
    assert_eq!(
        dead["conversationId"], CONV_MESSAGE,
        "from the event's detail"
    );
    assert_eq!(
        dead["message"],
        "SDK_CLIENT_ERROR: Unable to invoke Lambda function"
    );
    assert_eq!(entry("buffer_dlq")["conversationId"], CONV_TRANSFER);
    // And so does each line.
    let lines = redrive(
        &["--from", &q.attention, "--to", &q.buffer, "--dry-run"],
        &env,
    )
    .await;
    let line = lines
        .stdout
        .lines()
        .find(|l| l.contains(" rejection division_mismatch → "))
        .unwrap_or_else(|| panic!("{}", lines.stdout));
    assert!(
        line.ends_with(&format!(
            "→ skipped (dry run: would send to queue {}) — conversation {CONV_CALL}: code Sale is in division Sales, which is not one of the conversation's",
            q.buffer
        )),
        "{line}"
    );

    let run = redrive(&["--from", &q.attention, "--to", &q.buffer, "--json"], &env).await;
    assert_eq!(run.code, 1, "the unknown message failed: {}", run.stdout);
    assert_eq!(
        actions(&run.report),
        [
            row("buffer_dlq", "buffer_dlq", "sent"),
            row("eventbridge_dlq", "eventbridge_dlq", "sent"),
            row("lambda_failure", "lambda_failure", "sent"),
            row("rejection", "division_mismatch", "sent"),
            row("rejection", "wrapup_code_not_found", "skipped"),
            row("unknown", "unknown", "failed"),
        ]
    );
    assert_eq!(
        (
            &run.report["sent"],
            &run.report["skipped"],
            &run.report["failed"]
        ),
        (&json!(4), &json!(1), &json!(1))
    );
    // The originals, as the function's SQS trigger reads them: the Lambda record unwrapped.
    let mut sent: Vec<Value> = bodies(&q.sqs, &q.buffer)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    sent.sort_by_key(|v| v.to_string());
    assert!(sent.contains(&apply(CONV_EMAIL)), "{sent:?}");
    assert!(sent.contains(&apply(CONV_CALL)));
    assert!(sent.contains(&apply(CONV_TRANSFER)));
    assert!(sent.iter().any(|v| v["detail"] == apply(CONV_MESSAGE)));
    // What was not sent stays, visible again at once.
    let left = bodies(&q.sqs, &q.attention).await;
    assert_eq!(left.len(), 2, "{left:?}");

    // The dry run's rejection goes only when asked, and only for the reasons asked.
    let run = redrive(
        &[
            "--from",
            &q.attention,
            "--to",
            &q.buffer,
            "--reason",
            "wrapup_code_not_found",
            "--include-dry-run",
        ],
        &env,
    )
    .await;
    assert!(
        run.stdout.contains("wrapup_code_not_found → sent")
            && run.stdout.contains("1 sent, 0 skipped, 1 failed"),
        "{}",
        run.stdout
    );
    assert_eq!(bodies(&q.sqs, &q.attention).await, ["not an event at all"]);
}

#[tokio::test]
async fn a_send_that_fails_deletes_nothing() {
    let q = queues().await;
    let env = [("AWS_ENDPOINT_URL", q.moto.endpoint.as_str())];
    let missing = format!("{}-gone", q.buffer);
    let run = redrive(&["--from", &q.attention, "--to", &missing, "--json"], &env).await;
    assert_eq!(run.code, 1);
    assert_eq!(run.report["sent"], 0, "{}", run.stdout);
    let failed = run.report["failed"].as_u64().unwrap();
    assert_eq!(failed, 5, "every message meant to go: {}", run.stdout);
    assert!(run.stdout.contains("left in the queue"), "{}", run.stdout);
    assert_eq!(
        bodies(&q.sqs, &q.attention).await.len(),
        6,
        "nothing deleted"
    );
    // --max caps the count.
    let run = redrive(
        &[
            "--from",
            &q.attention,
            "--to",
            &q.buffer,
            "--max",
            "2",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(
        run.report["messages"].as_array().unwrap().len(),
        2,
        "{}",
        run.stdout
    );
    // What it did not get to is visible again at once, not hidden for the run's hold.
    let sent = run.report["sent"].as_u64().unwrap() as usize;
    assert_eq!(bodies(&q.sqs, &q.attention).await.len(), 6 - sent);
}

#[tokio::test]
async fn to_the_function_each_original_is_an_asynchronous_invoke() {
    let q = queues().await;
    let sandbox = Sandbox::start().await.unwrap();
    let app = Arc::new(sandbox.app(&[], Arc::new(SystemClock)).await.unwrap());
    let lambda = LambdaApi::start(app, "wrapup").await.unwrap();
    let lambda_url = lambda.url();
    let env = [
        ("AWS_ENDPOINT_URL_SQS", q.moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL_LAMBDA", lambda_url.as_str()),
    ];
    // A function that does not exist: failed, nothing deleted.
    let run = redrive(
        &["--from", &q.attention, "--function", "nope", "--json"],
        &env,
    )
    .await;
    assert_eq!(run.report["sent"], 0, "{}", run.stdout);
    assert!(run.stdout.contains("not found"), "{}", run.stdout);
    assert_eq!(
        bodies(&q.sqs, &q.attention).await.len(),
        6,
        "nothing deleted"
    );
    let run = redrive(
        &["--from", &q.attention, "--function", "wrapup", "--json"],
        &env,
    )
    .await;
    assert_eq!(run.report["sent"], 4, "{}", run.stdout);
    let invoked: Vec<_> = lambda
        .invoked()
        .into_iter()
        .filter(|i| i.function == "wrapup")
        .collect();
    assert_eq!(invoked.len(), 4);
    assert!(invoked.iter().all(|i| i.invocation_type == "Event"));
    // Through the alias that carries the retries and the on-failure destination, never $LATEST.
    assert!(
        invoked
            .iter()
            .all(|i| i.qualifier.as_deref() == Some("live")),
        "{invoked:?}"
    );
    assert!(run.report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["action"] == "sent")
        .all(|m| m["detail"] == "to function wrapup:live"));
    assert!(
        invoked.iter().any(|i| i.payload == apply(CONV_EMAIL)),
        "unwrapped"
    );
    // The function ran each: four conversations written.
    assert_eq!(sandbox.emulator.count(Route::PostWrapup), 4);
    assert_eq!(bodies(&q.sqs, &q.attention).await.len(), 2);
}

#[tokio::test]
async fn a_qualified_function_is_invoked_as_given() {
    let q = queues().await;
    let sandbox = Sandbox::start().await.unwrap();
    let app = Arc::new(sandbox.app(&[], Arc::new(SystemClock)).await.unwrap());
    let lambda = LambdaApi::start(app, "wrapup").await.unwrap();
    let lambda_url = lambda.url();
    let env = [
        ("AWS_ENDPOINT_URL_SQS", q.moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL_LAMBDA", lambda_url.as_str()),
    ];
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:wrapup";
    for (function, qualifier) in [("wrapup:7", "7"), (arn, "live")] {
        let run = redrive(
            &[
                "--from",
                &q.attention,
                "--function",
                function,
                "--reason",
                "buffer_dlq",
                "--json",
            ],
            &env,
        )
        .await;
        assert_eq!(run.report["sent"], 1, "{}", run.stdout);
        let last = lambda.invoked().pop().unwrap();
        assert_eq!(
            (last.function.as_str(), last.qualifier.as_deref()),
            ("wrapup", Some(qualifier)),
            "{function}"
        );
        // Put it back for the next form.
        q.sqs
            .send_message()
            .queue_url(&q.attention)
            .message_body(apply(CONV_TRANSFER).to_string())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_run_whose_replays_come_back_ends_after_one_pass() {
    // The function rejects each replay again (a code that does not exist): its rejection is
    // back in the attention queue before the invoke returns, as a new message.
    let moto = moto().await;
    let sqs = sqs_client(&moto.endpoint).await;
    let attention = create_queue(
        &sqs,
        &format!("attention-{}", uuid::Uuid::new_v4().simple()),
    )
    .await;
    let sandbox = Sandbox::start().await.unwrap();
    let app = sandbox
        .app(
            &[
                ("ATTENTION_QUEUE_URL", attention.as_str()),
                ("AWS_ENDPOINT_URL_SQS", moto.endpoint.as_str()),
            ],
            Arc::new(SystemClock),
        )
        .await
        .unwrap();
    let lambda = LambdaApi::start(Arc::new(app), "wrapup").await.unwrap();
    let lambda_url = lambda.url();
    let missing_code = uuid::Uuid::new_v4().to_string();
    let conversations = [CONV_CALL, CONV_EMAIL, CONV_MESSAGE];
    for conversation in conversations {
        let request = json!({"conversationId": conversation, "wrapUpCode": {"id": missing_code}});
        sqs.send_message()
            .queue_url(&attention)
            .message_body(request.to_string())
            .message_attributes(
                "reason",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("wrapup_code_not_found")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let env = [
        ("AWS_ENDPOINT_URL_SQS", moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL_LAMBDA", lambda_url.as_str()),
    ];
    for pass in 1..=2 {
        let run = redrive(
            &["--from", &attention, "--function", "wrapup", "--json"],
            &env,
        )
        .await;
        assert_eq!(run.code, 0, "pass {pass}: {}", run.stdout);
        // Each message that was there is replayed once; each that came back is left for the
        // next run, which finds it.
        assert_eq!(run.report["sent"], 3, "pass {pass}: {}", run.stdout);
        assert_eq!(run.report["skipped"], 3, "pass {pass}: {}", run.stdout);
        let back: Vec<&Value> = run.report["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["action"] == "skipped")
            .collect();
        assert!(
            back.iter().all(|m| m["detail"]
                .as_str()
                .unwrap()
                .contains("after this run started")
                && m["reason"] == "wrapup_code_not_found"),
            "{back:?}"
        );
        let mut returned: Vec<&str> = back
            .iter()
            .map(|m| m["conversationId"].as_str().unwrap())
            .collect();
        returned.sort();
        let mut expected = conversations.to_vec();
        expected.sort();
        assert_eq!(returned, expected);
        assert_eq!(lambda.invoked().len(), 3 * pass, "no replay of a replay");
    }
    assert!(lambda
        .invoked()
        .iter()
        .all(|i| i.qualifier.as_deref() == Some("live")));
    assert_eq!(bodies(&sqs, &attention).await.len(), 3, "nothing lost");
    assert_eq!(sandbox.emulator.count(Route::PostWrapup), 0);
}

#[tokio::test]
async fn the_from_queue_is_never_the_destination() {
    let q = queues().await;
    let env = [("AWS_ENDPOINT_URL", q.moto.endpoint.as_str())];
    let run = redrive(&["--from", &q.attention, "--to", &q.attention], &env).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("--to names the --from queue"),
        "{}",
        run.stdout
    );
    // Spelt another way, still the same queue.
    let slash = format!("{}/", q.attention);
    let run = redrive(&["--from", &q.attention, "--to", &slash], &env).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        bodies(&q.sqs, &q.attention).await.len(),
        6,
        "nothing touched"
    );
}

#[tokio::test]
async fn a_reason_the_queue_never_holds_is_a_usage_error_naming_the_closest() {
    let run = redrive(
        &[
            "--from",
            "http://127.0.0.1:9/q",
            "--to",
            "http://127.0.0.1:9/b",
            "--reason",
            "forbiden",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("did you mean forbidden?"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(see genesys-wrapup redrive --help)"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let run = redrive(
        &[
            "--from",
            "http://127.0.0.1:9/q",
            "--to",
            "http://127.0.0.1:9/b",
            "--reason",
            "no_rule",
        ],
        &[],
    )
    .await;
    assert_eq!(
        run.code, 2,
        "a skip never reaches the queue: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("division_mismatch"),
        "the list: {}",
        run.stdout
    );
}

#[tokio::test]
async fn what_a_dry_run_left_is_dropped_only_when_asked_and_each_is_listed() {
    let q = queues().await;
    let env = [("AWS_ENDPOINT_URL", q.moto.endpoint.as_str())];
    // Dropping needs to be told what.
    let run = redrive(&["--from", &q.attention, "--drop"], &env).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("--only-dry-run or --reason"),
        "{}",
        run.stdout
    );
    // Listed first, nothing deleted.
    let listed = redrive(
        &[
            "--from",
            &q.attention,
            "--drop",
            "--only-dry-run",
            "--dry-run",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(listed.report["dropped"], 0, "{}", listed.stdout);
    assert_eq!(bodies(&q.sqs, &q.attention).await.len(), 6);
    let run = redrive(&["--from", &q.attention, "--drop", "--only-dry-run"], &env).await;
    let dropped: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("→ dropped"))
        .collect();
    assert_eq!(dropped.len(), 1, "{}", run.stdout);
    assert!(
        dropped[0].contains(" rejection wrapup_code_not_found → dropped — conversation ")
            && dropped[0].contains(CONV_DIRECT),
        "{}",
        dropped[0]
    );
    assert!(run.stdout.contains(", 1 dropped"), "{}", run.stdout);
    assert_eq!(
        run.code, 1,
        "the unknown message still needs a person: {}",
        run.stdout
    );
    let left = bodies(&q.sqs, &q.attention).await;
    assert_eq!(left.len(), 5, "only the dry run's rejection went: {left:?}");
    assert!(!left.contains(&apply(CONV_DIRECT).to_string()));
}
