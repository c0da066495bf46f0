#![no_main]
//! Envelope recognition and unwrapping: EventBridge (custom and Genesys partner events), bare
//! apply requests, SQS message bodies and Lambda destination records.
use genesys_wrapup::triggers::{recognise, sqs::unwrap_destination_record, Unit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = recognise(&value);
        let inner = unwrap_destination_record(&value);
        let unit = Unit::from_event(inner);
        let _ = unit.conversation_key();
    }
});
