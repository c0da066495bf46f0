//! The attention queue's messages recognised, selected and canonicalised, without AWS.

use super::recognise::*;
use super::*;
use serde_json::json;

fn message(body: Value, attributes: &[(&str, &str)]) -> Message {
    Message {
        id: "m".into(),
        receipt_handle: "r".into(),
        body: body.to_string(),
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        system: BTreeMap::new(),
    }
}

const REQUEST: &str = r#"{"conversationId": "c0000000-0000-4000-8000-000000000001", "wrapUpCode": {"id": "c0de0000-0000-4000-8000-000000000001"}}"#;

#[test]
fn each_kind_is_recognised_and_unwrapped() {
    let request: Value = serde_json::from_str(REQUEST).unwrap();
    let rejection = recognise(&message(
        request.clone(),
        &[
            ("reason", "division_mismatch"),
            ("dryRun", "true"),
            (
                "message",
                "code c0de… is in division Sales, not in the conversation's",
            ),
        ],
    ));
    assert_eq!(
        (rejection.kind, rejection.reason.as_str(), rejection.dry_run),
        (Kind::Rejection, "division_mismatch", true)
    );
    // What a person needs to see: the conversation (from the body when the attributes
    // lack it) and the rejection's own words.
    assert_eq!(
        rejection.conversation_id.as_deref(),
        Some("c0000000-0000-4000-8000-000000000001")
    );
    assert_eq!(
        rejection.message.as_deref(),
        Some("code c0de… is in division Sales, not in the conversation's")
    );
    let record = json!({
        "version": "1.0", "timestamp": "2026-11-25T09:00:00.000Z",
        "requestContext": {"requestId": "x", "functionArn": "arn:aws:lambda:eu-west-1:1:function:f:$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": request,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Transient.not_ended", "errorMessage": "..."}
    });
    let failure = recognise(&message(record, &[]));
    assert_eq!(failure.kind, Kind::LambdaFailure);
    assert_eq!(
        failure.message.as_deref(),
        Some("RetriesExhausted: Transient.not_ended: ...")
    );
    assert_eq!(
        failure.conversation_id.as_deref(),
        Some("c0000000-0000-4000-8000-000000000001")
    );
    assert_eq!(
        serde_json::from_str::<Value>(failure.original.as_deref().unwrap()).unwrap(),
        request
    );
    let dead = recognise(&message(
        request.clone(),
        &[
            ("ERROR_CODE", "SDK_CLIENT_ERROR"),
            ("RULE_ARN", "arn:aws:events:eu-west-1:1:rule/x"),
            ("TARGET_ARN", "arn"),
        ],
    ));
    assert_eq!(
        (dead.kind, dead.reason.as_str()),
        (Kind::EventBridgeDlq, "eventbridge_dlq")
    );
    assert_eq!(dead.message.as_deref(), Some("SDK_CLIENT_ERROR"));
    let moved = recognise(&message(
        request,
        &[("conversationId", "c"), ("trigger", "webhook")],
    ));
    assert_eq!(moved.kind, Kind::BufferDlq);
    let unknown = recognise(&message(json!({"hello": "world"}), &[]));
    assert_eq!((unknown.kind, unknown.original), (Kind::Unknown, None));
}

#[test]
fn an_unqualified_function_goes_through_the_alias_live() {
    let live = |name: &str| Function::new(name).qualifier;
    assert_eq!(live("my-stack-wrapup").as_deref(), Some("live"));
    assert_eq!(
        live("arn:aws:lambda:eu-west-1:123456789012:function:my-stack-wrapup").as_deref(),
        Some("live")
    );
    assert_eq!(
        live("123456789012:function:my-stack-wrapup").as_deref(),
        Some("live")
    );
    for qualified in [
        "my-stack-wrapup:7",
        "my-stack-wrapup:$LATEST",
        "arn:aws:lambda:eu-west-1:123456789012:function:my-stack-wrapup:live",
        "123456789012:function:my-stack-wrapup:blue",
    ] {
        assert_eq!(live(qualified), None, "{qualified} is used as given");
    }
    assert_eq!(
        Function::new("my-stack-wrapup").to_string(),
        "my-stack-wrapup:live"
    );
    assert_eq!(Function::new("f:7").to_string(), "f:7");
}

#[test]
fn a_queue_is_the_same_queue_whichever_way_its_url_is_written() {
    let q = "https://sqs.eu-west-1.amazonaws.com/123456789012/my-attention";
    assert!(same_queue(q, q));
    assert!(same_queue(q, &format!("{q}/")));
    assert!(same_queue(
        q,
        "https://eu-west-1.queue.amazonaws.com/123456789012/my-attention"
    ));
    assert!(same_queue(
        "http://127.0.0.1:5000/123456789012/a",
        "http://127.0.0.1:5000/123456789012/a"
    ));
    assert!(!same_queue(
        q,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/my-buffer"
    ));
    assert!(!same_queue(
        q,
        "https://sqs.us-east-1.amazonaws.com/123456789012/my-attention"
    ));
    assert!(!same_queue(
        "http://127.0.0.1:5000/123456789012/a",
        "http://127.0.0.1:5001/123456789012/a"
    ));
}

#[test]
fn reasons_are_the_ones_the_attention_queue_holds_and_typos_find_theirs() {
    let all = reasons();
    for reason in [
        "forbidden",
        "division_mismatch",
        "genesys_rejected",
        "lambda_failure",
        "buffer_dlq",
    ] {
        assert!(all.contains(&reason), "{reason}");
    }
    // Skipped outcomes never reach the attention queue.
    assert!(!all.contains(&"no_rule") && !all.contains(&"code_present"));
    assert_eq!(closest_reason("forbiden"), Some("forbidden"));
    assert_eq!(
        closest_reason("Division-Mismatch"),
        Some("division_mismatch")
    );
    assert_eq!(closest_reason("lambda_failures"), Some("lambda_failure"));
    assert_eq!(closest_reason("something else entirely"), None);
}

#[test]
fn a_payload_is_recognised_whatever_the_order_of_its_keys() {
    assert_eq!(
        canonical(r#"{"b": 1, "a": {"d": [1, {"f": 2, "e": 3}], "c": null}}"#),
        canonical(r#"{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}"#)
    );
    assert_ne!(canonical(r#"{"a": 1}"#), canonical(r#"{"a": 2}"#));
    assert_eq!(canonical("not json"), "not json");
}
