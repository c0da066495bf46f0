#![no_main]
//! Envelope recognition: EventBridge (custom and Genesys partner events), bare apply requests,
//! HTTP API requests, and SQS batches whose bodies hold any of these or a Lambda destination
//! record.
use genesys_wrapup::{recognise, Envelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Envelope::SqsBatch(records) = recognise(&value) {
            for record in records {
                if let Some(body) = record.body.as_deref().and_then(|b| serde_json::from_str(b).ok()) {
                    let _ = recognise(&body);
                }
            }
        }
    }
});
