//! What a real Genesys org does that simpler emulators hide: wrap-ups are taken in the agent's
//! after-call work while the conversation may go on, supervisors join calls, CRMs know codes
//! by name, agents choose their own codes, and the token endpoint throttles with a 400. The
//! emulator's worlds follow `shared/docs/genesys-cloud-facts.md`.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::TransientKind;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn an_agent_in_after_call_work_is_wrapped_up_while_the_customer_is_still_connected() {
    let h = Harness::new().await;
    let out = h
        .invoke(apply_request(CONV_SURVEY, CODE_SALE))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(out["participantId"], participant(10, 2));
}

#[tokio::test]
async fn a_connected_agent_is_retried_naming_the_leg() {
    let h = Harness::new().await;
    let t = h
        .invoke(apply_request(CONV_ACTIVE, CODE_SALE))
        .await
        .unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
    assert!(
        t.message.contains(&participant(4, 2)) && t.message.contains(&communication(4, 2)),
        "{}",
        t.message
    );
    assert!(h.emulator().writes().is_empty());
}

#[tokio::test]
async fn after_a_transfer_the_code_waits_for_the_second_agent_and_goes_to_them() {
    let h = Harness::new().await;
    let t = h
        .invoke(apply_request(CONV_TRANSFER_LIVE, CODE_SALE))
        .await
        .unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
    assert!(t.message.contains(&participant(11, 3)), "{}", t.message);
    assert!(h.emulator().writes().is_empty(), "never the first agent");
    // Naming the first agent, whose part has ended, is fine.
    let mut first = apply_request(CONV_TRANSFER_LIVE, CODE_CALLBACK);
    first["participantId"] = json!(participant(11, 2));
    assert_eq!(h.invoke(first).await.unwrap()["status"], "applied");
    // The second agent goes into after-call work: the code goes to them.
    h.emulator().update_conversation(CONV_TRANSFER_LIVE, |c| {
        let call = &mut c["participants"][2]["calls"][0];
        call["state"] = json!("disconnected");
        call["disconnectedTime"] = json!("2026-11-25T09:20:00.000Z");
        call["afterCallWork"] = json!({"state": "pending"});
    });
    let out = h
        .invoke(apply_request(CONV_TRANSFER_LIVE, CODE_SALE))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["participantId"].as_str()),
        (Some("applied"), Some(participant(11, 3).as_str()))
    );
}

#[tokio::test]
async fn a_monitor_who_joined_later_never_takes_the_code_and_naming_one_is_refused() {
    let h = Harness::new().await;
    let out = h
        .invoke(apply_request(CONV_MONITORED, CODE_SALE))
        .await
        .unwrap();
    assert_eq!(out["participantId"], participant(12, 2), "{out}");
    let mut supervisor = apply_request(CONV_MONITORED, CODE_SALE);
    supervisor["participantId"] = json!(participant(12, 3));
    let out = h.invoke(supervisor).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("rejected"), Some("no_agent_participant"))
    );
    assert!(
        out["message"].as_str().unwrap().contains("monitors"),
        "{out}"
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn a_code_by_name_resolves_in_the_conversation_s_division_and_costs_nothing_at_steady_state()
{
    let h = Harness::new().await;
    let out = h
        .invoke(by_name(CONV_CALL, "  sale COMPLETED "))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(
        (out["wrapUpCodeId"].as_str(), out["wrapUpCodeName"].as_str()),
        (Some(CODE_SALE), Some("Sale completed"))
    );
    assert_eq!(h.count(Route::ListWrapupCodes), 1);
    assert_eq!(h.count(Route::GetWrapupCode), 0);
    // In-division beats all-divisions.
    h.emulator().clear_log();
    let out = h.invoke(by_name(CONV_EMAIL, "follow-up")).await.unwrap();
    assert_eq!(out["wrapUpCodeId"], CODE_FOLLOW_UP_SALES);
    assert_eq!(
        (
            h.count(Route::GetConversation),
            h.count(Route::PostWrapup),
            h.api_calls()
        ),
        (1, 1, 2),
        "steady state: the read and the write only"
    );
}

#[tokio::test]
async fn a_tie_between_codes_of_one_name_is_broken_by_the_participant_s_codes_or_refused() {
    let h = Harness::new().await;
    let out = h.invoke(by_name(CONV_CALL, "Escalated")).await.unwrap();
    assert_eq!(out["wrapUpCodeId"], CODE_ESCALATED, "{out}");
    assert_eq!(h.count(Route::ParticipantWrapupCodes), 1);
    // A participant whose queue offers neither: refused, naming both.
    h.emulator().update_conversation(CONV_EMAIL, |c| {
        c["participants"][1]["queueId"] = Value::Null;
    });
    let out = h.invoke(by_name(CONV_EMAIL, "Escalated")).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("rejected"), Some("wrapup_code_ambiguous"))
    );
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains(CODE_ESCALATED) && message.contains(CODE_ESCALATED_TWIN),
        "{message}"
    );
    // Codes of that name only in other divisions.
    let out = h
        .invoke(by_name(CONV_CALL, "Support escalation"))
        .await
        .unwrap();
    assert_eq!(out["reason"], "division_mismatch");
}

#[tokio::test]
async fn an_unknown_name_rereads_the_codes_at_most_once_a_minute() {
    let h = Harness::new().await;
    for _ in 0..5 {
        let out = h
            .invoke(by_name(CONV_CALL, "Sael completed"))
            .await
            .unwrap();
        assert_eq!(out["reason"], "wrapup_code_not_found");
        h.clock.advance(Duration::from_secs(10));
    }
    assert_eq!(
        h.count(Route::ListWrapupCodes),
        1,
        "a typo storm reads the codes once"
    );
    assert!(h.emulator().writes().is_empty());
    h.clock.advance(Duration::from_secs(20));
    // The code is created; a minute after the last read, the next miss reads again.
    h.emulator().put_wrapup_code(json!({
        "id": "c0de0000-0000-4000-8000-000000000099", "name": "Sael completed",
        "division": {"id": DIVISION_SALES, "name": "Sales"}
    }));
    let out = h
        .invoke(by_name(CONV_CALL, "Sael completed"))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(h.count(Route::ListWrapupCodes), 2);
}

#[tokio::test]
async fn every_page_of_codes_is_read() {
    let h = Harness::new().await;
    for i in 0..250u32 {
        h.emulator().put_wrapup_code(json!({
            "id": format!("c0de1000-0000-4000-8000-{i:012}"), "name": format!("Bulk {i:03}"),
            "division": {"id": "*", "name": "*"}
        }));
    }
    h.emulator().put_wrapup_code(json!({
        "id": "c0de2000-0000-4000-8000-000000000001", "name": "Zulu last",
        "division": {"id": "*", "name": "*"}
    }));
    let out = h.invoke(by_name(CONV_CALL, "zulu last")).await.unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(
        h.count(Route::ListWrapupCodes),
        3,
        "259 codes in pages of 100"
    );
}

#[tokio::test]
async fn a_code_genesys_refuses_is_read_again_at_most_once_a_minute() {
    let h = Harness::new().await;
    h.invoke(by_name(CONV_CALL, "Sale completed"))
        .await
        .unwrap();
    let refused = FaultKind::Status {
        status: 400,
        code: "bad.request".into(),
        message: "Invalid wrap-up code".into(),
        retry_after: None,
    };
    h.emulator().inject(Route::PostWrapup, refused, 3);
    h.emulator().clear_log();
    // A burst of refusals (after-call work over, say) costs no listing at all...
    for conversation in [CONV_EMAIL, CONV_MESSAGE, CONV_SURVEY] {
        let out = h
            .invoke(by_name(conversation, "Sale completed"))
            .await
            .unwrap();
        assert_eq!(out["reason"], "genesys_rejected");
    }
    assert_eq!(h.count(Route::ListWrapupCodes), 0);
    // ...and a minute after the last listing, the next request reads the codes again, once.
    h.clock.advance(Duration::from_secs(61));
    for conversation in [CONV_TRANSFER, CONV_DIRECT] {
        h.invoke(by_name(conversation, "Call back later"))
            .await
            .unwrap();
    }
    assert_eq!(
        h.count(Route::ListWrapupCodes),
        1,
        "read again after the refusals"
    );
}

#[tokio::test]
async fn overwrite_never_and_system_keep_the_agent_s_code() {
    let h = Harness::new().await;
    let with = |conversation: &str, code: &str, overwrite: &str| {
        let mut r = apply_request(conversation, code);
        r["overwrite"] = json!(overwrite);
        r
    };
    // CONV_WRAPPED carries the agent's CODE_SALE, after-call work complete.
    let out = h
        .invoke(with(CONV_WRAPPED, CODE_CALLBACK, "never"))
        .await
        .unwrap();
    assert_eq!(
        (
            out["status"].as_str(),
            out["reason"].as_str(),
            out["currentWrapUpCode"].as_str()
        ),
        (Some("skipped"), Some("code_present"), Some(CODE_SALE))
    );
    let out = h
        .invoke(with(CONV_WRAPPED, CODE_CALLBACK, "system"))
        .await
        .unwrap();
    assert_eq!(out["reason"], "code_present");
    // The same code is already_applied first, whatever overwrite says.
    let out = h
        .invoke(with(CONV_WRAPPED, CODE_SALE, "never"))
        .await
        .unwrap();
    assert_eq!(out["status"], "already_applied");
    assert!(h.emulator().writes().is_empty());
    // A system code is replaced by `system`, and the agent's notes and tags are kept.
    h.emulator().update_conversation(CONV_WRAPPED, |c| {
        c["participants"][1]["calls"][0]["wrapup"] = json!({
            "code": "ININ-WRAP-UP-TIMEOUT", "name": "Timeout", "notes": "customer asked for a callback", "tags": ["vip"]
        });
    });
    let out = h
        .invoke(with(CONV_WRAPPED, CODE_CALLBACK, "system"))
        .await
        .unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(out["currentWrapUpCode"], "ININ-WRAP-UP-TIMEOUT");
    assert_eq!(
        h.emulator().writes()[0].body,
        json!({"code": CODE_CALLBACK, "notes": "customer asked for a callback", "tags": ["vip"]})
    );
    // `always` replaces the agent's code; the request's own notes win.
    let mut always = with(CONV_WRAPPED, CODE_SALE, "always");
    always["notes"] = json!("from the CRM");
    assert_eq!(h.invoke(always).await.unwrap()["status"], "applied");
    assert_eq!(
        h.emulator().writes()[1].body,
        json!({"code": CODE_SALE, "notes": "from the CRM", "tags": ["vip"]})
    );
}

#[tokio::test]
async fn overwrite_never_waits_while_the_agent_is_still_in_after_call_work() {
    let h = Harness::new().await;
    let mut request = apply_request(CONV_CALL, CODE_CALLBACK);
    request["overwrite"] = json!("never");
    let t = h.invoke(request.clone()).await.unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
    assert!(t.message.contains("after-call work"), "{}", t.message);
    assert!(t.retry_after.is_some());
    h.emulator().update_conversation(CONV_CALL, |c| {
        c["participants"][1]["calls"][0]["afterCallWork"]["state"] = json!("complete");
    });
    assert_eq!(
        h.invoke(request).await.unwrap()["status"],
        "applied",
        "the agent set none"
    );
}

#[tokio::test]
async fn the_token_endpoint_s_throttling_is_rate_limited_with_a_wait() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::Token,
        FaultKind::Status {
            status: 400,
            code: "invalid_request".into(),
            message: "rate limit exceeded; retry after 42 seconds".into(),
            retry_after: None,
        },
        1,
    );
    let t = h
        .invoke(apply_request(CONV_CALL, CODE_SALE))
        .await
        .unwrap_err();
    assert_eq!(t.kind, TransientKind::RateLimited);
    assert_eq!(t.retry_after, Some(Duration::from_secs(42)));
    assert_eq!(
        h.count(Route::Token),
        1,
        "not mistaken for rotated credentials"
    );
    // The emulator's own throttling, as Genesys words it.
    let h = Harness::new().await;
    h.emulator().set_token_rate_limit(Some(1));
    h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    h.emulator().revoke_tokens();
    let t = h
        .invoke(apply_request(CONV_EMAIL, CODE_SALE))
        .await
        .unwrap_err();
    assert_eq!(t.kind, TransientKind::RateLimited);
    assert!(t.retry_after.is_some());
    // A webhook caller is told to wait.
    let (status, body, retry_after) = http_parts(
        &h.invoke(h.webhook(&apply_request(CONV_EMAIL, CODE_SALE).to_string()))
            .await
            .unwrap(),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(retry_after.is_some_and(|s| s >= 1));
}

#[tokio::test]
async fn a_400_invalid_client_is_re_read_like_a_401() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::Token,
        FaultKind::Status {
            status: 400,
            code: "invalid_client".into(),
            message: "authentication failed".into(),
            retry_after: None,
        },
        1,
    );
    let reads = h.sandbox.secrets.reads();
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "applied"
    );
    assert_eq!(h.count(Route::Token), 2);
    assert!(h.sandbox.secrets.reads() > reads);
}

#[tokio::test]
async fn a_429_that_names_no_wait_backs_off_on_its_own() {
    let h = Harness::new().await;
    let too_many = FaultKind::Status {
        status: 429,
        code: "too.many.requests".into(),
        message: "Rate limit exceeded".into(),
        retry_after: None,
    };
    h.emulator()
        .inject(Route::GetConversation, too_many.clone(), 1);
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "applied"
    );
    assert_eq!(
        h.clock.slept(),
        vec![Duration::from_secs(1)],
        "one short wait in place"
    );
    let h = Harness::new().await;
    h.emulator().inject(Route::GetConversation, too_many, 2);
    let t = h
        .invoke(apply_request(CONV_CALL, CODE_SALE))
        .await
        .unwrap_err();
    assert_eq!(t.kind, TransientKind::RateLimited);
    assert_eq!(
        t.retry_after,
        Some(Duration::from_secs(30)),
        "a wait of our own"
    );
}

#[tokio::test]
async fn an_sqs_event_with_no_records_answers_an_empty_failure_list() {
    let h = Harness::new().await;
    let out = h.invoke(json!({"Records": []})).await.unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn every_outcome_carries_the_code_the_agent_had() {
    let h = Harness::new().await;
    let out = h
        .invoke(apply_request(CONV_WRAPPED, CODE_CALLBACK))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["currentWrapUpCode"].as_str()),
        (Some("applied"), Some(CODE_SALE))
    );
    let out = h
        .invoke(apply_request(CONV_CALL, CODE_SUPPORT))
        .await
        .unwrap();
    assert_eq!(out["reason"], "division_mismatch");
    assert!(out.get("currentWrapUpCode").is_none(), "none set: {out}");
}
