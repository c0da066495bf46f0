#![no_main]
//! The webhook request: routing, content type, body decoding and the signature check, on an
//! arbitrary HTTP API event, with a fixed key and time (no network), then the apply request.
use genesys_wrapup::{precheck, recognise, signature, ApplyRequest, Envelope, WebhookKeys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Envelope::Http(Ok(request)) = recognise(&value) else {
        return;
    };
    let Ok(body) = precheck(&request) else {
        return;
    };
    let keys: WebhookKeys = serde_json::from_str(r#"{"signingKey": "fuzz-signing-key"}"#).unwrap();
    if signature::verify(&request.headers, &body, &keys, 1_764_061_680).is_ok() {
        let _ = ApplyRequest::from_slice(&body);
    }
});
