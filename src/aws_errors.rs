//! What an AWS SDK failure means, in one line with the fix: no credentials, no region, access
//! denied, not found, or the service's own code and message. The SDK's `Display` is a chain of
//! debug dumps; a person at a terminal needs the cause and what to do.

// The SDK crates share these types (from the Smithy runtime); any crate's re-export serves all.
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

/// One line for `e`, a failed `action` (e.g. `lambda:InvokeFunction`) on `resource`.
pub(crate) fn explain<E, R>(e: &SdkError<E, R>, action: &str, resource: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(service) = e.as_service_error() {
        let code = service.code().unwrap_or("Unknown");
        // AWS's own message names the action really refused (often a KMS one behind the
        // service); it never carries a secret value.
        let message = service.message().unwrap_or("no message");
        let lower = code.to_ascii_lowercase();
        let kms = lower.contains("kms") || message.contains("kms:") || message.contains("KMS");
        return if kms {
            format!("the KMS key refused {action} on {resource} ({code}: {message}): grant kms:Decrypt (and kms:GenerateDataKey to write) on the key to these credentials, and let the key policy allow it")
        } else if lower.contains("accessdenied")
            || lower.contains("unauthorized")
            || lower.contains("notauthorized")
        {
            format!("access denied ({code}: {message}): grant {action} on {resource} to these credentials")
        } else if lower.contains("notfound") || lower.contains("nonexistent") {
            format!("{resource} was not found ({code}: {message}): check its name or ARN and the region")
        } else if lower.contains("expiredtoken")
            || lower.contains("invalidclienttokenid")
            || lower.contains("unrecognizedclient")
        {
            format!("the AWS credentials are not valid ({code}): refresh them (aws sso login, a new session)")
        } else {
            format!("{code}: {message}")
        };
    }
    let chain = std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .map(|e| e.to_string().to_ascii_lowercase())
    .collect::<Vec<_>>()
    .join(" / ");
    if chain.contains("credentials") {
        "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them".into()
    } else if chain.contains("region") {
        "no AWS region: set AWS_REGION (e.g. eu-west-1)".into()
    } else if matches!(e, SdkError::TimeoutError(_)) || chain.contains("timed out") {
        format!("no answer from AWS for {action}: check the network path and the region")
    } else {
        let first = chain.split(" / ").last().unwrap_or("unknown error");
        format!("{action} on {resource} failed: {first}")
    }
}
