//! Every Genesys call × every fault, persistent (each call to that endpoint fails), through a
//! one-message SQS batch: the outcome class, the calls made, the writes, the batch response.
//! `cargo test --test fault_matrix -- --nocapture` prints the table kept in docs/reliability.md.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Status(u16),
    RetryAfterShort,
    RetryAfterLong,
    TooMany,
    Timeout,
    Reset,
    Malformed,
}

impl Fault {
    fn name(self) -> String {
        match self {
            Fault::Status(s) => s.to_string(),
            Fault::RetryAfterShort => "429, Retry-After 2".into(),
            Fault::RetryAfterLong => "429, Retry-After 120".into(),
            Fault::TooMany => "429, no Retry-After".into(),
            Fault::Timeout => "read timeout".into(),
            Fault::Reset => "connection reset".into(),
            Fault::Malformed => "malformed JSON".into(),
        }
    }

    fn kind(self, route: Route) -> FaultKind {
        let status = |status: u16, retry_after: Option<u64>| FaultKind::Status {
            status,
            code: if route == Route::Token {
                "invalid_request".into()
            } else {
                "injected.fault".into()
            },
            message: "injected".into(),
            retry_after,
        };
        match self {
            Fault::Status(s) => status(s, None),
            Fault::RetryAfterShort => status(429, Some(2)),
            Fault::RetryAfterLong => status(429, Some(120)),
            Fault::TooMany => status(429, None),
            Fault::Timeout => FaultKind::Hang,
            Fault::Reset => FaultKind::Reset,
            Fault::Malformed => FaultKind::Malformed,
        }
    }
}

const FAULTS: [Fault; 15] = [
    Fault::Status(400),
    Fault::Status(401),
    Fault::Status(403),
    Fault::Status(404),
    Fault::Status(409),
    Fault::RetryAfterShort,
    Fault::RetryAfterLong,
    Fault::TooMany,
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(503),
    Fault::Status(504),
    Fault::Timeout,
    Fault::Reset,
    Fault::Malformed,
];

/// Each call, with the code that makes the request reach it: by id, by name, by a name two
/// codes share (the participant's codes break the tie).
const ROUTES: [(Route, &str, &str); 6] = [
    (Route::Token, "token", CODE_SALE),
    (Route::GetConversation, "read conversation", CODE_SALE),
    (Route::GetWrapupCode, "read code", CODE_SALE),
    (
        Route::ListWrapupCodes,
        "list codes (by name)",
        "Sale completed",
    ),
    (
        Route::ParticipantWrapupCodes,
        "participant's codes (tie)",
        "Escalated",
    ),
    (Route::PostWrapup, "write wrap-up", CODE_SALE),
];

/// What the policy says must happen: (result, calls to the faulty endpoint).
fn expected(route: Route, fault: Fault) -> (&'static str, usize) {
    use Fault::*;
    match (route, fault) {
        // Every token failure is transient; 401 is retried once after re-reading the secret.
        (Route::Token, Status(401)) => ("retry", 2),
        (Route::Token, _) => ("retry", 1),
        // A 401 from the API renews the token and retries once.
        (_, Status(401)) => ("retry", 2),
        (Route::GetConversation, Status(404)) => ("rejected: conversation_not_found", 1),
        (Route::GetWrapupCode, Status(404)) => ("rejected: wrapup_code_not_found", 1),
        (Route::PostWrapup | Route::ListWrapupCodes, Status(404)) => {
            ("rejected: genesys_rejected", 1)
        }
        // A tie the participant's codes cannot break stays a tie.
        (Route::ParticipantWrapupCodes, Status(400 | 403 | 404)) => {
            ("rejected: wrapup_code_ambiguous", 1)
        }
        (_, Status(400)) => ("rejected: genesys_rejected", 1),
        (_, Status(403)) => ("rejected: forbidden", 1),
        // One in-place wait for a short Retry-After (or a second when none is named), none for
        // a long one; a 429 was not processed, so this holds for writes too.
        (_, RetryAfterShort | TooMany) => ("retry", 2),
        (_, RetryAfterLong) => ("retry", 1),
        // The write's answer carries no body: a 200 is success whatever it says.
        (Route::PostWrapup, Malformed) => ("applied", 1),
        // Writes are never retried in place on 409/5xx/reset: the retry re-reads first.
        (Route::PostWrapup, Status(409 | 500..=599) | Reset) => ("retry", 1),
        // Reads get one short in-place retry on 409/5xx and connection failures, not on timeouts.
        (_, Status(409 | 500..=599) | Reset) => ("retry", 2),
        (_, Timeout | Malformed) => ("retry", 1),
        (_, Status(_)) => ("retry", 1),
    }
}

fn request(code: &str) -> serde_json::Value {
    if code.parse::<uuid::Uuid>().is_ok() {
        apply_request(CONV_CALL, code)
    } else {
        serde_json::json!({"conversationId": CONV_CALL, "wrapUpCode": {"name": code}})
    }
}

#[tokio::test]
async fn every_call_times_every_fault() {
    let mut table = vec![
        "| call | fault | result | calls to it | writes | batchItemFailures |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    for (route, route_name, code) in ROUTES {
        for fault in FAULTS {
            let h = Harness::with_env(&[
                ("GENESYS_CALL_TIMEOUT_SECONDS", "1"),
                ("ATTENTION_QUEUE_URL", ATTENTION_QUEUE_URL),
            ])
            .await;
            h.emulator().inject(route, fault.kind(route), 1_000);
            let response = h
                .invoke(sqs_batch(&[("m", request(code).to_string(), 1)]))
                .await
                .expect("a batch always answers");
            let failed = failures(&response);
            let writes = h.emulator().writes().len();
            // Rejections land in the attention queue with their reason.
            let rejections = h.sandbox.queues.sent_to(ATTENTION_QUEUE_URL);
            let result = match (failed.is_empty(), rejections.first()) {
                (false, _) => "retry".to_owned(),
                (true, Some((_, attributes))) => format!("rejected: {}", attributes["reason"]),
                (true, None) => "applied".to_owned(),
            };
            let calls = h.count(route);
            let (want_result, want_calls) = expected(route, fault);
            assert_eq!(
                (result.as_str(), calls),
                (want_result, want_calls),
                "{route_name} × {}",
                fault.name()
            );
            assert_eq!(
                writes,
                0,
                "{route_name} × {}: nothing written",
                fault.name()
            );
            assert_eq!(failed.len(), usize::from(want_result == "retry"));
            table.push(format!(
                "| {route_name} | {} | {result} | {calls} | {writes} | {} |",
                fault.name(),
                if failed.is_empty() {
                    "[]".to_owned()
                } else {
                    "[m]".to_owned()
                }
            ));
        }
    }
    println!("{}", table.join("\n"));
}
