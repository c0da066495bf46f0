//! One instance at a time per conversation (`WRAPUP_LOCK_TABLE`), against moto's DynamoDB: two
//! deliveries racing write once, two different requests are decided one after the other, a
//! crashed holder's lease expires, DynamoDB trouble is retried with nothing written, and a lease
//! is only ever given back by its holder.

use crate::common::moto::{create_lock_table, dynamodb_proxy, moto};
use crate::common::{apply_request, eventbridge, failures, http_parts, sqs_batch, Harness};
use aws_sdk_dynamodb::types::AttributeValue;
use genesys_wrapup::lease::{Leases, Released};
use genesys_wrapup::sandbox::demo::{CODE_CALLBACK, CODE_SALE, CONV_ACW_DONE, CONV_CALL};
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::sandbox::{dynamodb_client, serve_loopback, LoopbackServer};
use genesys_wrapup::{App, Deadline, Invocation, Transient, TransientKind};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

async fn table(endpoint: &str) -> String {
    create_lock_table(endpoint, true).await
}

/// A deployment with the lease table on `endpoint`.
async fn harness(endpoint: &str, table: &str, extra: &[(&str, &str)]) -> Harness {
    let mut env = vec![
        ("WRAPUP_LOCK_TABLE", table),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
    ];
    env.extend_from_slice(extra);
    Harness::with_env(&env).await
}

/// A second instance of the same deployment: its own caches and clients, the same Genesys,
/// secrets, table and clock.
async fn second_instance(h: &Harness, endpoint: &str, table: &str) -> App {
    h.sandbox
        .app(
            &[
                ("WRAPUP_LOCK_TABLE", table),
                ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
            ],
            h.clock.clone(),
        )
        .await
        .unwrap()
}

fn invocation(h: &Harness, id: &str) -> Invocation {
    Invocation::new(
        id,
        Deadline::after(h.clock.as_ref(), Duration::from_secs(30)),
    )
}

async fn run(h: &Harness, app: &App, event: &Value, id: &str) -> Result<Value, Transient> {
    let reply = genesys_wrapup::handle(app, event, &invocation(h, id)).await?;
    Ok(serde_json::to_value(reply).unwrap())
}

fn writes_to(h: &Harness, conversation: &str) -> Vec<String> {
    h.emulator()
        .writes()
        .into_iter()
        .filter(|w| w.conversation_id == conversation)
        .filter_map(|w| w.body["code"].as_str().map(str::to_owned))
        .collect()
}

/// A lease left by an instance that crashed: live until `expires_at`.
async fn crashed_holder(endpoint: &str, table: &str, conversation: &str, expires_at: i64) {
    dynamodb_client(Some(endpoint))
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(conversation.to_owned()))
        .item("expiresAt", AttributeValue::N(expires_at.to_string()))
        .item("token", AttributeValue::S("crashed-token".into()))
        .item("holder", AttributeValue::S("crashed-request".into()))
        .send()
        .await
        .unwrap();
}

async fn lease_item(endpoint: &str, table: &str, conversation: &str) -> Option<String> {
    let item = dynamodb_client(Some(endpoint))
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(conversation.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item?;
    match item.get("token") {
        Some(AttributeValue::S(token)) => Some(token.clone()),
        _ => Some(String::new()),
    }
}

#[tokio::test]
async fn two_instances_handed_one_request_at_once_write_it_once() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[]).await;
    let other = second_instance(&h, &moto.endpoint, &table).await;
    // Genesys answers slowly enough that both deliveries are in flight together.
    h.emulator().set_latency(Duration::from_millis(200));
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    let (a, b) = tokio::join!(
        run(&h, &h.app, &event, "first"),
        run(&h, &other, &event, "second")
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("exactly one delivery must proceed: {other:?}"),
    };
    assert_eq!(won["status"], "applied");
    assert_eq!(lost.kind, TransientKind::InProgress, "{lost}");
    assert!(lost
        .retry_after
        .is_some_and(|r| r <= Duration::from_secs(5)));
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
    // The lease is given back with the outcome; the platform's retry finds the code there.
    assert_eq!(lease_item(&moto.endpoint, &table, CONV_CALL).await, None);
    h.emulator().set_latency(Duration::ZERO);
    let retried = run(&h, &other, &event, "second-retry").await.unwrap();
    assert_eq!(retried["status"], "already_applied");
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
}

#[tokio::test]
async fn a_crm_request_and_an_acw_rule_are_decided_one_after_the_other() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[]).await;
    let other = second_instance(&h, &moto.endpoint, &table).await;
    h.emulator().set_latency(Duration::from_millis(200));
    // The CRM asks for "Call back later"; the acw rule would set "Sale completed" only where the
    // agent set none (`overwrite: never`).
    let crm = eventbridge(apply_request(CONV_ACW_DONE, CODE_CALLBACK));
    let acw: Value =
        serde_json::from_str(&std::fs::read_to_string("events/genesys-acw.json").unwrap()).unwrap();
    let (a, b) = tokio::join!(run(&h, &h.app, &crm, "crm"), run(&h, &other, &acw, "acw"));
    h.emulator().set_latency(Duration::ZERO);
    match (a, b) {
        (Ok(crm_first), Err(waited)) => {
            assert_eq!(crm_first["status"], "applied");
            assert_eq!(waited.kind, TransientKind::InProgress);
            // The rule, retried, sees the CRM's code and keeps it.
            let rule = run(&h, &other, &acw, "acw-retry").await.unwrap();
            assert_eq!(rule["status"], "skipped", "{rule}");
            assert_eq!(rule["reason"], "code_present");
            assert_eq!(rule["currentWrapUpCode"], CODE_CALLBACK);
            assert_eq!(writes_to(&h, CONV_ACW_DONE), [CODE_CALLBACK]);
        }
        (Err(waited), Ok(rule_first)) => {
            assert_eq!(rule_first["status"], "applied");
            assert_eq!(waited.kind, TransientKind::InProgress);
            // The CRM's request, retried, replaces the rule's code knowing it was there.
            let crm = run(&h, &h.app, &crm, "crm-retry").await.unwrap();
            assert_eq!(crm["status"], "applied", "{crm}");
            assert_eq!(crm["currentWrapUpCode"], CODE_SALE);
            assert_eq!(writes_to(&h, CONV_ACW_DONE), [CODE_SALE, CODE_CALLBACK]);
        }
        other => panic!("one must wait for the other: {other:?}"),
    }
}

#[tokio::test]
async fn a_crashed_holders_lease_holds_the_conversation_until_it_expires() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[]).await;
    crashed_holder(&moto.endpoint, &table, CONV_CALL, h.now() + 20).await;
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));

    let waiting = run(&h, &h.app, &event, "r1").await.unwrap_err();
    assert_eq!(waiting.kind, TransientKind::InProgress);
    assert!(waiting.message.contains("crashed-request"), "{waiting}");
    assert_eq!(waiting.retry_after, Some(Duration::from_secs(5)));
    assert_eq!(h.api_calls(), 0, "nothing is read without the lease");

    h.clock.advance(Duration::from_secs(15));
    let still = run(&h, &h.app, &event, "r2").await.unwrap_err();
    assert_eq!(still.kind, TransientKind::InProgress);
    assert!(still
        .retry_after
        .is_some_and(|r| r <= Duration::from_secs(5)));

    h.clock.advance(Duration::from_secs(6));
    let applied = run(&h, &h.app, &event, "r3").await.unwrap();
    assert_eq!(applied["status"], "applied");
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
    assert_eq!(lease_item(&moto.endpoint, &table, CONV_CALL).await, None);
}

#[tokio::test]
async fn a_webhook_that_finds_the_conversation_taken_answers_409_with_retry_after() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[]).await;
    crashed_holder(&moto.endpoint, &table, CONV_CALL, h.now() + 3).await;
    let body = apply_request(CONV_CALL, CODE_SALE).to_string();
    let response = h.invoke(h.webhook(&body)).await.unwrap();
    let (status, body, retry_after) = http_parts(&response);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "in_progress");
    assert_eq!(retry_after, Some(3));
}

#[tokio::test]
async fn an_sqs_message_that_finds_the_conversation_taken_spends_a_receive_as_any_retry_does() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[]).await;
    crashed_holder(&moto.endpoint, &table, CONV_CALL, h.now() + 20).await;
    let body = apply_request(CONV_CALL, CODE_SALE).to_string();
    // A late receive waits the backoff of its receive count, as any retry does: contention
    // never spends the receives faster than the retry horizon says.
    let response = h.invoke(sqs_batch(&[("m1", body, 4)])).await.unwrap();
    assert_eq!(failures(&response), ["m1"]);
    let visibility = h.sandbox.queues.visibility();
    assert_eq!(visibility.len(), 1, "{visibility:?}");
    assert_eq!(visibility[0].1, 240);
}

#[tokio::test]
async fn a_dry_run_takes_the_lease_too() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[("WRAPUP_DRY_RUN", "true")]).await;
    crashed_holder(&moto.endpoint, &table, CONV_CALL, h.now() + 20).await;
    let waiting = h
        .invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
        .await
        .unwrap_err();
    assert_eq!(waiting.kind, TransientKind::InProgress);
    h.clock.advance(Duration::from_secs(21));
    let planned = h
        .invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
        .await
        .unwrap();
    assert_eq!(planned["status"], "would_apply");
    assert_eq!(lease_item(&moto.endpoint, &table, CONV_CALL).await, None);
}

/// A DynamoDB endpoint that answers every call with `reply` (or never), counting the calls.
async fn dynamodb_failing(
    reply: Option<(u16, &'static str)>,
) -> (LoopbackServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let server = serve_loopback(move |_req| {
        let calls = counted.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let Some((status, error_type)) = reply else {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return Err(std::io::Error::other("never answered"));
            };
            let body = json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{error_type}"),
                "message": "injected"
            });
            let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )));
            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
            );
            Ok(response)
        }
    })
    .await
    .unwrap();
    (server, calls)
}

#[tokio::test]
async fn dynamodb_trouble_is_retried_and_nothing_is_read_or_written() {
    for reply in [
        Some((400, "ThrottlingException")),
        Some((400, "ProvisionedThroughputExceededException")),
        Some((500, "InternalServerError")),
        None,
    ] {
        let (server, calls) = dynamodb_failing(reply).await;
        let endpoint = format!("http://{}", server.addr);
        let h = harness(&endpoint, "wrapup-leases", &[]).await;
        let error = h
            .invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
            .await
            .unwrap_err();
        assert_eq!(error.kind, TransientKind::Upstream, "{reply:?}: {error}");
        assert!(error.message.contains("lease"), "{error}");
        assert!(calls.load(Ordering::SeqCst) >= 1);
        assert_eq!(
            h.api_calls(),
            0,
            "{reply:?}: Genesys was called without the lease"
        );
        assert!(h.emulator().writes().is_empty());
    }
}

#[tokio::test]
async fn a_request_decided_from_the_event_alone_takes_no_lease() {
    let (server, calls) = dynamodb_failing(Some((500, "InternalServerError"))).await;
    let endpoint = format!("http://{}", server.addr);
    let h = harness(&endpoint, "wrapup-leases", &[]).await;
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string("events/genesys-user-end-skipped.json").unwrap(),
    )
    .unwrap();
    let outcome = h.invoke(event).await.unwrap();
    assert_eq!(outcome["status"], "skipped");
    let invalid = h
        .invoke(json!({"conversationId": "not-a-uuid"}))
        .await
        .unwrap();
    assert_eq!(invalid["reason"], "invalid_event");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(h.count(Route::GetConversation), 0);
}

#[tokio::test]
async fn a_lease_is_given_back_only_by_its_holder() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let clock = Arc::new(genesys_wrapup::sandbox::ManualClock::starting_now());
    let leases = Leases::new(dynamodb_client(Some(&moto.endpoint)), &table, clock.clone());
    let conversation = Uuid::new_v4();
    let key = conversation.hyphenated().to_string();

    let first = leases
        .acquire(
            conversation,
            "first",
            Deadline::after(clock.as_ref(), Duration::from_secs(5)),
        )
        .await
        .unwrap();
    let taken = leases
        .acquire(
            conversation,
            "second",
            Deadline::after(clock.as_ref(), Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    assert_eq!(taken.kind, TransientKind::InProgress);
    assert!(taken.message.contains("first"), "{taken}");

    // The first holder overruns its deadline; the second takes the expired lease.
    clock.advance(Duration::from_secs(7));
    let second = leases
        .acquire(
            conversation,
            "second",
            Deadline::after(clock.as_ref(), Duration::from_secs(5)),
        )
        .await
        .unwrap();
    let held_by_second = lease_item(&moto.endpoint, &table, &key).await;
    assert!(held_by_second.is_some());
    assert_eq!(leases.release(first).await, Released::NotHeld);
    assert_eq!(
        lease_item(&moto.endpoint, &table, &key).await,
        held_by_second
    );
    assert_eq!(leases.release(second).await, Released::Released);
    assert_eq!(lease_item(&moto.endpoint, &table, &key).await, None);
}

#[tokio::test]
async fn without_the_table_two_instances_racing_both_write() {
    // What the lease is for: the same race with no table writes twice (at least once).
    let h = Harness::new().await;
    let other = h.sandbox.app(&[], h.clock.clone()).await.unwrap();
    h.emulator().set_latency(Duration::from_millis(200));
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    let (a, b) = tokio::join!(
        run(&h, &h.app, &event, "first"),
        run(&h, &other, &event, "second")
    );
    assert_eq!(a.unwrap()["status"], "applied");
    assert_eq!(b.unwrap()["status"], "applied");
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE, CODE_SALE]);
}

#[tokio::test]
async fn a_take_retried_after_its_answer_was_lost_holds_its_own_lease() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    // The lease is taken in one transaction: its first answer is lost, the SDK sends it again.
    let (proxy, _) = dynamodb_proxy(&moto.endpoint, Some("TransactWriteItems")).await;
    let endpoint = format!("http://{}", proxy.addr);
    let h = harness(&endpoint, &table, &[]).await;
    let applied = h
        .invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
        .await
        .unwrap();
    assert_eq!(
        applied["status"], "applied",
        "not locked out by its own lease"
    );
    assert_eq!(lease_item(&moto.endpoint, &table, CONV_CALL).await, None);
}

#[tokio::test]
async fn a_write_whose_result_is_unknown_keeps_the_lease_until_it_can_no_longer_land() {
    let moto = moto().await;
    let table = table(&moto.endpoint).await;
    let h = harness(&moto.endpoint, &table, &[]).await;
    h.emulator().inject(
        Route::PostWrapup,
        genesys_wrapup::sandbox::emulator::FaultKind::ApplyThenReset,
        1,
    );
    let event = eventbridge(apply_request(CONV_CALL, CODE_SALE));
    let unknown = run(&h, &h.app, &event, "r1").await.unwrap_err();
    assert_eq!(unknown.kind, TransientKind::Upstream, "{unknown}");
    // No duplicate may read the conversation before Genesys shows what the write did.
    assert!(lease_item(&moto.endpoint, &table, CONV_CALL)
        .await
        .is_some());
    let waiting = run(&h, &h.app, &event, "r2").await.unwrap_err();
    assert_eq!(waiting.kind, TransientKind::InProgress);
    // Past the invocation's deadline, still held: the write could land for a minute.
    h.clock.advance(Duration::from_secs(31));
    let held = run(&h, &h.app, &event, "r3").await.unwrap_err();
    assert_eq!(held.kind, TransientKind::InProgress);
    h.clock.advance(Duration::from_secs(31));
    let settled = run(&h, &h.app, &event, "r4").await.unwrap();
    assert_eq!(settled["status"], "already_applied");
    assert_eq!(writes_to(&h, CONV_CALL), [CODE_SALE]);
}
