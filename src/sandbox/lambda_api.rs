//! Lambda's Invoke API on loopback (`POST /2015-03-31/functions/{name}/invocations`, with the
//! version or alias in `?Qualifier=` or after the name), running the function's own handler on
//! an app: `RequestResponse` answers with the reply (a function error as Lambda marks one),
//! `Event` answers 202 and runs the event once. It records the qualifier each invocation named:
//! which version Lambda would have run. For `doctor --function` and `redrive --function`,
//! through the AWS SDK and `AWS_ENDPOINT_URL_LAMBDA`.

use super::loopback::{read_body, serve_loopback, LoopbackServer};
use crate::app::App;
use crate::clock::{Deadline, SystemClock};
use crate::handler::{handle, Invocation};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One invocation the API received.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoked {
    /// The function's name (from the path: a name, `NAME:QUALIFIER` or an ARN).
    pub function: String,
    /// The version or alias invoked (`?Qualifier=`, or after the name); `None`: `$LATEST`.
    pub qualifier: Option<String>,
    /// `RequestResponse` or `Event`.
    pub invocation_type: String,
    /// The payload.
    pub payload: Value,
}

/// The Invoke API; it stops when dropped.
pub struct LambdaApi {
    server: LoopbackServer,
    invoked: Arc<Mutex<Vec<Invoked>>>,
}

impl LambdaApi {
    /// Serves function `name` with `app`'s handler; any other name is `ResourceNotFound`.
    pub async fn start(app: Arc<App>, name: &str) -> std::io::Result<Self> {
        let invoked = Arc::new(Mutex::new(Vec::new()));
        let (recorded, name) = (invoked.clone(), name.to_owned());
        let server = serve_loopback(move |req: hyper::Request<hyper::body::Incoming>| {
            let (app, recorded, name) = (app.clone(), recorded.clone(), name.clone());
            async move {
                let path = req.uri().path().to_owned();
                let query = req.uri().query().unwrap_or_default().to_owned();
                let invocation_type = req
                    .headers()
                    .get("x-amz-invocation-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("RequestResponse")
                    .to_owned();
                let payload: Value =
                    serde_json::from_slice(&read_body(req).await).unwrap_or(Value::Null);
                let named = path
                    .strip_prefix("/2015-03-31/functions/")
                    .and_then(|rest| rest.strip_suffix("/invocations"))
                    .unwrap_or_default();
                let named = percent_decode(named);
                let (function, in_name) = split_qualifier(&named);
                let qualifier = url::form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == "Qualifier")
                    .map(|(_, v)| v.into_owned())
                    .or(in_name);
                recorded
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Invoked {
                        function: function.clone(),
                        qualifier,
                        invocation_type: invocation_type.clone(),
                        payload: payload.clone(),
                    });
                if function != name {
                    return Ok(response(
                        404,
                        json!({"Type": "User", "message": format!("Function not found: {function}")}),
                        &[("x-amzn-errortype", "ResourceNotFoundException")],
                    ));
                }
                let inv = Invocation::new(
                    "lambda-api",
                    Deadline::after(&SystemClock, Duration::from_secs(30)),
                );
                let reply = handle(&app, &payload, &inv).await;
                if invocation_type == "Event" {
                    return Ok(response(202, Value::Null, &[]));
                }
                Ok(match reply {
                    Ok(reply) => response(
                        200,
                        serde_json::to_value(reply).unwrap_or(Value::Null),
                        &[],
                    ),
                    Err(t) => {
                        let diagnostic = lambda_runtime::Diagnostic::from(t);
                        response(
                            200,
                            json!({"errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message}),
                            &[("x-amz-function-error", "Unhandled")],
                        )
                    }
                })
            }
        })
        .await?;
        Ok(Self { server, invoked })
    }

    /// `http://host:port`, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Every invocation received, in order.
    pub fn invoked(&self) -> Vec<Invoked> {
        self.invoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// `%3A` and friends back to their characters (the SDK encodes a name's `:` in the path).
fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("n={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The function's name and the qualifier written after it, from a name, `NAME:QUALIFIER`, or a
/// full (`arn:...:function:NAME[:QUALIFIER]`) or partial (`ACCOUNT:function:NAME[:QUALIFIER]`)
/// ARN.
fn split_qualifier(named: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = named.split(':').collect();
    let at = parts
        .iter()
        .position(|p| *p == "function")
        .map_or(0, |i| i + 1);
    let name = parts.get(at).copied().unwrap_or_default().to_owned();
    (name, parts.get(at + 1).map(|q| (*q).to_owned()))
}

fn response(status: u16, body: Value, headers: &[(&str, &str)]) -> hyper::Response<Full<Bytes>> {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut r = hyper::Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            r.headers_mut().insert(name, value);
        }
    }
    r
}
