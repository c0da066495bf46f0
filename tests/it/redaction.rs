//! No secret, token or signing key in any log line, outcome or error, on success and failure
//! paths alike. Logs are captured exactly as the function writes them (JSON, every level).

use crate::common::*;
use base64::Engine;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::signature;

#[tokio::test]
async fn no_secret_reaches_logs_outcomes_or_errors() {
    let capture = Capture::start();

    const NR_KEY: &str = "nr-license-key-do-not-log-0123456789NRAL";
    let nr = genesys_wrapup::sandbox::newrelic::NewRelicEmulator::start("42", NR_KEY)
        .await
        .unwrap();
    let nr_url = nr.url();
    let nr_url = nr_url.to_string();
    let h = Harness::with_env(&[
        ("NEW_RELIC_ACCOUNT_ID", "42"),
        ("NEW_RELIC_LICENSE_KEY", NR_KEY),
        ("NEW_RELIC_EVENTS_URL", &nr_url),
    ])
    .await;
    nr.fail_next(genesys_wrapup::sandbox::newrelic::NrFault::Status(
        403, None,
    ));
    let mut seen: Vec<String> = Vec::new();
    let mut record = |r: Result<serde_json::Value, genesys_wrapup::Transient>| match r {
        Ok(v) => seen.push(v.to_string()),
        Err(t) => seen.push(format!(
            "{t} {t:?} {:?}",
            lambda_runtime::Diagnostic::from(t.clone())
        )),
    };

    record(h.invoke(apply_request(CONV_CALL, CODE_SALE)).await);
    record(
        h.invoke(h.webhook(&apply_request(CONV_EMAIL, CODE_SALE).to_string()))
            .await,
    );
    h.emulator().revoke_tokens();
    record(h.invoke(apply_request(CONV_MESSAGE, CODE_CALLBACK)).await);
    // A wrong signature and a stale one.
    let body = apply_request(CONV_CALL, CODE_SALE).to_string();
    record(
        h.invoke(http_event(
            "POST",
            "/",
            &body,
            &[
                ("x-signature-timestamp", &h.now().to_string()),
                (
                    "x-signature-256",
                    &signature::sign(b"attacker", h.now(), body.as_bytes()),
                ),
            ],
        ))
        .await,
    );
    // Rotated client secret: 401 invalid_client from the token endpoint, twice.
    h.emulator().revoke_tokens();
    h.emulator().set_client_secret("rotated-client-secret");
    record(h.invoke(apply_request(CONV_TRANSFER, CODE_CALLBACK)).await);
    // Token endpoint throttling and Genesys failures.
    h.emulator().set_client_secret(CLIENT_SECRET);
    h.emulator().inject(
        Route::Token,
        FaultKind::Status {
            status: 400,
            code: "invalid_request".into(),
            message: "rate limit exceeded".into(),
            retry_after: None,
        },
        1,
    );
    record(h.invoke(apply_request(CONV_TRANSFER, CODE_CALLBACK)).await);
    h.emulator().inject(
        Route::PostWrapup,
        FaultKind::Status {
            status: 400,
            code: "bad.request".into(),
            message: "nope".into(),
            retry_after: None,
        },
        1,
    );
    record(h.invoke(apply_request(CONV_TRANSFER, CODE_CALLBACK)).await);
    // Secrets Manager errors: missing and malformed secrets.
    let id = GENESYS_SECRET_ID.to_owned();
    h.sandbox.secrets.put(
        &id,
        format!("{{\"clientId\": \"{CLIENT_ID}\", \"clientSecret\": \"{CLIENT_SECRET}\""),
    );
    h.clock.advance(std::time::Duration::from_secs(3_600));
    h.emulator().revoke_tokens();
    record(h.invoke(apply_request(CONV_DIRECT, CODE_CALLBACK)).await);
    h.sandbox.secrets.remove(&id);
    h.clock.advance(std::time::Duration::from_secs(3_600));
    record(h.invoke(apply_request(CONV_DIRECT, CODE_CALLBACK)).await);

    // Debug of the types that hold secrets.
    let token: genesys_wrapup::decide::TokenResponse =
        serde_json::from_str(r#"{"access_token": "emu-debug-token", "expires_in": 60}"#).unwrap();
    let env = h.sandbox.env(&[
        ("NEW_RELIC_ACCOUNT_ID", "42"),
        ("NEW_RELIC_LICENSE_KEY", NR_KEY),
    ]);
    let settings = genesys_wrapup::Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
    seen.push(format!("{token:?} {settings:?}"));
    assert!(seen.last().unwrap().contains("REDACTED"));

    let logs = capture.text();
    assert!(nr.posts() > 1, "New Relic was called, refusing once");
    assert!(logs.contains("\"outcome\""), "logs were captured");
    assert!(logs.contains("invalid_client"), "the failure paths ran");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let everything = format!("{logs}\n{}", seen.join("\n"));
    for secret in [
        CLIENT_SECRET,
        "rotated-client-secret",
        SIGNING_KEY,
        basic.as_str(),
        "emu-",
        "Bearer ",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret:?} leaked:\n{everything}"
        );
    }
}
