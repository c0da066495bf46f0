//! Dry run (`WRAPUP_DRY_RUN=true`): every read and check happens exactly as in a real run, no
//! write is ever sent, and the outcome shows the exact request instead. The write's body (notes
//! may hold customer data) reaches only the caller: never logs, New Relic or the attention queue.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::sandbox::newrelic::NewRelicEmulator;
use genesys_wrapup::TransientKind;
use serde_json::{json, Value};

const NOTES: &str = "customer said: card ending 4242";

async fn dry() -> Harness {
    Harness::with_env(&[
        ("WRAPUP_DRY_RUN", "true"),
        ("ATTENTION_QUEUE_URL", ATTENTION_QUEUE_URL),
    ])
    .await
}

fn with_notes(conversation: &str, code: &str) -> Value {
    let mut r = apply_request(conversation, code);
    r["notes"] = json!(NOTES);
    r["tags"] = json!(["crm"]);
    r
}

fn posts(h: &Harness) -> usize {
    h.count(Route::PostWrapup)
}

#[tokio::test]
async fn would_apply_carries_the_exact_request_and_nothing_is_written() {
    let h = dry().await;
    let out = h
        .invoke(eventbridge(with_notes(CONV_CALL, CODE_SALE)))
        .await
        .unwrap();
    assert_eq!(out["status"], "would_apply", "{out}");
    assert_eq!(out["participantId"], participant(1, 2));
    assert_eq!(out["communicationId"], communication(1, 2));
    assert_eq!(
        out["write"],
        json!({
            "method": "POST",
            "path": format!("/api/v2/conversations/calls/{CONV_CALL}/participants/{}/communications/{}/wrapup",
                            participant(1, 2), communication(1, 2)),
            "body": {"code": CODE_SALE, "notes": NOTES, "tags": ["crm"]}
        })
    );
    // Every read a real run makes, and nothing else.
    assert_eq!(
        (
            h.count(Route::GetConversation),
            h.count(Route::GetWrapupCode),
            posts(&h)
        ),
        (1, 1, 0)
    );
    // A real run would still write: the dry run did not pretend it had.
    let again = h.invoke(with_notes(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(again["status"], "would_apply");
}

#[tokio::test]
async fn rejections_skips_already_applied_and_retries_stay_what_they_would_be() {
    let h = dry().await;
    assert_eq!(
        h.invoke(apply_request(CONV_WRAPPED, CODE_SALE))
            .await
            .unwrap()["status"],
        "already_applied"
    );
    let out = h
        .invoke(apply_request(CONV_CALL, CODE_SUPPORT))
        .await
        .unwrap();
    assert_eq!(out["reason"], "division_mismatch");
    assert!(out.get("write").is_none());
    let mut never = apply_request(CONV_WRAPPED, CODE_CALLBACK);
    never["overwrite"] = json!("never");
    assert_eq!(h.invoke(never).await.unwrap()["reason"], "code_present");
    let t = h
        .invoke(apply_request(CONV_ACTIVE, CODE_SALE))
        .await
        .unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
    // The rejection is recorded, marked as a dry run's.
    let sent = h.sandbox.queues.sent_to(ATTENTION_QUEUE_URL);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1["dryRun"], "true");
    assert_eq!(posts(&h), 0);
}

#[tokio::test]
async fn no_trigger_and_no_fault_reaches_the_write() {
    let h = dry().await;
    // Faults that would make a real write land and answer badly.
    h.emulator()
        .inject(Route::PostWrapup, FaultKind::ApplyThenStatus(503), 100);
    h.emulator()
        .inject(Route::PostWrapup, FaultKind::ApplyThenReset, 100);
    let samples = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events")).unwrap();
    for sample in samples {
        let path = sample.unwrap().path();
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        genesys_wrapup::sandbox::resign_sample(&mut event, h.now());
        let out = h.invoke(event).await.unwrap();
        let text = out.to_string();
        assert!(
            !text.contains("\"status\":\"applied\""),
            "{path:?} claims a write: {text}"
        );
    }
    let batch = sqs_batch(&[
        ("a", apply_request(CONV_EMAIL, CODE_SALE).to_string(), 1),
        ("b", by_name(CONV_MESSAGE, "Sale completed").to_string(), 1),
    ]);
    assert!(failures(&h.invoke(batch).await.unwrap()).is_empty());
    let (status, body, _) = http_parts(
        &h.invoke(h.webhook(&with_notes(CONV_SURVEY, CODE_SALE).to_string()))
            .await
            .unwrap(),
    );
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("would_apply"))
    );
    assert_eq!(
        body["write"]["body"]["notes"], NOTES,
        "the caller sees the body"
    );
    assert_eq!(posts(&h), 0, "the POST was never sent");
    assert!(h.emulator().writes().is_empty());
}

#[tokio::test]
async fn the_body_never_reaches_logs_or_new_relic_which_mark_the_dry_run() {
    let capture = Capture::start();
    let nr = NewRelicEmulator::start("42", "nr-dry-run-key")
        .await
        .unwrap();
    let url = nr.url().to_string();
    let h = Harness::with_env(&[
        ("WRAPUP_DRY_RUN", "true"),
        ("NEW_RELIC_ACCOUNT_ID", "42"),
        ("NEW_RELIC_LICENSE_KEY", "nr-dry-run-key"),
        ("NEW_RELIC_EVENTS_URL", &url),
    ])
    .await;
    let out = h.invoke(with_notes(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(out["status"], "would_apply");
    let events = nr.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0]["status"].as_str(), events[0]["dryRun"].as_u64()),
        (Some("would_apply"), Some(1))
    );
    assert!(!serde_json::to_string(&events).unwrap().contains(NOTES));
    let logs = capture.text();
    assert!(logs.contains("\"dryRun\":true"), "{logs}");
    assert!(logs.contains("would_apply"));
    assert!(!logs.contains(NOTES), "the body leaked into the logs");
    assert_eq!(posts(&h), 0);
}

/// What one outcome log line says, by its JSON fields.
fn outcome_line(logs: &str, conversation: &str) -> Value {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["event"] == "outcome" && l["conversationId"] == conversation)
        .unwrap_or_else(|| panic!("no outcome line for {conversation}: {logs}"))
}

#[tokio::test]
async fn the_shadow_comparison_is_on_like_terms_name_with_name() {
    let capture = Capture::start();
    let nr = NewRelicEmulator::start("42", "nr-shadow-key")
        .await
        .unwrap();
    let url = nr.url().to_string();
    let h = Harness::with_env(&[
        ("WRAPUP_DRY_RUN", "true"),
        ("NEW_RELIC_ACCOUNT_ID", "42"),
        ("NEW_RELIC_LICENSE_KEY", "nr-shadow-key"),
        ("NEW_RELIC_EVENTS_URL", &url),
    ])
    .await;
    // The agent chose "Sale completed"; the automation would write "Call back later".
    let out = h
        .invoke(eventbridge(apply_request(CONV_WRAPPED, CODE_CALLBACK)))
        .await
        .unwrap();
    assert_eq!(out["status"], "would_apply", "{out}");
    assert_eq!(
        (
            out["currentWrapUpCode"].as_str(),
            out["currentWrapUpCodeName"].as_str(),
            out["wrapUpCodeName"].as_str()
        ),
        (
            Some(CODE_SALE),
            Some("Sale completed"),
            Some("Call back later")
        )
    );
    let event = &nr.events()[0];
    assert_eq!(event["currentWrapUpCodeName"], "Sale completed");
    assert_eq!(event["wrapUpCodeName"], "Call back later");
    let line = outcome_line(&capture.text(), CONV_WRAPPED);
    assert_eq!(line["currentWrapUpCodeName"], "Sale completed");
    // Named from the read: no call beyond a real run's.
    assert_eq!(
        (
            h.count(Route::GetConversation),
            h.count(Route::GetWrapupCode)
        ),
        (1, 1)
    );
    // No code on the participant: neither field.
    let out = h
        .invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
        .await
        .unwrap();
    assert!(out.get("currentWrapUpCode").is_none() && out.get("currentWrapUpCodeName").is_none());
}

/// An `acw` event for agent 2 of `CONV_ACW_DONE` saying `code` is set, and a rule that acts on
/// that code: the conversation's read does not show the code yet (the read lags the event).
fn acw_with(code: &str) -> Value {
    let body = json!({
        "conversationId": CONV_ACW_DONE, "participantId": participant(13, 2),
        "sessionId": communication(13, 2), "mediaType": "VOICE", "direction": "INBOUND",
        "userId": AGENT_USER, "queueId": QUEUE_SALES, "wrapupDurationMs": 15000,
        "wrapupCode": code
    });
    json!({
        "version": "0", "id": "ev-shadow", "detail-type": "v2.detail.events.conversation.{id}.acw",
        "source": "aws.partner/genesys.com/cloud/6d2b4a3c-1f0e-4b8a-9c7d-5e4f3a2b1c0d/wrapup",
        "account": "123456789012", "time": "2026-11-25T09:07:05Z", "region": "eu-west-1",
        "resources": [],
        "detail": {"topicName": "v2.detail.events.conversation.x.acw", "version": "2", "eventBody": body}
    })
}

#[tokio::test]
async fn an_acw_code_is_named_from_what_the_function_has_and_never_costs_a_call() {
    let rules = json!({"rules": [{
        "name": "escalations-follow-up",
        "match": {"topic": "acw", "currentWrapUpCode": CODE_SUPPORT},
        "wrapUpCode": {"id": CODE_FOLLOW_UP_SALES}, "overwrite": "always"
    }]})
    .to_string();
    let h = Harness::with_env(&[("WRAPUP_DRY_RUN", "true"), ("WRAPUP_RULES", &rules)]).await;
    // Nothing has looked the agent's code up yet: the outcome has its id, not a guessed name,
    // and no call was spent on it.
    let out = h.invoke(acw_with(CODE_SUPPORT)).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["currentWrapUpCode"].as_str()),
        (Some("would_apply"), Some(CODE_SUPPORT)),
        "{out}"
    );
    assert!(out.get("currentWrapUpCodeName").is_none(), "{out}");
    assert_eq!(h.count(Route::GetWrapupCode), 1, "only the code to write");
    // Once a request has read that code (it is cached), the next outcome names it, still
    // with no call of its own.
    let _ = h
        .invoke(eventbridge(apply_request(CONV_CALL, CODE_SUPPORT)))
        .await
        .unwrap();
    let reads = h.count(Route::GetWrapupCode);
    let out = h.invoke(acw_with(CODE_SUPPORT)).await.unwrap();
    assert_eq!(out["currentWrapUpCodeName"], "Support escalation", "{out}");
    assert_eq!(h.count(Route::GetWrapupCode), reads, "cached, no call");
}
