//! Genesys Copilot's predicted codes against the emulator's summaries: the top prediction for
//! the agent's own communication that fits the conversation's divisions, the fallback or
//! `no_prediction` below the threshold, a summary waited for while the event is young, the
//! agent's own code kept, and `observe` recording `WrapUpPrediction` without writing.

use crate::common::{eventbridge, Harness};
use genesys_wrapup::sandbox::demo::{
    participant, CODE_CALLBACK, CODE_FOLLOW_UP_ALL, CODE_SALE, CODE_SUPPORT, CONV_ACW_DONE,
    CONV_ACW_TIMEOUT, CONV_CALL,
};
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::sandbox::newrelic::NewRelicEmulator;
use serde_json::{json, Value};
use std::time::Duration;

fn sample(file: &str) -> Value {
    let path = format!("{}/events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The sample `acw` event of the second agent, whose after-call work timed out.
fn timed_out() -> Value {
    sample("genesys-acw-timeout-predicted.json")
}

fn written(h: &Harness) -> Vec<String> {
    h.emulator()
        .writes()
        .iter()
        .filter_map(|w| w.body["code"].as_str().map(str::to_owned))
        .collect()
}

/// An apply request for the timed-out agent with a predicted code.
fn predicted(fallback: Option<Value>, overwrite: &str) -> Value {
    let mut predicted = json!({"minConfidence": 0.7});
    if let Some(f) = fallback {
        predicted["fallback"] = f;
    }
    json!({"conversationId": CONV_ACW_TIMEOUT, "participantId": participant(14, 3),
           "wrapUpCode": {"predicted": predicted}, "overwrite": overwrite})
}

/// Sets the confidence of every prediction for the timed-out agent's communication.
fn confidence(h: &Harness, value: f64) {
    h.emulator().update_summaries(CONV_ACW_TIMEOUT, |s| {
        for p in s["sessionSummaries"][1]["predictedWrapupCodes"]
            .as_array_mut()
            .unwrap()
        {
            p["confidence"] = json!(value);
        }
    });
}

#[tokio::test]
async fn a_timed_out_acw_gets_the_top_prediction_for_its_own_communication_that_fits() {
    let h = Harness::new().await;
    let out = h.invoke(timed_out()).await.unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(out["rule"], "predict-service-timeouts");
    // "Support escalation" (0.91) is in another division: passed over. The first agent's
    // "Follow-up" (0.97) is never theirs to take.
    assert_eq!(out["wrapUpCodeId"], CODE_SALE);
    assert_eq!(out["wrapUpCodeName"], "Sale completed");
    assert_eq!(out["predictedConfidence"], 0.82);
    assert_eq!(written(&h), [CODE_SALE]);
    assert_eq!(h.count(Route::GetSummaries), 1);
    assert!(!written(&h).contains(&CODE_SUPPORT.to_owned()));
    assert!(!written(&h).contains(&CODE_FOLLOW_UP_ALL.to_owned()));
}

#[tokio::test]
async fn below_the_threshold_the_fallback_else_no_prediction_naming_the_best_seen() {
    let h = Harness::new().await;
    confidence(&h, 0.5);
    let fallback = h.invoke(timed_out()).await.unwrap();
    assert_eq!(fallback["status"], "applied", "{fallback}");
    assert_eq!(fallback["wrapUpCodeId"], CODE_CALLBACK);
    assert!(fallback.get("predictedConfidence").is_none());

    let h = Harness::new().await;
    confidence(&h, 0.5);
    let none = h
        .invoke(eventbridge(predicted(None, "system")))
        .await
        .unwrap();
    assert_eq!(none["status"], "skipped", "{none}");
    assert_eq!(none["reason"], "no_prediction");
    assert!(
        none["message"].as_str().unwrap().contains("at 0.50"),
        "{none}"
    );
    assert!(written(&h).is_empty());
}

#[tokio::test]
async fn a_summary_not_ready_is_waited_for_while_the_event_is_young_then_decided_without() {
    let h = Harness::new().await;
    h.emulator().update_summaries(CONV_ACW_TIMEOUT, |s| {
        s["sessionSummaries"][1]["status"] = json!("Processing");
    });
    let mut event = timed_out();
    event["detail"]["eventBody"]["eventTime"] = json!(h.now() * 1_000);
    let pending = h.invoke(event.clone()).await.unwrap_err();
    assert_eq!(pending.kind.as_str(), "prediction_pending", "{pending}");
    assert_eq!(pending.retry_after, Some(Duration::from_secs(30)));
    assert!(written(&h).is_empty());
    // No summaries at all (404) waits the same.
    h.emulator().set_summaries(CONV_ACW_TIMEOUT, None);
    h.clock.advance(Duration::from_secs(60));
    let still = h.invoke(event.clone()).await.unwrap_err();
    assert_eq!(still.kind.as_str(), "prediction_pending");
    // Older than WRAPUP_PREDICTION_WAIT (120 s): as if nothing reached the threshold.
    h.clock.advance(Duration::from_secs(61));
    let decided = h.invoke(event).await.unwrap();
    assert_eq!(decided["status"], "applied", "{decided}");
    assert_eq!(
        decided["wrapUpCodeId"], CODE_CALLBACK,
        "the rule's fallback"
    );

    // A request with no fallback: pending while young, then `no_prediction`, nothing written.
    let h = Harness::new().await;
    h.emulator().set_summaries(CONV_ACW_TIMEOUT, None);
    let mut request = eventbridge(predicted(None, "system"));
    let sent = chrono::DateTime::from_timestamp(h.now(), 0).unwrap();
    request["time"] = json!(sent.to_rfc3339());
    let pending = h.invoke(request.clone()).await.unwrap_err();
    assert_eq!(pending.kind.as_str(), "prediction_pending", "{pending}");
    h.clock.advance(Duration::from_secs(121));
    let none = h.invoke(request).await.unwrap();
    assert_eq!(none["status"], "skipped", "{none}");
    assert_eq!(none["reason"], "no_prediction");
    assert!(written(&h).is_empty());
}

#[tokio::test]
async fn the_other_agents_summary_is_never_used() {
    let h = Harness::new().await;
    // Only the first agent's summary exists: the second agent's communication has none.
    h.emulator().update_summaries(CONV_ACW_TIMEOUT, |s| {
        s["sessionSummaries"].as_array_mut().unwrap().truncate(1);
    });
    let out = h
        .invoke(eventbridge(predicted(None, "system")))
        .await
        .unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    assert_eq!(out["reason"], "no_prediction");
    assert!(written(&h).is_empty());
}

#[tokio::test]
async fn an_agents_own_code_is_never_replaced() {
    let h = Harness::new().await;
    // The first agent chose "Call back later"; Copilot's prediction for them is "Follow-up".
    let mine = json!({"conversationId": CONV_ACW_TIMEOUT, "participantId": participant(14, 2),
                      "wrapUpCode": {"predicted": {"minConfidence": 0.5}}, "overwrite": "system"});
    let out = h.invoke(eventbridge(mine)).await.unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    assert_eq!(out["reason"], "code_present");
    assert_eq!(out["currentWrapUpCode"], CODE_CALLBACK);
    assert!(written(&h).is_empty());
}

#[tokio::test]
async fn requests_that_use_no_prediction_never_read_summaries() {
    let h = Harness::new().await;
    let plain = json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": CODE_SALE}});
    assert_eq!(
        h.invoke(eventbridge(plain)).await.unwrap()["status"],
        "applied"
    );
    assert_eq!(h.count(Route::GetSummaries), 0);
}

const OBSERVE: &str = r#"[{"name": "observe-all", "match": {"topic": "acw"}, "observe": true}]"#;

#[tokio::test]
async fn observe_writes_nothing_and_records_one_prediction_per_agent_communication() {
    let nr = NewRelicEmulator::start("1", "nr-key").await.unwrap();
    let url = nr.url().to_string();
    let h = Harness::with_env(&[
        ("WRAPUP_RULES", OBSERVE),
        ("NEW_RELIC_ACCOUNT_ID", "1"),
        ("NEW_RELIC_LICENSE_KEY", "nr-key"),
        ("NEW_RELIC_EVENTS_URL", &url),
    ])
    .await;
    // The second agent timed out; Copilot's top prediction for them fits no division check
    // here (observing checks nothing), so it is recorded as predicted.
    let out = h.invoke(timed_out()).await.unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    assert_eq!(out["reason"], "observed");
    // The agent of CONV_ACW_DONE chose nothing; Copilot predicted "Sale completed".
    let done = h.invoke(sample("genesys-acw.json")).await.unwrap();
    assert_eq!(done["reason"], "observed", "{done}");
    assert!(written(&h).is_empty(), "observe writes nothing");
    let predictions: Vec<Value> = nr
        .events()
        .into_iter()
        .filter(|e| e["eventType"] == "WrapUpPrediction")
        .collect();
    assert_eq!(predictions.len(), 2, "{predictions:?}");
    let timeout = predictions
        .iter()
        .find(|e| e["conversationId"] == CONV_ACW_TIMEOUT)
        .unwrap();
    assert_eq!(timeout["participantId"], participant(14, 3));
    assert_eq!(timeout["queueId"], "9ee00000-0000-4000-8000-000000000002");
    assert_eq!(timeout["agentCode"], "ININ-WRAP-UP-TIMEOUT");
    assert_eq!(timeout["predictedCode"], CODE_SUPPORT);
    assert_eq!(timeout["predictedCodeName"], "Support escalation");
    assert_eq!(timeout["confidence"], 0.91);
    assert_eq!(timeout["agreed"], 0);
    assert_eq!(timeout["timedOut"], 1);
    assert!(
        timeout.get("rank").is_none(),
        "a system code is never predicted"
    );
    let chose_none = predictions
        .iter()
        .find(|e| e["conversationId"] == CONV_ACW_DONE)
        .unwrap();
    assert_eq!(chose_none["predictedCode"], CODE_SALE);
    assert_eq!(chose_none["timedOut"], 0);
    assert!(chose_none.get("agentCode").is_none());
}

#[tokio::test]
async fn observing_agreement_and_rank() {
    let nr = NewRelicEmulator::start("1", "nr-key").await.unwrap();
    let url = nr.url().to_string();
    let h = Harness::with_env(&[
        ("WRAPUP_RULES", OBSERVE),
        ("NEW_RELIC_ACCOUNT_ID", "1"),
        ("NEW_RELIC_LICENSE_KEY", "nr-key"),
        ("NEW_RELIC_EVENTS_URL", &url),
    ])
    .await;
    // The agent chose "Sale completed": Copilot's second prediction for them.
    let mut event = timed_out();
    event["detail"]["eventBody"]["wrapupCode"] = json!(CODE_SALE);
    h.invoke(event).await.unwrap();
    let mut top = sample("genesys-acw.json");
    top["detail"]["eventBody"]["wrapupCode"] = json!(CODE_SALE);
    h.invoke(top).await.unwrap();
    let events: Vec<Value> = nr
        .events()
        .into_iter()
        .filter(|e| e["eventType"] == "WrapUpPrediction")
        .collect();
    let of = |conversation: &str| {
        events
            .iter()
            .find(|e| e["conversationId"] == conversation)
            .unwrap()
            .clone()
    };
    let second = of(CONV_ACW_TIMEOUT);
    assert_eq!(
        (second["agreed"].clone(), second["rank"].clone()),
        (json!(0), json!(2))
    );
    assert_eq!(second["agentCodeName"], "Sale completed");
    let agreed = of(CONV_ACW_DONE);
    assert_eq!(
        (agreed["agreed"].clone(), agreed["rank"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn a_sampled_observe_rule_skips_the_conversations_outside_its_sample_without_a_call() {
    let rules = r#"[{"name": "observe-none", "match": {"topic": "acw"}, "observe": true, "sample": 0.000001}]"#;
    let h = Harness::with_env(&[("WRAPUP_RULES", rules)]).await;
    let out = h.invoke(timed_out()).await.unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    assert_eq!(out["reason"], "no_rule");
    assert!(h.emulator().requests().is_empty(), "no Genesys call at all");
}
