//! New Relic custom events against a loopback Event API: one gzip POST per invocation, the
//! contract's attributes, and delivery that never changes or delays an outcome past its budget.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::newrelic::{NewRelicEmulator, NrFault};
use serde_json::json;
use std::time::Duration;

const KEY: &str = "nr-license-key-0123456789abcdef0123456789NRAL";

async fn harness() -> (Harness, NewRelicEmulator) {
    let nr = NewRelicEmulator::start("1234567", KEY).await.unwrap();
    let url = nr.url().to_string();
    let h = Harness::with_env(&[
        ("NEW_RELIC_ACCOUNT_ID", "1234567"),
        ("NEW_RELIC_LICENSE_KEY_SECRET_ID", "newrelic/license"),
        ("NEW_RELIC_EVENTS_URL", &url),
    ])
    .await;
    h.sandbox
        .secrets
        .put("newrelic/license", json!({"licenseKey": KEY}).to_string());
    (h, nr)
}

#[tokio::test]
async fn every_outcome_becomes_one_event_with_the_contract_attributes() {
    let (h, nr) = harness().await;
    h.invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
        .await
        .unwrap();
    assert_eq!(nr.posts(), 1);
    let events = nr.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    for (k, v) in [
        ("eventType", "GenesysWrapUp"),
        ("status", "applied"),
        ("conversationId", CONV_CALL),
        ("wrapUpCodeId", CODE_SALE),
        ("wrapUpCodeName", "Sale completed"),
        ("divisionId", DIVISION_SALES),
        ("queueId", QUEUE_SALES),
        ("userId", AGENT_USER),
        ("mediaType", "voice"),
        ("trigger", "eventbridge"),
        ("request", "apply"),
        ("awsRequestId", "test-request"),
    ] {
        assert_eq!(e[k], json!(v), "{k}: {e}");
    }
    assert_eq!(e["participantId"], json!(participant(1, 2)));
    assert_eq!(e["communicationId"], json!(communication(1, 2)));
    assert_eq!(e["attempt"], 1);
    assert!(e["durationMs"].is_number());
    assert!(e["genesysCorrelationId"].is_string());
    assert!(nr.problems().is_empty(), "{:?}", nr.problems());
}

#[tokio::test]
async fn a_genesys_event_says_how_it_arrived_and_what_it_is_apart() {
    let (h, nr) = harness().await;
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/genesys-acw.json"
    ))
    .unwrap();
    let event: serde_json::Value = serde_json::from_str(&sample).unwrap();
    assert_eq!(h.invoke(event.clone()).await.unwrap()["status"], "applied");
    // The same event through the buffer queue: only the trigger differs.
    h.invoke(sqs_batch(&[("m", event.to_string(), 1)]))
        .await
        .unwrap();
    let seen: Vec<(String, String, String)> = nr
        .events()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            (text("trigger"), text("request"), text("rule"))
        })
        .collect();
    let rule = "sales-default-when-missing".to_owned();
    assert_eq!(
        seen,
        vec![
            ("eventbridge".into(), "genesys_event".into(), rule.clone()),
            ("sqs".into(), "genesys_event".into(), rule),
        ]
    );
}

#[tokio::test]
async fn a_batch_is_one_post_with_rejections_and_transient_failures_too() {
    let (h, nr) = harness().await;
    let response = h
        .invoke(sqs_batch(&[
            ("a", body(CONV_CALL, CODE_SALE), 1),
            ("b", body(CONV_CALL, CODE_SUPPORT), 1),
            ("c", body(CONV_ACTIVE, CODE_SALE), 4),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&response), vec!["c"]);
    assert_eq!(nr.posts(), 1);
    let mut statuses: Vec<(String, String)> = nr
        .events()
        .iter()
        .map(|e| {
            (
                e["status"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    statuses.sort();
    let expected: Vec<(String, String)> = [
        ("applied", ""),
        ("rejected", "division_mismatch"),
        ("transient_failure", "not_ended"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses, expected);
    let transient = nr
        .events()
        .into_iter()
        .find(|e| e["status"] == "transient_failure")
        .unwrap();
    assert_eq!(transient["attempt"], 4);
    assert_eq!(transient["trigger"], "sqs");
    assert!(nr.problems().is_empty(), "{:?}", nr.problems());
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_413_splits() {
    let (h, nr) = harness().await;
    nr.fail_next(NrFault::Status(429, Some(1)));
    h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(nr.posts(), 2);
    assert_eq!(nr.events().len(), 1);
    assert!(h.clock.slept().contains(&Duration::from_secs(1)));

    let (h, nr) = harness().await;
    nr.set_max_events_per_post(2);
    let response = h
        .invoke(sqs_batch(&[
            ("a", body(CONV_CALL, CODE_SALE), 1),
            ("b", body(CONV_EMAIL, CODE_SALE), 1),
            ("c", body(CONV_MESSAGE, CODE_SALE), 1),
            ("d", body(CONV_TRANSFER, CODE_CALLBACK), 1),
        ]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(nr.events().len(), 4, "split until every event fits");
}

#[tokio::test]
async fn a_failing_or_silent_new_relic_never_changes_the_outcome() {
    for fault in [
        NrFault::Status(403, None),
        NrFault::Status(500, None),
        NrFault::Status(429, Some(3_600)),
    ] {
        let (h, nr) = harness().await;
        nr.fail_next(fault.clone());
        nr.fail_next(fault.clone());
        let out = h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
        assert_eq!(out["status"], "applied", "{fault:?}");
        assert!(nr.posts() <= 2);
    }
    let (h, nr) = harness().await;
    nr.fail_next(NrFault::Hang);
    let started = std::time::Instant::now();
    let out = h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap();
    assert_eq!(out["status"], "applied");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the 2 s budget"
    );

    // A missing license key secret: the outcome stands, the events are dropped.
    let (h, nr) = harness().await;
    h.sandbox.secrets.remove("newrelic/license");
    assert_eq!(
        h.invoke(apply_request(CONV_CALL, CODE_SALE)).await.unwrap()["status"],
        "applied"
    );
    assert_eq!(nr.posts(), 0);
}
