#![no_main]
//! Genesys responses: conversation, wrap-up code, error body and token response, and every
//! decision taken on a parsed conversation: target, ended, codes by name, division,
//! idempotency and overwrite.
use genesys_wrapup::decide::{
    check_division, codes_named, is_already_applied, keep_current, select_target, unended_leg,
    Conversation, ErrorBody, TokenResponse, WrapupCode,
};
use genesys_wrapup::{CodeRef, Overwrite, Wanted};
use libfuzzer_sys::fuzz_target;

const CODE: &str = "c0de0000-0000-4000-8000-000000000001";

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<ErrorBody>(data);
    let _ = serde_json::from_slice::<TokenResponse>(data);
    if let Ok(conversation) = serde_json::from_slice::<Conversation>(data) {
        let code = WrapupCode { id: CODE.into(), name: Some("Sale".into()), ..Default::default() };
        let _ = check_division(&conversation, &code);
        let _ = codes_named(&[code], " sale ", &conversation);
        if let Ok(target) = select_target(&conversation, None, None) {
            let _ = unended_leg(&conversation, &target, false);
            let want = Wanted::new(CodeRef::Name("Sale".into()), Overwrite::System);
            let _ = is_already_applied(&target, CODE.parse().unwrap(), &want);
            let _ = keep_current(&target, Overwrite::Never);
        }
    }
    if let Ok(code) = serde_json::from_slice::<WrapupCode>(data) {
        let _ = check_division(&Conversation::default(), &code);
    }
});
