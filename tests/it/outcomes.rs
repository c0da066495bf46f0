//! Every outcome and transient class of the contract, through the real handler against the
//! emulator, asserting what was called and what was written.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::TransientKind;
use serde_json::{json, Value};
use std::time::Duration;

fn status(fault_status: u16, code: &str, retry_after: Option<u64>) -> FaultKind {
    FaultKind::Status {
        status: fault_status,
        code: code.into(),
        message: format!("injected {fault_status}"),
        retry_after,
    }
}

#[tokio::test]
async fn applied_writes_once_through_the_media_endpoint() {
    let h = Harness::new().await;
    let mut detail = apply_request(CONV_CALL, CODE_SALE);
    detail["notes"] = json!("sold");
    detail["tags"] = json!(["crm"]);
    let out = h.invoke(eventbridge(detail)).await.unwrap();
    assert_eq!(out["status"], "applied");
    assert_eq!(out["conversationId"], CONV_CALL);
    assert_eq!(out["participantId"], participant(1, 2));
    assert_eq!(out["communicationId"], communication(1, 2));
    assert_eq!(out["wrapUpCodeId"], CODE_SALE);

    let writes = h.emulator().writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].media, "calls");
    assert_eq!(writes[0].participant_id, participant(1, 2));
    assert_eq!(
        writes[0].body,
        json!({"code": CODE_SALE, "notes": "sold", "tags": ["crm"]})
    );
    let post = h
        .emulator()
        .requests()
        .into_iter()
        .find(|r| r.route == Route::PostWrapup)
        .unwrap();
    assert_eq!(
        post.path,
        format!(
            "/api/v2/conversations/calls/{CONV_CALL}/participants/{}/communications/{}/wrapup",
            participant(1, 2),
            communication(1, 2)
        )
    );
    assert_eq!(
        (
            h.count(Route::Token),
            h.count(Route::GetConversation),
            h.count(Route::GetWrapupCode)
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn the_same_request_twice_is_already_applied_without_a_second_write() {
    let h = Harness::new().await;
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    assert_eq!(h.invoke(event.clone()).await.unwrap()["status"], "applied");
    h.emulator().clear_log();
    let again = h.invoke(event).await.unwrap();
    assert_eq!(again["status"], "already_applied");
    assert_eq!(again["participantId"], participant(1, 2));
    assert!(h.emulator().writes().is_empty());
    // Steady state: one read, no token call, the code from cache.
    assert_eq!(h.api_calls(), 1);
    assert_eq!(h.count(Route::Token), 0);
}

#[tokio::test]
async fn steady_state_costs_two_api_calls_and_no_token_or_secret_reads() {
    let h = Harness::new().await;
    h.invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
        .await
        .unwrap();
    let secret_reads = h.sandbox.secrets.reads();
    h.emulator().clear_log();
    let out = h
        .invoke(eventbridge(apply_request(CONV_EMAIL, CODE_SALE)))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied");
    assert_eq!(
        (h.count(Route::GetConversation), h.count(Route::PostWrapup)),
        (1, 1)
    );
    assert_eq!(h.count(Route::GetWrapupCode), 0);
    assert_eq!(h.count(Route::Token), 0);
    assert_eq!(h.sandbox.secrets.reads(), secret_reads);
}

#[tokio::test]
async fn an_existing_final_code_is_already_applied_and_different_notes_are_written() {
    let h = Harness::new().await;
    let out = h
        .invoke(apply_request(CONV_WRAPPED, CODE_SALE))
        .await
        .unwrap();
    assert_eq!(out["status"], "already_applied");
    assert!(h.emulator().writes().is_empty());
    let mut with_notes = apply_request(CONV_WRAPPED, CODE_SALE);
    with_notes["notes"] = json!("added later");
    assert_eq!(
        h.invoke(with_notes.clone()).await.unwrap()["status"],
        "applied"
    );
    assert_eq!(
        h.invoke(with_notes).await.unwrap()["status"],
        "already_applied"
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn a_provisional_or_system_code_does_not_count_as_applied() {
    let h = Harness::new().await;
    h.emulator().update_conversation(CONV_WRAPPED, |c| {
        c["participants"][1]["wrapup"] = json!({"code": CODE_SALE, "provisional": true});
        c["participants"][1]["calls"][0]["wrapup"] =
            json!({"code": CODE_SALE, "provisional": true});
    });
    assert_eq!(
        h.invoke(apply_request(CONV_WRAPPED, CODE_SALE))
            .await
            .unwrap()["status"],
        "applied"
    );
    h.emulator().update_conversation(CONV_CALL, |c| {
        c["participants"][1]["wrapup"] = json!({"code": "ININ-WRAP-UP-TIMEOUT", "name": "Timeout"});
    });
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "applied"
    );
}

#[tokio::test]
async fn transfers_wrap_up_the_latest_agent_and_direct_calls_the_user() {
    let h = Harness::new().await;
    let out = h
        .invoke(apply_request(CONV_TRANSFER, CODE_CALLBACK))
        .await
        .unwrap();
    assert_eq!(out["participantId"], participant(6, 3));
    let mut first = apply_request(CONV_TRANSFER, CODE_CALLBACK);
    first["participantId"] = json!(participant(6, 2));
    let out = h.invoke(first).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["participantId"].as_str()),
        (Some("applied"), Some(participant(6, 2).as_str()))
    );
    let out = h
        .invoke(apply_request(CONV_DIRECT, CODE_CALLBACK))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied");
    assert_eq!(out["participantId"], participant(8, 2));
}

async fn rejected(h: &Harness, event: Value) -> (String, String) {
    let out = h.invoke(event).await.expect("a rejection is not an error");
    assert_eq!(out["status"], "rejected", "{out}");
    (
        out["reason"].as_str().unwrap().to_owned(),
        out["message"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn invalid_events_are_rejected_before_any_network_call() {
    let h = Harness::new().await;
    for event in [
        json!({"conversationId": "../../../oauth/token", "wrapUpCode": {"id": CODE_SALE}}),
        json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": CODE_SALE}, "extra": true}),
        json!({"conversationId": CONV_CALL}),
        json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": "ININ-WRAP-UP-TIMEOUT"}}),
        json!([1, 2]),
        json!("text"),
        eventbridge(json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": "x"}})),
    ] {
        let (reason, _) = rejected(&h, event).await;
        assert_eq!(reason, "invalid_event");
    }
    assert!(h.emulator().requests().is_empty());
    assert_eq!(h.sandbox.secrets.reads(), 0);
}

#[tokio::test]
async fn permanent_rejections_carry_their_reason() {
    let h = Harness::new().await;
    let unknown = "0f0f0f0f-0000-4000-8000-000000000000";
    assert_eq!(
        rejected(&h, apply_request(unknown, CODE_SALE)).await.0,
        "conversation_not_found"
    );
    assert_eq!(
        rejected(&h, apply_request(CONV_CALL, unknown)).await.0,
        "wrapup_code_not_found"
    );
    let (reason, message) = rejected(&h, apply_request(CONV_CALL, CODE_SUPPORT)).await;
    assert_eq!(reason, "division_mismatch");
    assert!(
        message.contains(DIVISION_SUPPORT) && message.contains(DIVISION_SALES),
        "{message}"
    );
    assert_eq!(
        rejected(&h, apply_request(CONV_ABANDONED, CODE_SALE))
            .await
            .0,
        "no_agent_participant"
    );
    let mut customer = apply_request(CONV_CALL, CODE_SALE);
    customer["participantId"] = json!(participant(1, 1));
    assert_eq!(rejected(&h, customer).await.0, "no_agent_participant");
    assert!(h.emulator().writes().is_empty());
}

#[tokio::test]
async fn forbidden_and_genesys_rejections_quote_genesys() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::GetConversation,
        status(403, "missing.permissions", None),
        1,
    );
    let (reason, message) = rejected(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(reason, "forbidden");
    assert!(message.contains("missing.permissions"), "{message}");

    h.emulator().inject(
        Route::PostWrapup,
        status(400, "conversation.participant.wrapup.acw.ended", None),
        1,
    );
    let (reason, message) = rejected(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(reason, "genesys_rejected");
    assert!(
        message.contains("conversation.participant.wrapup.acw.ended")
            && message.contains("injected 400"),
        "{message}"
    );
    assert!(h.emulator().writes().is_empty());
}

#[tokio::test]
async fn a_code_deleted_after_it_was_cached_is_read_again_whatever_status_the_write_gets() {
    // Genesys does not document the status of a write naming a code it no longer has.
    for status in [400, 404] {
        let h = Harness::new().await;
        let applied = h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
        assert_eq!(applied["status"], "applied");
        h.emulator().remove_wrapup_code(CODE_SALE);
        h.emulator().answer_unknown_codes_with(status);
        let (reason, _) = rejected(&h, apply_request(CONV_EMAIL, CODE_SALE)).await;
        assert_eq!(reason, "genesys_rejected", "{status}");
        // The refusal dropped the cached code: the next request asks Genesys and is told.
        let reads = h.count(Route::GetWrapupCode);
        let (reason, _) = rejected(&h, apply_request(CONV_MESSAGE, CODE_SALE)).await;
        assert_eq!(reason, "wrapup_code_not_found", "{status}");
        assert_eq!(h.count(Route::GetWrapupCode), reads + 1, "{status}");
    }
}

async fn transient(h: &Harness, event: Value) -> genesys_wrapup::Transient {
    h.invoke(event)
        .await
        .expect_err("a transient failure is an error for the platform to retry")
}

#[tokio::test]
async fn a_conversation_that_has_not_ended_is_retried_later() {
    let h = Harness::new().await;
    let t = transient(&h, apply_request(CONV_ACTIVE, CODE_SALE)).await;
    assert_eq!(t.kind, TransientKind::NotEnded);
    assert!(t.retry_after.is_some());
    assert!(h.emulator().writes().is_empty());
    h.emulator().update_conversation(CONV_ACTIVE, |c| {
        c["endTime"] = json!("2026-11-25T09:30:00.000Z")
    });
    assert_eq!(
        h.invoke(apply_request(CONV_ACTIVE, CODE_SALE))
            .await
            .unwrap()["status"],
        "applied"
    );
}

#[tokio::test]
async fn upstream_errors_are_transient_after_one_short_retry_for_reads() {
    for code in [409u16, 500, 502, 503, 504] {
        let h = Harness::new().await;
        h.emulator().inject(
            Route::GetConversation,
            status(code, "service.unavailable", None),
            2,
        );
        let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
        assert_eq!(t.kind, TransientKind::Upstream, "{code}");
        assert_eq!(
            h.count(Route::GetConversation),
            2,
            "one in-place retry for {code}"
        );
        assert!(h.clock.slept().iter().all(|d| *d < Duration::from_secs(1)));

        let h = Harness::new().await;
        h.emulator().inject(
            Route::GetConversation,
            status(code, "service.unavailable", None),
            1,
        );
        assert_eq!(
            h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
            "applied",
            "{code}"
        );
    }
}

#[tokio::test]
async fn a_failed_write_is_not_retried_in_place_but_re_read_first() {
    let h = Harness::new().await;
    h.emulator()
        .inject(Route::PostWrapup, FaultKind::ApplyThenStatus(504), 1);
    let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(t.kind, TransientKind::Upstream);
    assert!(t.message.contains("re-reads"), "{}", t.message);
    assert_eq!(h.count(Route::PostWrapup), 1);
    // The platform's retry reads the conversation, sees the code and does not write again.
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "already_applied"
    );
    assert_eq!(h.emulator().writes().len(), 1);

    let h = Harness::new().await;
    h.emulator()
        .inject(Route::PostWrapup, FaultKind::ApplyThenReset, 1);
    transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "already_applied"
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn a_short_retry_after_is_honoured_once_in_place() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::PostWrapup,
        status(429, "too.many.requests.retry.after", Some(3)),
        1,
    );
    let out = h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(out["status"], "applied");
    assert_eq!(h.clock.slept(), vec![Duration::from_secs(3)]);
    assert_eq!(h.count(Route::PostWrapup), 2);
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn a_long_retry_after_is_handed_back_at_once() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::GetConversation,
        status(429, "too.many.requests.retry.after", Some(60)),
        1,
    );
    let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(t.kind, TransientKind::RateLimited);
    assert_eq!(t.retry_after, Some(Duration::from_secs(60)));
    assert!(h.clock.slept().is_empty());
    assert_eq!(h.count(Route::GetConversation), 1);

    let h = Harness::new().await;
    h.emulator().inject(
        Route::GetConversation,
        status(429, "too.many.requests.retry.after", Some(2)),
        2,
    );
    let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(t.kind, TransientKind::RateLimited);
    assert_eq!(
        h.clock.slept(),
        vec![Duration::from_secs(2)],
        "at most one wait per call"
    );
}

#[tokio::test]
async fn a_revoked_token_is_renewed_and_the_call_retried_once() {
    let h = Harness::new().await;
    h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    h.emulator().revoke_tokens();
    let out = h
        .invoke(apply_request(CONV_EMAIL, CODE_SALE))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied");
    assert_eq!(h.count(Route::Token), 2);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let h = Harness::new().await;
    h.emulator().set_token_lifetime(3_600);
    h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    h.clock.advance(Duration::from_secs(3_600 - 61));
    h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(h.count(Route::Token), 1);
    h.clock.advance(Duration::from_secs(2));
    h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(h.count(Route::Token), 2);
}

#[tokio::test]
async fn a_rotated_client_secret_is_re_read_after_invalid_client() {
    let h = Harness::new().await;
    h.emulator().set_client_secret("rotated-secret");
    let secret_id = GENESYS_SECRET_ID.to_owned();
    h.sandbox.secrets.put(
        &secret_id,
        json!({"clientId": CLIENT_ID, "clientSecret": "stale-secret", "environment": "sandbox.invalid"}).to_string(),
    );
    // The cache holds the stale secret; Secrets Manager already has the new one.
    let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(t.kind, TransientKind::Credentials);
    assert_eq!(
        h.count(Route::Token),
        2,
        "retried once after re-reading the secret"
    );
    h.sandbox.secrets.put(
        &secret_id,
        json!({"clientId": CLIENT_ID, "clientSecret": "rotated-secret", "environment": "sandbox.invalid"}).to_string(),
    );
    let reads = h.sandbox.secrets.reads();
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "applied"
    );
    assert!(h.sandbox.secrets.reads() > reads);
}

#[tokio::test]
async fn every_token_endpoint_failure_is_transient() {
    for fault in [
        status(400, "invalid_request", Some(1)),
        status(500, "server_error", None),
        status(503, "temporarily_unavailable", None),
        FaultKind::Malformed,
        FaultKind::Reset,
    ] {
        let h = Harness::new().await;
        h.emulator().inject(Route::Token, fault.clone(), 10);
        let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
        assert_eq!(t.kind, TransientKind::Credentials, "{fault:?}");
        assert_eq!(h.api_calls(), 0);
    }
}

#[tokio::test]
async fn a_missing_or_unreadable_secret_is_transient() {
    let h = Harness::new().await;
    let id = GENESYS_SECRET_ID.to_owned();
    h.sandbox.secrets.remove(&id);
    assert_eq!(
        transient(&h, apply_request(CONV_CALL, CODE_SALE))
            .await
            .kind,
        TransientKind::Credentials
    );
    h.sandbox.secrets.put(&id, "{not json");
    assert_eq!(
        transient(&h, apply_request(CONV_CALL, CODE_SALE))
            .await
            .kind,
        TransientKind::Credentials
    );
    assert_eq!(h.api_calls() + h.count(Route::Token), 0);
}

#[tokio::test]
async fn malformed_and_reset_responses_are_transient() {
    for fault in [FaultKind::Malformed, FaultKind::Reset] {
        let h = Harness::new().await;
        h.emulator().inject(Route::GetWrapupCode, fault.clone(), 2);
        assert_eq!(
            transient(&h, apply_request(CONV_CALL, CODE_SALE))
                .await
                .kind,
            TransientKind::Upstream,
            "{fault:?}"
        );
        assert!(h.emulator().writes().is_empty());
    }
}

#[tokio::test]
async fn a_genesys_that_never_answers_ends_the_invocation_with_an_error() {
    let h = Harness::with_env(&[("GENESYS_CALL_TIMEOUT_SECONDS", "1")]).await;
    h.emulator()
        .inject(Route::GetConversation, FaultKind::Hang, 5);
    let started = std::time::Instant::now();
    let t = transient(&h, apply_request(CONV_CALL, CODE_SALE)).await;
    assert_eq!(t.kind, TransientKind::Upstream);
    assert!(t.message.contains("timed out"), "{}", t.message);
    assert_eq!(
        h.count(Route::GetConversation),
        1,
        "a timeout is not retried in place"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_lambda_on_failure_record_invoked_directly_is_the_event_it_failed_on() {
    let h = Harness::new().await;
    let record = json!({
        "version": "1.0", "timestamp": "2026-11-25T09:00:00.000Z",
        "requestContext": {"requestId": "r", "functionArn": "arn:aws:lambda:eu-west-1:1:function:wrapup:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": eventbridge(apply_request(CONV_CALL, CODE_SALE)),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Transient.not_ended", "errorMessage": "not yet"}
    });
    let out = h.invoke(record).await.unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(h.emulator().writes().len(), 1);
}
