//! Genesys's own EventBridge events through wrap-up rules, and several orgs from one deployment.
//! The sandbox's rules (`rules/sandbox.json`) act on `acw` only: a default code when the agent
//! set none, and a replacement for the after-call-work timeout.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::TransientKind;
use serde_json::{json, Value};

const ORG: &str = "6d2b4a3c-1f0e-4b8a-9c7d-5e4f3a2b1c0d";
const OTHER_ORG: &str = "7e3c5b4d-2a1f-4c9b-8d8e-6f5a4b3c2d1e";

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn genesys_event(topic: &str, org: &str, body: Value) -> Value {
    json!({
        "version": "0", "id": "ev-1", "detail-type": format!("v2.detail.events.conversation.{{id}}.{topic}"),
        "source": format!("aws.partner/genesys.com/cloud/{org}/wrapup"), "account": "123456789012",
        "time": "2026-11-25T09:07:05Z", "region": "eu-west-1", "resources": [],
        "detail": {"topicName": format!("v2.detail.events.conversation.x.{topic}"), "version": "2", "eventBody": body}
    })
}

/// An `acw` event for agent `k` of conversation `n`, carrying `code` as the code now set.
fn acw(n: u32, k: u8, code: Option<&str>) -> Value {
    let mut body = json!({
        "conversationId": conversation_id(n), "participantId": participant(n, k), "sessionId": communication(n, k),
        "mediaType": "VOICE", "direction": "INBOUND", "userId": AGENT_USER, "queueId": QUEUE_SALES,
        "wrapupDurationMs": 15000
    });
    if let Some(code) = code {
        body["wrapupCode"] = json!(code);
    }
    genesys_event("acw", ORG, body)
}

#[tokio::test]
async fn an_acw_event_without_a_code_gets_the_default_by_name_on_its_own_participant() {
    let h = Harness::new().await;
    let out = h.invoke(sample("genesys-acw.json")).await.unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(out["rule"], "sales-default-when-missing");
    assert_eq!(out["participantId"], participant(13, 2));
    assert_eq!(out["communicationId"], communication(13, 2));
    assert_eq!(
        (out["wrapUpCodeId"].as_str(), out["wrapUpCodeName"].as_str()),
        (Some(CODE_SALE), Some("Sale completed")),
        "the Sales code of that name, not the Support one"
    );
    assert_eq!(h.emulator().writes()[0].body["code"], CODE_SALE);
}

#[tokio::test]
async fn our_own_write_coming_back_as_an_acw_event_never_writes_again() {
    let h = Harness::new().await;
    assert_eq!(
        h.invoke(acw(13, 2, None)).await.unwrap()["status"],
        "applied"
    );
    // The write ended after-call work; Genesys reports it with our code.
    h.emulator().clear_log();
    let echo = h.invoke(acw(13, 2, Some(CODE_SALE))).await.unwrap();
    assert_eq!(
        (echo["status"].as_str(), echo["reason"].as_str()),
        (Some("skipped"), Some("no_rule"))
    );
    assert_eq!(echo["currentWrapUpCode"], CODE_SALE);
    assert!(
        h.emulator().requests().is_empty(),
        "decided from the event: zero calls"
    );
    // A rule with no condition on the code reads, finds it already there, and does not write.
    let rules = json!([{"name": "any-acw", "match": {"topic": "acw"}, "wrapUpCode": {"name": "sale completed"}}]);
    let h2 = Harness::with_env(&[("WRAPUP_RULES", &rules.to_string())]).await;
    assert_eq!(
        h2.invoke(acw(13, 2, None)).await.unwrap()["status"],
        "applied"
    );
    let again = h2.invoke(acw(13, 2, Some(CODE_SALE))).await.unwrap();
    assert_eq!(again["status"], "already_applied");
    assert_eq!(h2.emulator().writes().len(), 1);
}

#[tokio::test]
async fn the_sample_of_our_own_write_is_skipped_without_a_call() {
    let h = Harness::new().await;
    let out = h
        .invoke(sample("genesys-acw-own-write-skipped.json"))
        .await
        .unwrap();
    assert_eq!(out["status"], "skipped");
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn events_no_rule_can_match_are_skipped_without_a_genesys_call() {
    let h = Harness::new().await;
    for name in [
        "genesys-customer-end-skipped.json",
        "genesys-user-end-skipped.json",
    ] {
        let out = h.invoke(sample(name)).await.unwrap();
        assert_eq!(
            (out["status"].as_str(), out["reason"].as_str()),
            (Some("skipped"), Some("no_rule")),
            "{name}"
        );
    }
    let mut other_topic = genesys_event("user.start", ORG, json!({"conversationId": CONV_CALL}));
    other_topic["detail-type"] = json!("v2.detail.events.conversation.{id}.user.start");
    assert_eq!(h.invoke(other_topic).await.unwrap()["status"], "skipped");
    let mut other_queue = acw(13, 2, None);
    other_queue["detail"]["eventBody"]["queueId"] = json!("elsewhere");
    assert_eq!(h.invoke(other_queue).await.unwrap()["reason"], "no_rule");
    // An agent who chose a code: the default rule does not match, from the event alone.
    let chosen = h
        .invoke(acw(13, 2, Some(CODE_FOLLOW_UP_SALES)))
        .await
        .unwrap();
    assert_eq!(chosen["currentWrapUpCode"], CODE_FOLLOW_UP_SALES);
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn the_acw_timeout_code_is_replaced_and_other_codes_are_left_alone() {
    let h = Harness::new().await;
    h.emulator().update_conversation(CONV_ACW_DONE, |c| {
        c["participants"][1]["calls"][0]["wrapup"] =
            json!({"code": "ININ-WRAP-UP-TIMEOUT", "name": "ACW timeout", "notes": "agent note"});
    });
    let event = acw(13, 2, Some("ININ-WRAP-UP-TIMEOUT"));
    let out = h.invoke(event.clone()).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["rule"].as_str()),
        (Some("applied"), Some("replace-acw-timeout"))
    );
    assert_eq!(out["currentWrapUpCode"], "ININ-WRAP-UP-TIMEOUT");
    let write = &h.emulator().writes()[0];
    assert_eq!(write.body["code"], CODE_CALLBACK);
    assert_eq!(write.body["tags"], json!(["auto", "acw-timeout"]));
    // The same event again (a duplicate delivery): decided by the event, the rule still
    // matches, and the read finds its code already there. Nothing else is written.
    let out = h.invoke(event).await.unwrap();
    assert_eq!(out["status"], "already_applied");
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn an_acw_event_is_decided_by_its_own_code_even_when_the_read_lags_behind() {
    let h = Harness::new().await;
    // The event says the after-call work timed out; the conversation does not show it yet.
    let out = h
        .invoke(acw(13, 2, Some("ININ-WRAP-UP-TIMEOUT")))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["rule"].as_str()),
        (Some("applied"), Some("replace-acw-timeout")),
        "{out}"
    );
    assert_eq!(h.emulator().writes()[0].body["code"], CODE_CALLBACK);
    assert_eq!(
        out["currentWrapUpCode"], "ININ-WRAP-UP-TIMEOUT",
        "what the event said"
    );
}

#[tokio::test]
async fn customer_end_falls_back_to_the_latest_agent_and_attributes_can_match() {
    let rules = json!([{
        "name": "crm-case-abandoned",
        "match": {"topic": "customer.end", "mediaType": "VOICE", "disconnectType": "ENDPOINT",
                  "wrapUpMissing": true, "participantAttributes": {"crmCaseId": ["CASE-1001"]}},
        "wrapUpCode": {"id": CODE_CALLBACK}
    }]);
    let h = Harness::with_env(&[("WRAPUP_RULES", &rules.to_string())]).await;
    h.emulator().update_conversation(CONV_TRANSFER, |c| {
        c["participants"][2]["attributes"] = json!({"crmCaseId": "CASE-1001"});
    });
    let event = genesys_event(
        "customer.end",
        ORG,
        json!({
            "conversationId": CONV_TRANSFER, "participantId": participant(6, 1), "sessionId": communication(6, 1),
            "mediaType": "VOICE", "disconnectType": "ENDPOINT", "divisionId": DIVISION_SALES
        }),
    );
    let out = h.invoke(event.clone()).await.unwrap();
    assert_eq!(out["status"], "applied", "{out}");
    assert_eq!(
        out["participantId"],
        participant(6, 3),
        "the latest agent, not the customer"
    );
    h.emulator().update_conversation(CONV_TRANSFER, |c| {
        c["participants"][2]["attributes"] = json!({"crmCaseId": "CASE-2"});
        c["participants"][2]["wrapup"] = Value::Null;
        c["participants"][2]["calls"][0]["wrapup"] = Value::Null;
    });
    assert_eq!(h.invoke(event.clone()).await.unwrap()["status"], "skipped");
    // PEER on customer.end is the agent hanging up: this rule does not act on it.
    let mut peer = event;
    peer["detail"]["eventBody"]["disconnectType"] = json!("PEER");
    assert_eq!(h.invoke(peer).await.unwrap()["reason"], "no_rule");
}

#[tokio::test]
async fn a_matching_event_whose_agent_is_still_connected_is_retried() {
    let rules = json!([{"name": "on-user-end", "match": {"topic": "user.end"}, "wrapUpCode": {"id": CODE_SALE}}]);
    let h = Harness::with_env(&[("WRAPUP_RULES", &rules.to_string())]).await;
    let event = genesys_event(
        "user.end",
        ORG,
        json!({"conversationId": CONV_ACTIVE, "participantId": participant(4, 2), "queueId": QUEUE_SALES}),
    );
    let t = h.invoke(event).await.unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
    assert!(t.message.contains(&participant(4, 2)), "{}", t.message);
}

#[tokio::test]
async fn a_supervisor_s_own_event_is_skipped() {
    let rules = json!([{"name": "on-user-end", "match": {"topic": "user.end"}, "wrapUpCode": {"id": CODE_SALE}}]);
    let h = Harness::with_env(&[("WRAPUP_RULES", &rules.to_string())]).await;
    let supervisor_event = genesys_event(
        "user.end",
        ORG,
        json!({"conversationId": CONV_MONITORED, "participantId": participant(12, 3), "userId": SUPERVISOR_USER}),
    );
    let out = h.invoke(supervisor_event).await.unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    // Its own reason: a supervisor leaving is no missing rule, and must not inflate `no_rule`.
    assert_eq!(out["reason"], "supervisor_participant", "{out}");
    assert!(out["message"].as_str().unwrap().contains("supervisor"));
    assert!(h.emulator().writes().is_empty());
}

#[tokio::test]
async fn a_rule_with_overwrite_never_on_user_end_waits_for_the_agent_then_keeps_their_code() {
    let rules = json!([{"name": "default-after-acw", "match": {"topic": "user.end"},
                        "wrapUpCode": {"name": "Call back later"}, "overwrite": "never"}]);
    let h = Harness::with_env(&[("WRAPUP_RULES", &rules.to_string())]).await;
    let event = genesys_event(
        "user.end",
        ORG,
        json!({"conversationId": CONV_NATIVE, "participantId": participant(9, 2), "sessionId": communication(9, 2)}),
    );
    // The agent is in after-call work: their choice comes first.
    let t = h.invoke(event.clone()).await.unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
    assert!(t.message.contains("after-call work"), "{}", t.message);
    // They chose a code: kept.
    h.emulator().update_conversation(CONV_NATIVE, |c| {
        c["participants"][1]["calls"][0]["afterCallWork"]["state"] = json!("complete");
        c["participants"][1]["calls"][0]["wrapup"] =
            json!({"code": CODE_SALE, "name": "Sale completed"});
    });
    let out = h.invoke(event).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("skipped"), Some("code_present"))
    );
    assert_eq!(out["currentWrapUpCode"], CODE_SALE);
    assert!(h.emulator().writes().is_empty());
}

#[tokio::test]
async fn a_write_after_acw_that_genesys_refuses_is_a_clear_rejection() {
    let h = Harness::new().await;
    h.emulator().refuse_writes_after_acw();
    let out = h.invoke(sample("genesys-acw.json")).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("rejected"), Some("genesys_rejected"))
    );
    assert!(
        out["message"].as_str().unwrap().contains("bad.request"),
        "{out}"
    );
}

#[tokio::test]
async fn with_an_org_map_each_org_has_its_own_client_and_unknown_orgs_are_rejected() {
    let orgs = json!({ORG: GENESYS_SECRET_ID, OTHER_ORG: GENESYS_SECRET_ID}).to_string();
    let h = Harness::with_env(&[("GENESYS_ORG_SECRETS", &orgs)]).await;
    let out = h.invoke(sample("genesys-acw.json")).await.unwrap();
    assert_eq!(out["status"], "applied");
    let mut request = apply_request(CONV_CALL, CODE_SALE);
    request["orgId"] = json!(OTHER_ORG);
    assert_eq!(h.invoke(request).await.unwrap()["status"], "applied");
    assert_eq!(h.count(Route::Token), 2, "one token per org");

    let before = h.emulator().requests().len();
    let unknown = "00000000-1111-4222-8333-444444444444";
    let out = h
        .invoke(genesys_event(
            "acw",
            unknown,
            json!({"conversationId": CONV_CALL, "queueId": QUEUE_SALES}),
        ))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("rejected"), Some("unknown_org"))
    );
    assert_eq!(out["conversationId"], CONV_CALL);
    let mut request = apply_request(CONV_EMAIL, CODE_SALE);
    request["orgId"] = json!(unknown);
    assert_eq!(h.invoke(request).await.unwrap()["reason"], "unknown_org");
    // Rules come first: an event of that org no rule can act on is nothing to do, not a
    // rejection that would fill the attention queue with the org's every event.
    let out = h
        .invoke(genesys_event(
            "customer.end",
            unknown,
            json!({"conversationId": CONV_CALL, "disconnectType": "PEER"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("skipped"), Some("no_rule")),
        "{out}"
    );
    assert_eq!(
        h.emulator().requests().len(),
        before,
        "no Genesys call for an unknown org"
    );
    // A request without an org uses GENESYS_SECRET_ID's client.
    assert_eq!(
        h.invoke(apply_request(CONV_EMAIL, CODE_SALE))
            .await
            .unwrap()["status"],
        "applied"
    );
}

#[tokio::test]
async fn without_an_org_map_every_org_uses_the_default_secret() {
    let h = Harness::new().await;
    let mut event = acw(13, 2, None);
    event["source"] = json!(format!("aws.partner/genesys.com/cloud/{OTHER_ORG}/wrapup"));
    assert_eq!(h.invoke(event).await.unwrap()["status"], "applied");
}

#[tokio::test]
async fn genesys_events_from_sqs_keep_their_rule() {
    let h = Harness::new().await;
    let response = h
        .invoke(sqs_batch(&[(
            "n",
            sample("genesys-acw.json").to_string(),
            1,
        )]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn invalid_rules_never_stop_apply_requests_and_genesys_events_wait_naming_the_problem() {
    for (rules, expect) in [
        (
            "[{\"name\": \"a\", \"match\": {\"topic\": \"acw\"},\n \"wrapUpCode\": {\"id\": \"nope\"}}]",
            "UUID",
        ),
        (
            r#"[{"name": "no-division-on-acw", "match": {"topic": "acw", "divisionId": "d1d00000-0000-4000-8000-000000000001"}, "wrapUpCode": {"name": "Sale"}}]"#,
            "divisionId",
        ),
        (
            r#"[{"name": "no-queue-on-customer-end", "match": {"topic": "customer.end", "queueId": "q"}, "wrapUpCode": {"name": "Sale"}}]"#,
            "no-queue-on-customer-end",
        ),
        (r#"[{"name": "everything", "wrapUpCode": {"name": "Sale"}}]"#, "topic"),
    ] {
        let h = Harness::with_env(&[("WRAPUP_RULES", rules)]).await;
        // Apply requests are served as usual.
        let out = h
            .invoke(eventbridge(apply_request(CONV_CALL, CODE_SALE)))
            .await
            .unwrap();
        assert_eq!(out["status"], "applied", "{rules}: {out}");
        // A Genesys event waits, naming the problem, and costs no Genesys call.
        let before = h.emulator().requests().len();
        let t = h.invoke(sample("genesys-acw.json")).await.unwrap_err();
        assert_eq!(t.kind, TransientKind::RulesUnavailable, "{rules}");
        assert!(
            t.message.contains("WRAPUP_RULES") && t.message.contains(expect),
            "{}",
            t.message
        );
        assert_eq!(h.emulator().requests().len(), before);
        // Through the buffer queue, it is received again.
        let response = h
            .invoke(sqs_batch(&[("g", sample("genesys-acw.json").to_string(), 1)]))
            .await
            .unwrap();
        assert_eq!(failures(&response), vec!["g"]);
    }
}
