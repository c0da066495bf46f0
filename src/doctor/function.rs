//! `doctor --function <name>`: the same checks, run inside the deployed function as its own
//! role, through a direct invoke that the handler recognises (`{"doctor": {...}}`). A failure
//! here is one `function` check: the function could not be invoked (the caller's
//! `lambda:InvokeFunction`, the name, the region), failed, or answered something that is no
//! doctor report (another function, or an older version).

use super::report::{Check, Options, Report, State};
use serde_json::json;

/// The checks inside the deployed function, as its role: a direct invoke only. A function that
/// cannot be invoked, or answers no report, is one failed `function` check.
pub(crate) async fn remote(function: &str, options: &Options) -> Report {
    remote_report(function, options)
        .await
        .unwrap_or_else(|problem| {
            Report::new(vec![Check {
                name: "function".into(),
                ok: false,
                state: State::Failed,
                detail: problem,
            }])
        })
}

async fn remote_report(function: &str, options: &Options) -> Result<Report, String> {
    let aws = crate::http::sdk_config_from_env()
        .await
        .map_err(|e| e.to_string())?;
    let payload = serde_json::to_vec(&json!({ "doctor": options }))
        .map_err(|e| format!("could not encode the request: {e}"))?;
    let out = aws_sdk_lambda::Client::new(&aws)
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not invoke {function}: {}",
                crate::aws_errors::explain(
                    &e,
                    "lambda:InvokeFunction",
                    &format!("function {function}")
                )
            )
        })?;
    let body = out.payload.map(|p| p.into_inner()).unwrap_or_default();
    if let Some(error) = out.function_error {
        return Err(format!(
            "the function failed ({error}): {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(500)
                .collect::<String>()
        ));
    }
    serde_json::from_slice(&body).map_err(|e| {
        format!("the function's answer is not a doctor report ({e}): is {function} this function, at this version?")
    })
}
