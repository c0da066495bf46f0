#![no_main]
//! The apply request parser: any bytes give a request or an `invalid_event` reason, never a panic.
use genesys_wrapup::ApplyRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = ApplyRequest::from_slice(data) {
        // Whatever was accepted formats as canonical UUIDs.
        assert_eq!(request.conversation_id().hyphenated().to_string().len(), 36);
    }
});
