//! Exactly once against a Genesys whose reads lag behind its writes (the emulator's read lag),
//! with the lease table on moto's DynamoDB: a redelivery is answered from what the first
//! delivery decided with no Genesys call; a late redelivery or an older request never puts its
//! code back over a newer one; a new request is decided on what Genesys shows now; what this
//! function wrote counts while reads lag; a write with an unknown result holds the conversation
//! until it can no longer land; contention is counted apart from failures.

use crate::common::moto::{create_lock_table, dynamodb_proxy, moto, Moto};
use crate::common::{apply_request, eventbridge, failures, http_parts, sqs_batch, Harness};
use aws_sdk_dynamodb::types::AttributeValue;
use genesys_wrapup::sandbox::demo::{CODE_CALLBACK, CODE_SALE, CONV_ACW_DONE, CONV_CALL};
use genesys_wrapup::sandbox::dynamodb_client;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::{Clock, TransientKind};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long the emulator's reads lag behind its writes in these tests.
const LAG: Duration = Duration::from_secs(10);

/// A deployment with the lease table on moto, and a Genesys whose reads lag.
async fn lagging(moto: &Moto, extra: &[(&str, &str)]) -> (Harness, String) {
    let table = create_lock_table(&moto.endpoint, true).await;
    let h = with_table(&moto.endpoint, &table, extra).await;
    (h, table)
}

async fn with_table(endpoint: &str, table: &str, extra: &[(&str, &str)]) -> Harness {
    let mut env = vec![
        ("WRAPUP_LOCK_TABLE", table),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
    ];
    env.extend_from_slice(extra);
    let h = Harness::with_env(&env).await;
    let clock: Arc<dyn Clock> = h.clock.clone();
    h.emulator().set_read_lag(Some((LAG, clock)));
    h
}

fn writes_to(h: &Harness, conversation: &str) -> Vec<String> {
    h.emulator()
        .writes()
        .into_iter()
        .filter(|w| w.conversation_id == conversation)
        .filter_map(|w| w.body["code"].as_str().map(str::to_owned))
        .collect()
}

/// A custom EventBridge event with this id and time.
fn event(id: &str, time: &str, detail: Value) -> Value {
    let mut event = eventbridge(detail);
    event["id"] = json!(id);
    event["time"] = json!(time);
    event
}

#[tokio::test]
async fn a_redelivery_while_reads_lag_is_answered_from_memory_with_no_genesys_call() {
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    let x = event(
        "e0000000-0000-4000-8000-00000000000a",
        "2026-11-25T09:08:00Z",
        apply_request(CONV_CALL, CODE_SALE),
    );
    let first = h.invoke(x.clone()).await.unwrap();
    assert_eq!(first["status"], "applied", "{first}");
    let calls = h.api_calls();
    // A second later the read still shows no code; the redelivery must not write again.
    h.clock.advance(Duration::from_secs(1));
    let again = h.invoke(x.clone()).await.unwrap();
    assert_eq!(again["status"], "already_applied", "{again}");
    assert_eq!(again["remembered"], true);
    assert_eq!(again["wrapUpCodeId"], CODE_SALE);
    assert_eq!(again["currentWrapUpCode"], CODE_SALE);
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("Genesys was not called"),
        "{again}"
    );
    assert_eq!(
        h.api_calls(),
        calls,
        "a remembered redelivery calls Genesys not at all"
    );
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
}

#[tokio::test]
async fn without_memory_a_redelivery_during_the_lag_writes_again() {
    // What remembering is for: the same lagging Genesys, the lease alone (no table: at least
    // once) writes the redelivery a second time.
    let h = Harness::new().await;
    let clock: Arc<dyn Clock> = h.clock.clone();
    h.emulator().set_read_lag(Some((LAG, clock)));
    let x = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    assert_eq!(h.invoke(x.clone()).await.unwrap()["status"], "applied");
    assert_eq!(h.invoke(x).await.unwrap()["status"], "applied");
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE, CODE_SALE]);
}

#[tokio::test]
async fn a_late_redelivery_of_an_older_request_leaves_the_newer_code() {
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    let x = event(
        "e0000000-0000-4000-8000-00000000000a",
        "2026-11-25T09:08:00Z",
        apply_request(CONV_CALL, CODE_SALE),
    );
    let y = event(
        "e0000000-0000-4000-8000-00000000000b",
        "2026-11-25T09:08:30Z",
        apply_request(CONV_CALL, CODE_CALLBACK),
    );
    assert_eq!(h.invoke(x.clone()).await.unwrap()["status"], "applied");
    h.clock.advance(Duration::from_secs(2));
    let newer = h.invoke(y).await.unwrap();
    assert_eq!(newer["status"], "applied", "{newer}");
    // The read lagged behind X's write; Y replaced X's code knowing it was there.
    assert_eq!(newer["currentWrapUpCode"], CODE_SALE);
    // X comes back late (an SQS batch after a timeout, EventBridge's retry): it is remembered.
    h.clock.advance(Duration::from_secs(2));
    let late = h.invoke(x).await.unwrap();
    assert_eq!(late["status"], "already_applied", "{late}");
    assert_eq!(late["remembered"], true);
    // An older request that was never applied (it waited, then retried) does not replace it
    // either, reads lagging or not.
    let older = event(
        "e0000000-0000-4000-8000-00000000000c",
        "2026-11-25T09:08:10Z",
        apply_request(CONV_CALL, CODE_SALE),
    );
    for _ in 0..2 {
        let skipped = h.invoke(older.clone()).await.unwrap();
        assert_eq!(skipped["status"], "skipped", "{skipped}");
        assert_eq!(skipped["reason"], "code_present");
        assert!(
            skipped["message"]
                .as_str()
                .unwrap()
                .contains("newer request"),
            "{skipped}"
        );
        h.clock.advance(LAG * 2);
    }
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE, CODE_CALLBACK]);
    let now = h.emulator().conversation(CONV_CALL).unwrap();
    assert_eq!(now["participants"][1]["wrapup"]["code"], CODE_CALLBACK);
}

#[tokio::test]
async fn a_new_request_for_the_same_code_is_decided_on_what_genesys_shows_now() {
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    let a = apply_request(CONV_CALL, CODE_SALE);
    let x = event(
        "e0000000-0000-4000-8000-00000000000a",
        "2026-11-25T09:08:00Z",
        a.clone(),
    );
    let y = event(
        "e0000000-0000-4000-8000-00000000000b",
        "2026-11-25T09:08:30Z",
        apply_request(CONV_CALL, CODE_CALLBACK),
    );
    // A new event (a new id) asking for A again, after B.
    let z = event(
        "e0000000-0000-4000-8000-00000000000d",
        "2026-11-25T09:09:00Z",
        a,
    );
    assert_eq!(h.invoke(x).await.unwrap()["status"], "applied");
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.invoke(y).await.unwrap()["status"], "applied");
    h.clock.advance(Duration::from_secs(1));
    let again = h.invoke(z).await.unwrap();
    assert_eq!(again["status"], "applied", "{again}");
    assert_eq!(again["currentWrapUpCode"], CODE_CALLBACK);
    assert!(again.get("remembered").is_none());
    assert_eq!(
        writes_to(&h, CONV_CALL),
        [CODE_SALE, CODE_CALLBACK, CODE_SALE]
    );
}

#[tokio::test]
async fn the_rule_after_a_crm_write_keeps_the_crms_code_while_reads_lag() {
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    // The CRM asks for "Call back later" (a direct invoke: made now).
    let crm = h
        .invoke(apply_request(CONV_ACW_DONE, CODE_CALLBACK))
        .await
        .unwrap();
    assert_eq!(crm["status"], "applied", "{crm}");
    // A second later, the agent's `acw` event (no code chosen) reaches the rule that fills a
    // missing code (`overwrite: never`); Genesys's read still shows no code.
    h.clock.advance(Duration::from_secs(1));
    let mut acw: Value =
        serde_json::from_str(&std::fs::read_to_string("events/genesys-acw.json").unwrap()).unwrap();
    acw["detail"]["eventBody"]["eventTime"] = json!(h.now() * 1_000);
    let read = h.emulator().count(Route::GetConversation);
    let rule = h.invoke(acw).await.unwrap();
    assert_eq!(
        h.emulator().count(Route::GetConversation),
        read + 1,
        "it read"
    );
    assert_eq!(rule["status"], "skipped", "{rule}");
    assert_eq!(rule["reason"], "code_present");
    assert_eq!(rule["currentWrapUpCode"], CODE_CALLBACK);
    assert_eq!(writes_to(&h, CONV_ACW_DONE), [CODE_CALLBACK]);
}

#[tokio::test]
async fn a_change_made_since_our_write_stands() {
    // "Not yet" is a read showing the code from before our write (or none); any other code is
    // a change made since, and is what the next request decides on.
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    h.emulator().set_read_lag(None);
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "applied"
    );
    // The agent picks another code at once (the emulator's own write, not the function's).
    h.emulator().update_conversation(CONV_CALL, |c| {
        c["participants"][1]["calls"][0]["wrapup"] =
            json!({"code": CODE_CALLBACK, "name": "Call back later", "provisional": false});
        c["participants"][1]["wrapup"] = c["participants"][1]["calls"][0]["wrapup"].clone();
    });
    let keep =
        json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": CODE_SALE}, "overwrite": "never"});
    let out = h.invoke(keep).await.unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    assert_eq!(out["currentWrapUpCode"], CODE_CALLBACK);
}

#[tokio::test]
async fn dry_run_outcomes_are_remembered_apart_from_real_ones() {
    let moto = moto().await;
    let table = create_lock_table(&moto.endpoint, true).await;
    let dry = with_table(&moto.endpoint, &table, &[("WRAPUP_DRY_RUN", "true")]).await;
    let x = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    assert_eq!(
        dry.invoke(x.clone()).await.unwrap()["status"],
        "would_apply"
    );
    let calls = dry.api_calls();
    let again = dry.invoke(x.clone()).await.unwrap();
    assert_eq!(again["status"], "would_apply", "{again}");
    assert_eq!(again["remembered"], true);
    assert_eq!(dry.api_calls(), calls);
    // Dry run switched off: the same request is new to the real run.
    let real = dry
        .sandbox
        .app(
            &[
                ("WRAPUP_LOCK_TABLE", &table),
                ("AWS_ENDPOINT_URL_DYNAMODB", &moto.endpoint),
            ],
            dry.clock.clone(),
        )
        .await
        .unwrap();
    let out = genesys_wrapup::handle(&real, &x, &dry.invocation())
        .await
        .unwrap();
    let out = serde_json::to_value(out).unwrap();
    assert_eq!(out["status"], "applied", "{out}");
}

#[tokio::test]
async fn rejections_are_not_remembered() {
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    let missing = json!({"conversationId": CONV_CALL, "wrapUpCode": {"name": "No such code"}});
    let x = eventbridge(missing);
    assert_eq!(h.invoke(x.clone()).await.unwrap()["status"], "rejected");
    let calls = h.api_calls();
    let again = h.invoke(x).await.unwrap();
    assert_eq!(again["status"], "rejected");
    assert!(again.get("remembered").is_none());
    assert!(h.api_calls() > calls, "decided afresh");
}

#[tokio::test]
async fn a_webhook_idempotency_key_names_the_request() {
    let moto = moto().await;
    let (h, _) = lagging(&moto, &[]).await;
    let body = apply_request(CONV_CALL, CODE_SALE).to_string();
    let keyed = |key: &str| {
        let mut event = h.webhook(&body);
        event["headers"]["idempotency-key"] = json!(key);
        event
    };
    let (status, first, _) = http_parts(&h.invoke(keyed("order-42")).await.unwrap());
    assert_eq!((status, first["status"].as_str()), (200, Some("applied")));
    let (_, again, _) = http_parts(&h.invoke(keyed("order-42")).await.unwrap());
    assert_eq!(again["remembered"], true, "{again}");
    // Another key is another request: decided on what Genesys shows (it reads).
    let calls = h.api_calls();
    let (_, other, _) = http_parts(&h.invoke(keyed("order-43")).await.unwrap());
    assert!(other.get("remembered").is_none(), "{other}");
    assert!(h.api_calls() > calls);
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
}

/// The expiry of the conversation's lease item, if there is one.
async fn lease_expiry(endpoint: &str, table: &str, conversation: &str) -> Option<i64> {
    let item = dynamodb_client(Some(endpoint))
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(conversation.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item?;
    match item.get("expiresAt") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

#[tokio::test]
async fn an_unknown_write_holds_the_conversation_until_it_can_no_longer_land() {
    let moto = moto().await;
    let (h, table) = lagging(&moto, &[]).await;
    h.emulator()
        .inject(Route::PostWrapup, FaultKind::ApplyThenReset, 1);
    let x = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    let sent = h.now();
    let unknown = h.invoke(x.clone()).await.unwrap_err();
    assert_eq!(unknown.kind, TransientKind::Upstream, "{unknown}");
    // Held past the invocation's 30 s deadline: at least a minute after the POST was sent.
    let until = lease_expiry(&moto.endpoint, &table, CONV_CALL)
        .await
        .unwrap();
    assert!(until >= sent + 60, "held until {until}, sent at {sent}");
    h.clock.advance(Duration::from_secs(31));
    let waiting = h.invoke(x.clone()).await.unwrap_err();
    assert_eq!(waiting.kind, TransientKind::InProgress, "{waiting}");
    assert!(waiting.message.contains("unknown"), "{waiting}");
    let left = waiting.retry_after.unwrap().as_secs();
    assert!(
        (25..=30).contains(&left),
        "told to come back when the hold ends: {left}"
    );
    // After the hold, the next delivery re-reads (the request was not remembered as applied).
    h.clock.advance(Duration::from_secs(31));
    let reads = h.emulator().count(Route::GetConversation);
    let settled = h.invoke(x).await.unwrap();
    assert_eq!(settled["status"], "already_applied", "{settled}");
    assert!(settled.get("remembered").is_none());
    assert_eq!(h.emulator().count(Route::GetConversation), reads + 1);
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
}

#[tokio::test]
async fn contention_is_in_progress_not_a_transient_failure() {
    let moto = moto().await;
    let table = create_lock_table(&moto.endpoint, true).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Another instance's lease on the sample's conversation, for a minute.
    dynamodb_client(Some(&moto.endpoint))
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(CONV_CALL.to_owned()))
        .item("expiresAt", AttributeValue::N((now + 60).to_string()))
        .item("token", AttributeValue::S("other".into()))
        .item("holder", AttributeValue::S("other-request".into()))
        .send()
        .await
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-wrapup"))
        .args(["invoke", "--sandbox", "events/eventbridge-custom.json"])
        .env_clear()
        .envs(crate::common::AWS_TEST_ENV)
        .env("WRAPUP_LOCK_TABLE", &table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &moto.endpoint)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "retried: {stderr}");
    let main = stderr
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|doc| doc.get("InProgress").is_some())
        .unwrap_or_else(|| panic!("no EMF line: {stderr}"));
    assert_eq!(main["InProgress"], 1.0, "{main}");
    assert_eq!(main["TransientFailures"], 0.0, "{main}");
}

#[tokio::test]
async fn a_later_message_of_a_conversation_is_held_back_behind_a_failed_one() {
    let h = Harness::new().await;
    h.emulator().inject(
        Route::GetConversation,
        FaultKind::Status {
            status: 503,
            code: "service.unavailable".into(),
            message: "injected".into(),
            retry_after: None,
        },
        2,
    );
    let first = json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": CODE_SALE}}).to_string();
    let later =
        json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": CODE_CALLBACK}}).to_string();
    let response = h
        .invoke(sqs_batch(&[("m1", first, 1), ("m2", later, 1)]))
        .await
        .unwrap();
    assert_eq!(failures(&response), ["m1", "m2"]);
    assert!(
        h.emulator().writes().is_empty(),
        "the later one was not applied first"
    );
    let visibility = h.sandbox.queues.visibility();
    let wait = |id: &str| {
        visibility
            .iter()
            .find(|(receipt, _)| receipt.contains(id))
            .map(|(_, seconds)| *seconds)
            .unwrap()
    };
    assert!(wait("m2") > wait("m1"), "{visibility:?}");
}

#[tokio::test]
async fn an_applied_request_costs_two_dynamodb_calls_and_a_remembered_duplicate_one() {
    let moto = moto().await;
    let table = create_lock_table(&moto.endpoint, true).await;
    let (proxy, calls) = dynamodb_proxy(&moto.endpoint, None).await;
    let h = with_table(&format!("http://{}", proxy.addr), &table, &[]).await;
    let x = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    assert_eq!(h.invoke(x.clone()).await.unwrap()["status"], "applied");
    assert_eq!(calls.swap(0, Ordering::SeqCst), 2, "take + finish");
    let genesys = h.api_calls();
    assert_eq!(h.invoke(x).await.unwrap()["remembered"], true);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one call answers a remembered duplicate"
    );
    assert_eq!(h.api_calls(), genesys);
}
