//! `redrive` as operators run it: the real binary against moto's SQS (and the sandbox's Lambda
//! Invoke API), with every kind of message the attention queue holds, a message it cannot
//! recognise, a dry-run rejection, and sends that fail (nothing deleted).

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
            vec![("reason", "division_mismatch"), ("trigger", "sqs")],
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
    let out = tokio::process::Command::new(BIN)
        .arg("redrive")
        .args(args)
        .env_clear()
        .envs(AWS_TEST_ENV)
        .envs(env.iter().copied())
        .output()
        .await
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
    assert!(
        invoked.iter().any(|i| i.payload == apply(CONV_EMAIL)),
        "unwrapped"
    );
    // The function ran each: four conversations written.
    assert_eq!(sandbox.emulator.count(Route::PostWrapup), 4);
    assert_eq!(bodies(&q.sqs, &q.attention).await.len(), 2);
}
