//! Hostile input gets a clear answer and nothing else: generated identifiers never reach a URL
//! except as a canonical UUID, and webhook attacks are refused before any upstream call.

use crate::common::*;
use base64::Engine;
use genesys_wrapup::sandbox::demo::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

/// Identifiers an attacker would try: traversal, encodings, query and fragment markers,
/// look-alike characters, other UUID spellings, very long strings, and anything at all.
fn hostile_id() -> impl Strategy<Value = String> {
    let uuid = any::<u128>().prop_map(|n| Uuid::from_u128(n).hyphenated().to_string());
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        (
            uuid.clone(),
            prop::sample::select(vec![
                "../", "/..", "%2e%2e", "%2F", "?x=1", "#frag", "/", "\\", " ", "\u{0430}",
                "\u{2215}", "\0", "%00",
            ])
        )
            .prop_map(|(u, s)| format!("{u}{s}")),
        (
            prop::sample::select(vec!["../", "..%2f", "%2e%2e/", "/api/v2/"]),
            uuid.clone()
        )
            .prop_map(|(p, u)| format!("{p}{u}")),
        uuid.clone().prop_map(|u| u.replace('a', "\u{0430}")),
        uuid.clone().prop_map(|u| format!("{{{u}}}")),
        uuid.clone().prop_map(|u| format!("urn:uuid:{u}")),
        uuid.clone().prop_map(|u| u.replace('-', "")),
        uuid.clone().prop_map(|u| u.to_uppercase()),
        uuid.prop_map(|u| u.repeat(200)),
    ]
}

fn is_canonical_uuid(segment: &str) -> bool {
    Uuid::parse_str(segment).is_ok_and(|u| u.hyphenated().to_string() == segment)
}

/// Every path the client may build, with each id position a canonical UUID.
fn is_allowed_path(path: &str) -> bool {
    let s: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match s.as_slice() {
        ["oauth", "token"] => true,
        ["api", "v2", "conversations", id] => is_canonical_uuid(id),
        ["api", "v2", "routing", "wrapupcodes", id] => is_canonical_uuid(id),
        ["api", "v2", "conversations", media, c, "participants", p, "communications", m, "wrapup"] => {
            [
                "calls",
                "callbacks",
                "emails",
                "messages",
                "socials",
                "videos",
            ]
            .contains(media)
                && [c, p, m].iter().all(|id| is_canonical_uuid(id))
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_url_ever_carries_anything_but_a_canonical_uuid(
        conversation in hostile_id(),
        code in hostile_id(),
        participant in proptest::option::of(hostile_id()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let h = Harness::new().await;
            let mut request = json!({"conversationId": conversation, "wrapUpCode": {"id": code}});
            if let Some(p) = &participant {
                request["participantId"] = json!(p);
            }
            let all_parse = Uuid::parse_str(conversation.trim()).is_ok()
                && Uuid::parse_str(code.trim()).is_ok()
                && participant.as_deref().is_none_or(|p| Uuid::parse_str(p.trim()).is_ok());
            let out = h.invoke(request).await.expect("an outcome, never an error, for an unknown conversation");
            for r in h.emulator().requests() {
                prop_assert!(is_allowed_path(&r.path), "path {:?} from {:?}", r.path, conversation);
            }
            if !all_parse {
                prop_assert_eq!(out["reason"].as_str(), Some("invalid_event"));
                prop_assert!(h.emulator().requests().is_empty());
            }
            Ok(())
        })?;
    }
}

async fn refused(h: &Harness, event: Value) -> (u16, String) {
    let (status, body, _) = http_parts(&h.invoke(event).await.expect("a response"));
    assert!(body["message"].is_string(), "JSON error body: {body}");
    (status, body["error"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn webhook_attacks_are_refused_without_an_upstream_call() {
    let h = Harness::new().await;
    let raw = apply_request(CONV_CALL, CODE_SALE).to_string();

    for method in ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] {
        let mut e = h.webhook(&raw);
        e["requestContext"]["http"]["method"] = json!(method);
        assert_eq!(
            refused(&h, e).await,
            (405, "method_not_allowed".into()),
            "{method}"
        );
    }
    for path in ["/admin", "/wrapup/../admin", "//", "/WRAPUP", "/wrapup?x"] {
        let mut e = h.webhook(&raw);
        e["rawPath"] = json!(path);
        assert_eq!(refused(&h, e).await.0, 404, "{path}");
    }
    // Deeply nested JSON, signed correctly, is an invalid event, not a crash.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        refused(&h, h.webhook(&nested[..60_000])).await,
        (400, "invalid_event".into())
    );
    // Invalid UTF-8 (only possible base64-encoded), signed correctly.
    let bytes = b"{\"conversationId\": \"\xff\xfe\"}";
    let now = h.now();
    let mut e = http_event(
        "POST",
        "/",
        "",
        &[
            ("x-signature-timestamp", &now.to_string()),
            (
                "x-signature-256",
                &genesys_wrapup::signature::sign(SIGNING_KEY.as_bytes(), now, bytes),
            ),
        ],
    );
    e["body"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
    e["isBase64Encoded"] = json!(true);
    assert_eq!(refused(&h, e).await, (400, "invalid_event".into()));
    // Base64 that does not decode.
    let mut e = h.webhook(&raw);
    e["body"] = json!("!!!not base64!!!");
    e["isBase64Encoded"] = json!(true);
    assert_eq!(refused(&h, e).await, (400, "invalid_event".into()));
    assert!(h.emulator().requests().is_empty());
}

#[tokio::test]
async fn header_names_are_case_insensitive() {
    let h = Harness::new().await;
    let raw = apply_request(CONV_CALL, CODE_SALE).to_string();
    let now = h.now();
    let signature = genesys_wrapup::signature::sign(SIGNING_KEY.as_bytes(), now, raw.as_bytes());
    let e = http_event(
        "POST",
        "/",
        &raw,
        &[
            ("Content-Type", "application/json"),
            ("X-Signature-Timestamp", &now.to_string()),
            (
                "X-SIGNATURE-256",
                &signature.to_uppercase().replace("SHA256=", "sha256="),
            ),
        ],
    );
    let (status, body, _) = http_parts(&h.invoke(e).await.unwrap());
    assert_eq!((status, body["status"].as_str()), (200, Some("applied")));
}
