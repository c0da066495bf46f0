//! Genesys's own EventBridge events through wrap-up rules, and several orgs from one deployment.

mod common;

use common::*;
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

fn native(topic: &str, org: &str, body: Value) -> Value {
    json!({
        "version": "0", "id": "ev-1", "detail-type": format!("v2.detail.events.conversation.{{id}}.{topic}"),
        "source": format!("aws.partner/genesys.com/cloud/{org}/wrapup"), "account": "123456789012",
        "time": "2026-11-25T09:07:05Z", "region": "eu-west-1", "resources": [],
        "detail": {"topicName": format!("v2.detail.events.conversation.x.{topic}"), "version": "2", "eventBody": body}
    })
}

#[tokio::test]
async fn a_user_end_event_applies_the_first_matching_rule_to_its_own_participant_and_session() {
    let h = Harness::new().await;
    let out = h.invoke(sample("genesys-user-end.json")).await.unwrap();
    assert_eq!(out["status"], "applied");
    assert_eq!(out["rule"], "sales-queue-default");
    assert_eq!(out["participantId"], participant(9, 2));
    assert_eq!(out["communicationId"], communication(9, 2));
    assert_eq!(h.emulator().writes()[0].body["code"], CODE_SALE);
    let again = h.invoke(sample("genesys-user-end.json")).await.unwrap();
    assert_eq!(
        (again["status"].as_str(), again["rule"].as_str()),
        (Some("already_applied"), Some("sales-queue-default"))
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn events_no_rule_can_match_are_skipped_without_a_genesys_call() {
    let h = Harness::new().await;
    let out = h
        .invoke(sample("genesys-customer-end-skipped.json"))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("skipped"), Some("no_rule"))
    );
    let other_topic = native("user.start", ORG, json!({"conversationId": CONV_CALL}));
    let mut other_topic = other_topic;
    other_topic["detail-type"] = json!("v2.detail.events.conversation.{id}.user.start");
    assert_eq!(h.invoke(other_topic).await.unwrap()["status"], "skipped");
    let other_queue = native(
        "user.end",
        ORG,
        json!({"conversationId": CONV_NATIVE, "participantId": participant(9, 2), "queueId": "elsewhere"}),
    );
    assert_eq!(h.invoke(other_queue).await.unwrap()["reason"], "no_rule");
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn the_acw_timeout_code_is_replaced_and_other_codes_are_left_alone() {
    let h = Harness::new().await;
    h.emulator().update_conversation(CONV_NATIVE, |c| {
        c["participants"][1]["wrapup"] =
            json!({"code": "ININ-WRAP-UP-TIMEOUT", "name": "ACW timeout"});
    });
    let event = native(
        "acw",
        ORG,
        json!({
            "conversationId": CONV_NATIVE, "participantId": participant(9, 2), "sessionId": communication(9, 2),
            "mediaType": "VOICE", "queueId": "elsewhere", "wrapupCode": "ININ-WRAP-UP-TIMEOUT"
        }),
    );
    let out = h.invoke(event.clone()).await.unwrap();
    assert_eq!(
        (out["status"].as_str(), out["rule"].as_str()),
        (Some("applied"), Some("replace-acw-timeout"))
    );
    let write = &h.emulator().writes()[0];
    assert_eq!(write.body["code"], CODE_CALLBACK);
    assert_eq!(write.body["tags"], json!(["auto", "acw-timeout"]));
    // The replaced code no longer matches the rule: nothing else is written.
    let out = h.invoke(event).await.unwrap();
    assert_eq!(out["status"], "skipped");
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn customer_end_falls_back_to_the_latest_agent_and_attributes_can_match() {
    let rules = json!([{
        "name": "crm-case-abandoned",
        "match": {"topic": "customer.end", "mediaType": "VOICE", "wrapUpMissing": true,
                  "participantAttributes": {"crmCaseId": ["CASE-1001"]}},
        "wrapUpCode": {"id": CODE_CALLBACK}
    }]);
    let h = Harness::with_env(&[("WRAPUP_RULES", &rules.to_string())]).await;
    h.emulator().update_conversation(CONV_TRANSFER, |c| {
        c["participants"][2]["attributes"] = json!({"crmCaseId": "CASE-1001"});
    });
    let event = native(
        "customer.end",
        ORG,
        json!({
            "conversationId": CONV_TRANSFER, "participantId": participant(6, 1), "sessionId": communication(6, 1),
            "mediaType": "VOICE", "disconnectType": "PEER"
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
    assert_eq!(h.invoke(event).await.unwrap()["status"], "skipped");
}

#[tokio::test]
async fn a_matching_event_on_a_conversation_still_active_is_retried() {
    let h = Harness::new().await;
    let event = native(
        "user.end",
        ORG,
        json!({"conversationId": CONV_ACTIVE, "participantId": participant(4, 2), "queueId": QUEUE_SALES}),
    );
    let t = h.invoke(event).await.unwrap_err();
    assert_eq!(t.kind, TransientKind::NotEnded);
}

#[tokio::test]
async fn with_an_org_map_each_org_has_its_own_client_and_unknown_orgs_are_rejected() {
    let orgs = json!({ORG: GENESYS_SECRET_ID, OTHER_ORG: GENESYS_SECRET_ID}).to_string();
    let h = Harness::with_env(&[("GENESYS_ORG_SECRETS", &orgs)]).await;
    let out = h.invoke(sample("genesys-user-end.json")).await.unwrap();
    assert_eq!(out["status"], "applied");
    let mut request = apply_request(CONV_CALL, CODE_SALE);
    request["orgId"] = json!(OTHER_ORG);
    assert_eq!(h.invoke(request).await.unwrap()["status"], "applied");
    assert_eq!(h.count(Route::Token), 2, "one token per org");

    let before = h.emulator().requests().len();
    let unknown = "00000000-1111-4222-8333-444444444444";
    let out = h
        .invoke(native(
            "user.end",
            unknown,
            json!({"conversationId": CONV_CALL, "queueId": QUEUE_SALES}),
        ))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["reason"].as_str()),
        (Some("rejected"), Some("unknown_org"))
    );
    let mut request = apply_request(CONV_EMAIL, CODE_SALE);
    request["orgId"] = json!(unknown);
    assert_eq!(h.invoke(request).await.unwrap()["reason"], "unknown_org");
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
    let event = native(
        "user.end",
        OTHER_ORG,
        json!({
            "conversationId": CONV_NATIVE, "participantId": participant(9, 2), "queueId": QUEUE_SALES
        }),
    );
    assert_eq!(h.invoke(event).await.unwrap()["status"], "applied");
}

#[tokio::test]
async fn native_events_from_sqs_keep_their_rule_and_trigger() {
    let h = Harness::new().await;
    let response = h
        .invoke(sqs_batch(&[(
            "n",
            sample("genesys-user-end.json").to_string(),
            1,
        )]))
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn an_invalid_rule_set_stops_start_up() {
    let sandbox = genesys_wrapup::sandbox::Sandbox::start().await.unwrap();
    let rules = "[{\"name\": \"a\",\n \"wrapUpCode\": {\"id\": \"nope\"}}]";
    let err = sandbox
        .app(
            &[("WRAPUP_RULES", rules)],
            std::sync::Arc::new(genesys_wrapup::SystemClock),
        )
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("WRAPUP_RULES"), "{err}");
}
