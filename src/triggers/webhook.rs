//! The signed webhook (Function URL or API Gateway HTTP API, payload 2.0). Every answer is an
//! HTTP response: an `Err` would become a bare 502 at the URL, so transient trouble is a status
//! code with `Retry-After` here, and the caller retries. The body is never parsed before the
//! signature holds.

use super::delivery::{Delivery, Trigger};
use super::signature::{self, SignatureError};
use crate::clock::Clock;
use crate::error::{Transient, TransientKind};
use crate::secrets::{Attempt, SecretCache, WebhookKeys};
use crate::wrapup::{ApplyRequest, CodeRef, Identity, Outcome, Reason, Status};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{header, HeaderValue, Method};
use base64::Engine;
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};

pub(crate) type Response = ApiGatewayV2httpResponse;

const MAX_BODY_BYTES: usize = 64 * 1024;
/// A cached key older than this is re-read once when a signature does not match (rotation).
const KEY_REFRESH_MIN_AGE: Duration = Duration::from_secs(30);
const UPSTREAM_RETRY_AFTER: Duration = Duration::from_secs(30);
const RATE_LIMIT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Route, method, content type and body size: everything that needs neither I/O nor the key.
/// The body is returned as the raw bytes that were signed, unparsed.
pub fn precheck(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, Box<Response>> {
    if !is_served_path(request) {
        return Err(Box::new(error_response(
            404,
            "not_found",
            "this function serves POST / and POST /wrapup",
            None,
        )));
    }
    if request.request_context.http.method != Method::POST {
        let mut r = error_response(405, "method_not_allowed", "use POST", None);
        r.headers
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(Box::new(r));
    }
    if let Some(ct) = request.headers.get(header::CONTENT_TYPE) {
        if !is_json_content_type(ct) {
            return Err(Box::new(error_response(
                415,
                "unsupported_media_type",
                "the body must be application/json",
                None,
            )));
        }
    }
    raw_body(request).map_err(|problem| {
        Box::new(match problem {
            BodyProblem::TooLarge => error_response(
                413,
                "payload_too_large",
                &format!("the body is over {MAX_BODY_BYTES} bytes"),
                None,
            ),
            BodyProblem::BadBase64 => error_response(
                400,
                "invalid_event",
                "the base64-encoded body does not decode",
                None,
            ),
        })
    })
}

/// The signature, against the webhook secret's keys; fails closed without a secret. A mismatch
/// re-reads a cached key at most every 30 s, so a rotated key is picked up without a restart.
pub(crate) async fn authenticate(
    secrets: &SecretCache,
    secret_id: Option<&str>,
    clock: &dyn Clock,
    request: &ApiGatewayV2httpRequest,
    body: &[u8],
) -> Result<(), Box<Response>> {
    let Some(secret_id) = secret_id else {
        return Err(Box::new(error_response(
            503,
            "webhook_not_configured",
            "webhooks are refused until WEBHOOK_SECRET_ID is set",
            None,
        )));
    };
    let now = clock.unix_seconds();
    let verdict = secrets
        .with_rotation(secret_id, KEY_REFRESH_MIN_AGE, |keys: WebhookKeys| {
            let verdict = signature::verify(&request.headers, body, &keys, now);
            std::future::ready(match verdict {
                Err(SignatureError::Mismatch) => Attempt::Stale(verdict),
                _ => Attempt::Done(verdict),
            })
        })
        .await;
    match verdict {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(reason = ?e, "webhook signature refused");
            Err(Box::new(error_response(
                401,
                "invalid_signature",
                &e.to_string(),
                None,
            )))
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook signing key unavailable");
            Err(Box::new(error_response(
                503,
                "upstream_unavailable",
                "the signing key could not be read",
                Some(UPSTREAM_RETRY_AFTER),
            )))
        }
    }
}

/// The verified body as a delivery: known by the sender's `Idempotency-Key` when it sets one
/// (else by the request's canonical form), made when the HTTP request arrived.
pub(crate) fn delivery(request: &ApiGatewayV2httpRequest, body: &[u8]) -> Delivery {
    let delivery = Delivery::apply(
        Trigger::Webhook,
        request.request_context.request_id.clone(),
        ApplyRequest::from_slice(body),
    );
    let delivery = match idempotency_key(request) {
        Some(key) => delivery.known_as(Identity::idempotency_key(key)),
        None => delivery,
    };
    let arrived = u64::try_from(request.request_context.time_epoch)
        .ok()
        .filter(|ms| *ms > 0)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    delivery.sent_at(arrived)
}

/// The sender's `Idempotency-Key` header, when it sets a non-empty one.
pub(crate) fn idempotency_key(request: &ApiGatewayV2httpRequest) -> Option<&str> {
    request
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Enqueue mode: the request was sent to the buffer queue (or could not be).
pub(crate) fn queued(
    request: &ApplyRequest,
    sent: Result<String, impl std::fmt::Display>,
) -> Response {
    let conversation_id = request.conversation_id.hyphenated().to_string();
    match sent {
        Ok(message_id) => {
            tracing::info!(event = "queued", conversationId = %conversation_id, messageId = %message_id, "webhook request queued");
            let mut queued = json!({
                "status": "queued", "conversationId": conversation_id, "messageId": message_id
            });
            match &request.wanted.code {
                CodeRef::Id(id) => queued["wrapUpCodeId"] = json!(id.hyphenated().to_string()),
                CodeRef::Name(name) => queued["wrapUpCodeName"] = json!(name),
                // Which code Copilot predicts is known only once the request is decided.
                CodeRef::Predicted(_) => {}
            }
            json_response(202, &queued, None)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not queue a webhook request");
            error_response(
                503,
                "upstream_unavailable",
                "the request could not be queued",
                Some(UPSTREAM_RETRY_AFTER),
            )
        }
    }
}

/// An event shaped like an HTTP request that is not one: answered as HTTP all the same.
pub(crate) fn invalid(problem: &str) -> Response {
    error_response(400, "invalid_event", problem, None)
}

/// The answer for an outcome, or for trouble the caller should retry.
pub(crate) fn reply(result: &Result<Outcome, Transient>) -> Response {
    match result {
        Ok(outcome) => outcome_response(outcome),
        Err(t) => transient_response(t),
    }
}

/// `/` (Function URL root) and `/wrapup` (the template's route). API Gateway puts a named
/// stage in `rawPath`, so its route key is what counts there.
fn is_served_path(request: &ApiGatewayV2httpRequest) -> bool {
    let served = |p: &str| p == "/" || p == "/wrapup";
    let route_key = request
        .route_key
        .as_deref()
        .or(request.request_context.route_key.as_deref())
        .filter(|k| *k != "$default" && !k.contains('{'));
    if let Some(key) = route_key {
        return served(key.split_once(' ').map_or(key, |(_, path)| path));
    }
    let path = request
        .raw_path
        .as_deref()
        .or(request.request_context.http.path.as_deref())
        .unwrap_or("/");
    let path = match request
        .request_context
        .stage
        .as_deref()
        .filter(|s| *s != "$default")
    {
        Some(stage) => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map(|rest| if rest.is_empty() { "/" } else { rest })
            .unwrap_or(path),
        None => path,
    };
    served(path)
}

fn is_json_content_type(value: &HeaderValue) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    let media = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

enum BodyProblem {
    TooLarge,
    BadBase64,
}

/// The raw bytes that were signed: base64-decoded when the platform encoded them.
fn raw_body(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, BodyProblem> {
    let text = request.body.as_deref().unwrap_or("");
    if !request.is_base64_encoded {
        return if text.len() > MAX_BODY_BYTES {
            Err(BodyProblem::TooLarge)
        } else {
            Ok(text.as_bytes().to_vec())
        };
    }
    // Refuse before decoding anything that cannot decode to 64 KiB or less.
    if text.len() > MAX_BODY_BYTES.div_ceil(3) * 4 + 4 {
        return Err(BodyProblem::TooLarge);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| BodyProblem::BadBase64)?;
    if decoded.len() > MAX_BODY_BYTES {
        return Err(BodyProblem::TooLarge);
    }
    Ok(decoded)
}

fn outcome_response(outcome: &Outcome) -> ApiGatewayV2httpResponse {
    match (outcome.status, outcome.reason) {
        (Status::Rejected, Some(Reason::InvalidEvent)) => error_response(
            400,
            "invalid_event",
            outcome.message.as_deref().unwrap_or(""),
            None,
        ),
        (Status::Rejected, reason) => error_response(
            422,
            reason.map_or("rejected", Reason::as_str),
            outcome.message.as_deref().unwrap_or(""),
            None,
        ),
        _ => json_response(200, outcome, None),
    }
}

fn transient_response(t: &Transient) -> ApiGatewayV2httpResponse {
    match t.kind {
        TransientKind::NotEnded => error_response(
            409,
            "not_ended",
            &t.message,
            t.retry_after.or(Some(UPSTREAM_RETRY_AFTER)),
        ),
        TransientKind::PredictionPending => error_response(
            409,
            "prediction_pending",
            &t.message,
            t.retry_after.or(Some(UPSTREAM_RETRY_AFTER)),
        ),
        TransientKind::InProgress => error_response(
            409,
            "in_progress",
            &t.message,
            t.retry_after.or(Some(UPSTREAM_RETRY_AFTER)),
        ),
        TransientKind::RateLimited => error_response(
            429,
            "rate_limited",
            &t.message,
            t.retry_after.or(Some(RATE_LIMIT_RETRY_AFTER)),
        ),
        TransientKind::Upstream | TransientKind::Credentials | TransientKind::RulesUnavailable => {
            error_response(
                503,
                "upstream_unavailable",
                &t.message,
                t.retry_after.or(Some(UPSTREAM_RETRY_AFTER)),
            )
        }
    }
}

fn error_response(
    status: u16,
    error: &str,
    message: &str,
    retry_after: Option<Duration>,
) -> ApiGatewayV2httpResponse {
    json_response(
        status,
        &json!({"error": error, "message": message}),
        retry_after,
    )
}

fn json_response(
    status: u16,
    body: &impl Serialize,
    retry_after: Option<Duration>,
) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = i64::from(status);
    r.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(wait) = retry_after {
        r.headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
    }
    // Plain data always serialises; the fallback only keeps this panic-free.
    r.body = Some(Body::Text(
        serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()),
    ));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw_path: &str, route_key: &str, stage: &str) -> ApiGatewayV2httpRequest {
        serde_json::from_value(json!({
            "version": "2.0", "routeKey": route_key, "rawPath": raw_path, "rawQueryString": "",
            "headers": {}, "isBase64Encoded": false,
            "requestContext": {"stage": stage, "routeKey": route_key, "http": {"method": "POST", "path": raw_path}}
        }))
        .unwrap()
    }

    #[test]
    fn function_url_paths() {
        assert!(is_served_path(&request("/", "$default", "$default")));
        assert!(is_served_path(&request("/wrapup", "$default", "$default")));
        assert!(!is_served_path(&request("/other", "$default", "$default")));
        assert!(!is_served_path(&request(
            "/wrapup/x",
            "$default",
            "$default"
        )));
    }

    #[test]
    fn api_gateway_routes_match_on_the_route_key_whatever_the_stage() {
        assert!(is_served_path(&request(
            "/prod/wrapup",
            "POST /wrapup",
            "prod"
        )));
        assert!(!is_served_path(&request(
            "/prod/other",
            "POST /other",
            "prod"
        )));
        assert!(is_served_path(&request("/prod/wrapup", "$default", "prod")));
        assert!(!is_served_path(&request(
            "/prod/x",
            "ANY /{proxy+}",
            "prod"
        )));
    }

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/cloudevents+json",
        ] {
            assert!(is_json_content_type(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            assert!(
                !is_json_content_type(&HeaderValue::from_static(bad)),
                "{bad}"
            );
        }
    }
}
