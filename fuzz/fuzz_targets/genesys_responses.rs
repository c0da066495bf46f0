#![no_main]
//! Genesys responses: conversation, wrap-up code, error body and token response, and the
//! decisions taken on a parsed conversation.
use genesys_wrapup::decide::{
    check_division, is_ended, select_target, Conversation, ErrorBody, TokenResponse, WrapupCode,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<ErrorBody>(data);
    let _ = serde_json::from_slice::<TokenResponse>(data);
    if let Ok(conversation) = serde_json::from_slice::<Conversation>(data) {
        let _ = is_ended(&conversation);
        let _ = select_target(&conversation, None, None);
        let code = WrapupCode { id: "c0de0000-0000-4000-8000-000000000001".into(), ..Default::default() };
        let _ = check_division(&conversation, &code);
    }
    if let Ok(code) = serde_json::from_slice::<WrapupCode>(data) {
        let _ = check_division(&Conversation::default(), &code);
    }
});
