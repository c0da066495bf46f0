#![no_main]
//! The webhook request: routing, content type, body decoding and the signature check, on an
//! arbitrary HTTP API event (no network: the check stops before any Genesys call or the keys
//! are the fixed test keys).
use genesys_wrapup::triggers::webhook::inspect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = inspect(&value, b"fuzz-signing-key", 1_764_061_680);
    }
});
