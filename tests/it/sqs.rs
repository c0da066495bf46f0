//! The buffered path: SQS batches with partial failures, per-conversation ordering, backoff
//! through the visibility timeout, the attention queue and webhook enqueue mode.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::{Deadline, Invocation};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn only_transient_failures_are_reported_and_they_back_off() {
    let h = Harness::new().await;
    let response = h
        .invoke(sqs_batch(&[
            ("ok", body(CONV_CALL, CODE_SALE), 1),
            ("bad", "{\"conversationId\": 1}".into(), 1),
            ("early", body(CONV_ACTIVE, CODE_SALE), 3),
            ("junk", "not json".into(), 1),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&response), vec!["early"]);
    // Not ended asks for 30 s; the third receive backs off 120 s.
    assert_eq!(
        h.sandbox.queues.visibility(),
        vec![("rh-early".to_owned(), 120)]
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn eventbridge_events_and_destination_records_are_unwrapped() {
    let h = Harness::new().await;
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    let record = json!({
        "version": "1.0", "timestamp": "2026-11-25T09:00:00.000Z",
        "requestContext": {"requestId": "r", "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:wrapup:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": eventbridge(apply_request(CONV_EMAIL, CODE_SALE)),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Transient.not_ended", "errorMessage": "…"}
    });
    let response = h
        .invoke(sqs_batch(&[
            ("eb", event.to_string(), 1),
            ("dest", record.to_string(), 1),
        ]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let mut written: Vec<String> = h
        .emulator()
        .writes()
        .into_iter()
        .map(|w| w.conversation_id)
        .collect();
    written.sort();
    assert_eq!(written, vec![CONV_CALL.to_owned(), CONV_EMAIL.to_owned()]);
}

#[tokio::test]
async fn an_in_batch_duplicate_is_already_applied() {
    let h = Harness::new().await;
    let response = h
        .invoke(sqs_batch(&[
            ("first", body(CONV_CALL, CODE_SALE), 1),
            (
                "second",
                eventbridge(apply_request(CONV_CALL, CODE_SALE)).to_string(),
                1,
            ),
        ]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().writes().len(), 1);
    assert_eq!(
        h.count(Route::GetConversation),
        2,
        "the second read sees the first write"
    );
}

#[tokio::test]
async fn later_messages_of_a_failed_conversation_wait_their_turn() {
    let h = Harness::new().await;
    let response = h
        .invoke(sqs_batch(&[
            ("a", body(CONV_ACTIVE, CODE_SALE), 1),
            ("b", body(CONV_ACTIVE, CODE_CALLBACK), 1),
            ("c", body(CONV_CALL, CODE_SALE), 1),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&response), vec!["a", "b"]);
    assert_eq!(h.count(Route::GetConversation), 2, "b was not started");
}

async fn distinct_conversations(h: &Harness, n: u32) -> Vec<(String, String, u32)> {
    (100..100 + n)
        .map(|i| {
            h.emulator().put_conversation(ended_call(i));
            (format!("m{i}"), body(&conversation_id(i), CODE_SALE), 1)
        })
        .collect()
}

fn refs(messages: &[(String, String, u32)]) -> Vec<(&str, String, u32)> {
    messages
        .iter()
        .map(|(id, b, n)| (id.as_str(), b.clone(), *n))
        .collect()
}

#[tokio::test]
async fn messages_of_different_conversations_run_concurrently_within_the_limit() {
    let h = Harness::new().await;
    h.emulator().set_latency(Duration::from_millis(30));
    let messages = distinct_conversations(&h, 8).await;
    let response = h.invoke(sqs_batch(&refs(&messages))).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().writes().len(), 8);
    assert!(h.emulator().max_in_flight() > 1, "messages overlapped");

    let h = Harness::with_env(&[("BATCH_CONCURRENCY", "1")]).await;
    h.emulator().set_latency(Duration::from_millis(5));
    let messages = distinct_conversations(&h, 4).await;
    let response = h.invoke(sqs_batch(&refs(&messages))).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().max_in_flight(), 1);
}

#[tokio::test]
async fn near_the_deadline_no_message_is_started() {
    let h = Harness::new().await;
    let inv = Invocation::new(
        "late",
        Deadline::after(h.clock.as_ref(), Duration::from_secs(8)),
    );
    let event = sqs_batch(&[
        ("x", body(CONV_CALL, CODE_SALE), 1),
        ("y", body(CONV_EMAIL, CODE_SALE), 1),
    ]);
    let response = h.invoke_with(event, &inv).await.unwrap();
    assert_eq!(failures(&response), vec!["x", "y"]);
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn the_rate_limiter_hands_back_what_does_not_fit() {
    let h = Harness::with_env(&[("GENESYS_RATE_LIMIT_PER_MINUTE", "4")]).await;
    let messages = distinct_conversations(&h, 3).await;
    let response = h.invoke(sqs_batch(&refs(&messages))).await.unwrap();
    assert!(!failures(&response).is_empty());
    assert!(
        h.api_calls() <= 4,
        "no more calls than the budget: {}",
        h.api_calls()
    );
    assert!(h.sandbox.queues.visibility().iter().all(|(_, s)| *s >= 15));
}

#[tokio::test]
async fn rejections_go_to_the_attention_queue_with_their_reason() {
    let h = Harness::with_env(&[("ATTENTION_QUEUE_URL", ATTENTION_QUEUE_URL)]).await;
    let rejected_body = body(CONV_CALL, CODE_SUPPORT);
    let response = h
        .invoke(sqs_batch(&[
            ("r", rejected_body.clone(), 1),
            ("ok", body(CONV_EMAIL, CODE_SALE), 1),
        ]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let sent = h.sandbox.queues.sent_to(ATTENTION_QUEUE_URL);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].0, rejected_body,
        "the original body, ready to re-drive"
    );
    assert_eq!(sent[0].1["reason"], "division_mismatch");
    assert_eq!(sent[0].1["conversationId"], CONV_CALL);

    // Direct EventBridge rejections are recorded too, with the whole event.
    let event = eventbridge(apply_request(
        "0f0f0f0f-0000-4000-8000-000000000000",
        CODE_SALE,
    ));
    let out = h.invoke(event.clone()).await.unwrap();
    assert_eq!(out["reason"], "conversation_not_found");
    let sent = h.sandbox.queues.sent_to(ATTENTION_QUEUE_URL);
    assert_eq!(serde_json::from_str::<Value>(&sent[1].0).unwrap(), event);

    // If the rejection cannot be recorded, the message is retried rather than lost.
    h.sandbox.queues.set_failing(true);
    let response = h
        .invoke(sqs_batch(&[("r2", rejected_body, 1)]))
        .await
        .unwrap();
    assert_eq!(failures(&response), vec!["r2"]);
}

#[tokio::test]
async fn webhook_enqueue_mode_answers_202_after_queueing() {
    let h = Harness::with_env(&[
        ("WEBHOOK_MODE", "enqueue"),
        ("BUFFER_QUEUE_URL", BUFFER_QUEUE_URL),
    ])
    .await;
    let raw = body(CONV_CALL, CODE_SALE);
    let (status, out, _) = http_parts(&h.invoke(h.webhook(&raw)).await.unwrap());
    assert_eq!((status, out["status"].as_str()), (202, Some("queued")));
    assert_eq!(out["conversationId"], CONV_CALL);
    let sent = h.sandbox.queues.sent_to(BUFFER_QUEUE_URL);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, raw);
    assert!(
        h.emulator().requests().is_empty(),
        "nothing is applied in the webhook"
    );

    let (status, _, _) = http_parts(
        &h.invoke(h.webhook("{\"conversationId\": \"x\"}"))
            .await
            .unwrap(),
    );
    assert_eq!(status, 400, "the shape is checked before queueing");
    h.sandbox.queues.set_failing(true);
    let (status, out, retry_after) = http_parts(&h.invoke(h.webhook(&raw)).await.unwrap());
    assert_eq!(
        (status, out["error"].as_str()),
        (503, Some("upstream_unavailable"))
    );
    assert!(retry_after.is_some());

    // What was queued is applied when the buffer queue delivers it.
    h.sandbox.queues.set_failing(false);
    let response = h
        .invoke(sqs_batch(&[("q", sent[0].0.clone(), 1)]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn duplicates_never_write_twice_except_truly_concurrent_invocations() {
    // Sequential redelivery.
    let h = Harness::new().await;
    for _ in 0..3 {
        h.invoke(sqs_batch(&[("d", body(CONV_CALL, CODE_SALE), 1)]))
            .await
            .unwrap();
    }
    assert_eq!(h.emulator().writes().len(), 1);

    // Two user.end-style duplicates (same request, two events) in one batch.
    let h = Harness::new().await;
    let one = eventbridge(apply_request(CONV_TRANSFER, CODE_CALLBACK));
    let mut two = one.clone();
    two["id"] = json!("another-event-id");
    h.invoke(sqs_batch(&[
        ("1", one.to_string(), 1),
        ("2", two.to_string(), 1),
    ]))
    .await
    .unwrap();
    assert_eq!(h.emulator().writes().len(), 1);

    // Two invocations at the same instant both read "not applied" before either writes: the
    // documented worst case is a second write of the same code, never a different result.
    let h = Harness::new().await;
    h.emulator().set_latency(Duration::from_millis(20));
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    let (a, b) = tokio::join!(h.invoke(event.clone()), h.invoke(event.clone()));
    let statuses = [a.unwrap()["status"].clone(), b.unwrap()["status"].clone()];
    let writes = h.emulator().writes();
    assert!((1..=2).contains(&writes.len()));
    assert!(writes.iter().all(|w| w.body["code"] == CODE_SALE));
    assert!(statuses
        .iter()
        .all(|s| s == "applied" || s == "already_applied"));
    assert_eq!(h.invoke(event).await.unwrap()["status"], "already_applied");
}

#[tokio::test]
async fn a_token_expiring_mid_batch_is_renewed_once() {
    let h = Harness::new().await;
    let messages = distinct_conversations(&h, 5).await;
    h.invoke(sqs_batch(&refs(&messages[..1]))).await.unwrap();
    h.emulator().revoke_tokens();
    let response = h.invoke(sqs_batch(&refs(&messages[1..]))).await.unwrap();
    assert!(failures(&response).is_empty());
    assert!(
        h.count(Route::Token) <= 3,
        "renewals are shared, not one per message: {}",
        h.count(Route::Token)
    );
    assert_eq!(h.emulator().writes().len(), 5);
}

#[tokio::test]
async fn a_short_genesys_outage_inside_a_batch_is_survived() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::GetConversation,
        FaultKind::Status {
            status: 503,
            code: "service.unavailable".into(),
            message: "blip".into(),
            retry_after: None,
        },
        1,
    );
    let messages = distinct_conversations(&h, 3).await;
    let response = h.invoke(sqs_batch(&refs(&messages))).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().writes().len(), 3);
}
