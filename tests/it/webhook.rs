//! Every webhook status code of the contract through the real handler.

use crate::common::*;
use base64::Engine;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::signature;
use serde_json::{json, Value};

async fn call(h: &Harness, event: Value) -> (u16, Value, Option<u64>) {
    let response = h
        .invoke(event)
        .await
        .expect("webhooks always answer with a response");
    http_parts(&response)
}

#[tokio::test]
async fn signed_requests_are_applied_then_already_applied() {
    let h = Harness::new().await;
    let (status, out, _) = call(&h, h.webhook(&body(CONV_MESSAGE, CODE_CALLBACK))).await;
    assert_eq!(status, 200);
    assert_eq!(out["status"], "applied");
    assert_eq!(h.emulator().writes()[0].media, "messages");
    // A replay inside the window is harmless: same outcome class, no second write.
    let (status, out, _) = call(&h, h.webhook(&body(CONV_MESSAGE, CODE_CALLBACK))).await;
    assert_eq!(
        (status, out["status"].as_str()),
        (200, Some("already_applied"))
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn base64_bodies_from_function_urls_are_decoded_before_verifying() {
    let h = Harness::new().await;
    let raw = body(CONV_EMAIL, CODE_SALE);
    let mut event = h.webhook(&raw);
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()));
    event["isBase64Encoded"] = json!(true);
    let (status, out, _) = call(&h, event).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("applied")));
}

#[tokio::test]
async fn api_gateway_stage_paths_are_routed_by_route_key() {
    let h = Harness::new().await;
    let mut event = h.webhook(&body(CONV_EMAIL, CODE_SALE));
    event["routeKey"] = json!("POST /wrapup");
    event["rawPath"] = json!("/prod/wrapup");
    event["requestContext"]["routeKey"] = json!("POST /wrapup");
    event["requestContext"]["stage"] = json!("prod");
    assert_eq!(call(&h, event).await.0, 200);
}

#[tokio::test]
async fn signature_failures_are_401_with_no_upstream_call() {
    let h = Harness::new().await;
    let raw = body(CONV_CALL, CODE_SALE);
    let now = h.now();
    let good = signature::sign(SIGNING_KEY.as_bytes(), now, raw.as_bytes());
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("x-signature-timestamp", now.to_string())],
        vec![("x-signature-256", good.clone())],
        vec![
            ("x-signature-timestamp", now.to_string()),
            ("x-signature-256", "sha256=zz".into()),
        ],
        vec![
            ("x-signature-timestamp", now.to_string()),
            (
                "x-signature-256",
                signature::sign(b"wrong-key", now, raw.as_bytes()),
            ),
        ],
        vec![
            ("x-signature-timestamp", (now - 301).to_string()),
            (
                "x-signature-256",
                signature::sign(SIGNING_KEY.as_bytes(), now - 301, raw.as_bytes()),
            ),
        ],
        vec![
            ("x-signature-timestamp", (now + 301).to_string()),
            (
                "x-signature-256",
                signature::sign(SIGNING_KEY.as_bytes(), now + 301, raw.as_bytes()),
            ),
        ],
        vec![
            ("x-signature-timestamp", now.to_string()),
            ("x-signature-256", good[..good.len() - 1].to_owned()),
        ],
    ];
    for headers in cases {
        let mut all = vec![("content-type", "application/json".to_owned())];
        all.extend(headers.iter().cloned());
        let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, out, _) = call(&h, http_event("POST", "/", &raw, &refs)).await;
        assert_eq!(status, 401, "{headers:?}");
        assert_eq!(out["error"], "invalid_signature");
        assert!(out["message"].is_string());
    }
    // Tampered after signing.
    let mut event = h.webhook(&raw);
    event["body"] = json!(body(CONV_CALL, CODE_CALLBACK));
    assert_eq!(call(&h, event).await.0, 401);
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn the_previous_key_is_accepted_during_rotation() {
    let h = Harness::new().await;
    let id = WEBHOOK_SECRET_ID.to_owned();
    h.sandbox.secrets.put(
        &id,
        json!({"signingKey": "new-key", "previousSigningKey": SIGNING_KEY}).to_string(),
    );
    assert_eq!(
        call(&h, h.webhook(&body(CONV_CALL, CODE_SALE))).await.0,
        200
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_without_waiting_for_the_cache() {
    let h = Harness::new().await;
    let id = WEBHOOK_SECRET_ID.to_owned();
    h.sandbox
        .secrets
        .put(&id, json!({"signingKey": "old-key"}).to_string());
    let raw = body(CONV_CALL, CODE_SALE);
    let signed_with = |key: &str| {
        let now = h.now();
        http_event(
            "POST",
            "/",
            &raw,
            &[
                ("x-signature-timestamp", &now.to_string()),
                (
                    "x-signature-256",
                    &signature::sign(key.as_bytes(), now, raw.as_bytes()),
                ),
            ],
        )
    };
    assert_eq!(call(&h, signed_with("old-key")).await.0, 200);
    h.sandbox.secrets.put(
        &id,
        json!({"signingKey": SIGNING_KEY, "previousSigningKey": "old-key"}).to_string(),
    );
    h.clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(call(&h, signed_with(SIGNING_KEY)).await.0, 200);
    assert_eq!(call(&h, signed_with("retired-key")).await.0, 401);
}

#[tokio::test]
async fn paths_methods_types_and_sizes() {
    let h = Harness::new().await;
    let raw = body(CONV_CALL, CODE_SALE);
    let mut other_path = h.webhook(&raw);
    other_path["rawPath"] = json!("/admin");
    let (status, out, _) = call(&h, other_path).await;
    assert_eq!((status, out["error"].as_str()), (404, Some("not_found")));

    let mut get = h.webhook(&raw);
    get["requestContext"]["http"]["method"] = json!("GET");
    let response = h.invoke(get).await.unwrap();
    assert_eq!(response["headers"]["allow"], "POST");
    let (status, out, _) = http_parts(&response);
    assert_eq!(
        (status, out["error"].as_str()),
        (405, Some("method_not_allowed"))
    );

    let mut form = h.webhook(&raw);
    form["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
    let (status, out, _) = call(&h, form).await;
    assert_eq!(
        (status, out["error"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    let mut no_type = h.webhook(&raw);
    no_type["headers"]
        .as_object_mut()
        .unwrap()
        .remove("content-type");
    assert_eq!(
        call(&h, no_type).await.0,
        200,
        "an absent content type is accepted"
    );

    let big = json!({"conversationId": CONV_CALL, "wrapUpCode": {"id": CODE_SALE}, "notes": "x".repeat(64 * 1024)}).to_string();
    let (status, out, _) = call(&h, h.webhook(&big)).await;
    assert_eq!(
        (status, out["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    let mut big64 = h.webhook(&big);
    big64["body"] = json!(base64::engine::general_purpose::STANDARD.encode(big.as_bytes()));
    big64["isBase64Encoded"] = json!(true);
    assert_eq!(call(&h, big64).await.0, 413);

    assert_eq!(
        h.count(Route::GetConversation),
        1,
        "only the one accepted request reached Genesys"
    );
    assert_eq!(h.emulator().writes().len(), 1);
}

#[tokio::test]
async fn bodies_that_are_not_apply_requests_are_400_after_the_signature_holds() {
    let h = Harness::new().await;
    for raw in [
        "{\"conversationId\": \"nope\"}",
        "[]",
        "not json",
        "{\"conversationId\":\"x\",\"conversationId\":\"y\"}",
    ] {
        let (status, out, _) = call(&h, h.webhook(raw)).await;
        assert_eq!(
            (status, out["error"].as_str()),
            (400, Some("invalid_event")),
            "{raw}"
        );
    }
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn rejections_are_422_named_by_reason() {
    let h = Harness::new().await;
    let (status, out, _) = call(&h, h.webhook(&body(CONV_CALL, CODE_SUPPORT))).await;
    assert_eq!(
        (status, out["error"].as_str()),
        (422, Some("division_mismatch"))
    );
    assert!(out["message"].as_str().unwrap().contains(DIVISION_SUPPORT));
    let (status, out, _) = call(
        &h,
        h.webhook(&body("0f0f0f0f-0000-4000-8000-000000000000", CODE_SALE)),
    )
    .await;
    assert_eq!(
        (status, out["error"].as_str()),
        (422, Some("conversation_not_found"))
    );
}

#[tokio::test]
async fn transient_trouble_maps_to_409_429_and_503_with_retry_after() {
    let h = Harness::new().await;
    let (status, out, retry_after) = call(&h, h.webhook(&body(CONV_ACTIVE, CODE_SALE))).await;
    assert_eq!((status, out["error"].as_str()), (409, Some("not_ended")));
    assert!(retry_after.is_some());

    h.emulator().inject(
        Route::GetConversation,
        FaultKind::Status {
            status: 429,
            code: "too.many.requests.retry.after".into(),
            message: "slow down".into(),
            retry_after: Some(120),
        },
        1,
    );
    let (status, out, retry_after) = call(&h, h.webhook(&body(CONV_CALL, CODE_SALE))).await;
    assert_eq!(
        (status, out["error"].as_str(), retry_after),
        (429, Some("rate_limited"), Some(120))
    );

    h.emulator().inject(
        Route::GetConversation,
        FaultKind::Status {
            status: 503,
            code: "service.unavailable".into(),
            message: "down".into(),
            retry_after: None,
        },
        2,
    );
    let (status, out, retry_after) = call(&h, h.webhook(&body(CONV_CALL, CODE_SALE))).await;
    assert_eq!(
        (status, out["error"].as_str()),
        (503, Some("upstream_unavailable"))
    );
    assert!(retry_after.is_some());

    let id = WEBHOOK_SECRET_ID.to_owned();
    h.sandbox.secrets.remove(&id);
    h.clock.advance(std::time::Duration::from_secs(600));
    let (status, out, retry_after) = call(&h, h.webhook(&body(CONV_CALL, CODE_SALE))).await;
    assert_eq!(
        (status, out["error"].as_str()),
        (503, Some("upstream_unavailable"))
    );
    assert!(retry_after.is_some());
}

#[tokio::test]
async fn without_a_webhook_secret_every_request_is_refused() {
    let h = Harness::with_env(&[("WEBHOOK_SECRET_ID", "")]).await;
    let (status, out, _) = call(&h, h.webhook(&body(CONV_CALL, CODE_SALE))).await;
    assert_eq!(
        (status, out["error"].as_str()),
        (503, Some("webhook_not_configured"))
    );
    assert!(h.emulator().requests().is_empty());
}
