//! The binary under a Lambda Runtime API, as Lambda and the ecosystem's local emulators run it.
//! Lambda sends `Lambda-Runtime-Deadline-Ms` as epoch milliseconds; cargo-lambda's emulator
//! sends a relative budget (`600000`). Both must get the event applied, not "deadline too close".

use crate::common::AWS_TEST_ENV;
use bytes::Bytes;
use genesys_wrapup::sandbox::demo;
use genesys_wrapup::sandbox::emulator::Route;
use genesys_wrapup::sandbox::{
    read_body, secrets_manager, serve_loopback, LoopbackServer, Sandbox,
};
use http_body_util::Full;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

/// Events to hand out, each with the deadline header to send, and what came back.
#[derive(Default)]
struct RuntimeApi {
    events: Mutex<VecDeque<(String, String, Value)>>,
    replies: Mutex<Vec<(String, Value)>>,
}

fn response(status: u16, body: String) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    r
}

async fn runtime_api(api: Arc<RuntimeApi>) -> LoopbackServer {
    serve_loopback(move |req: hyper::Request<hyper::body::Incoming>| {
        let api = api.clone();
        async move {
            let path = req.uri().path().to_owned();
            let body = read_body(req).await;
            if path.ends_with("/invocation/next") {
                loop {
                    let next = api.events.lock().unwrap().pop_front();
                    if let Some((id, deadline, event)) = next {
                        let mut r = response(200, event.to_string());
                        let h = r.headers_mut();
                        h.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
                        h.insert("lambda-runtime-deadline-ms", deadline.parse().unwrap());
                        h.insert(
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:eu-west-1:123456789012:function:wrapup"
                                .parse()
                                .unwrap(),
                        );
                        return Ok(r);
                    }
                    // Nothing left: hold the poll, as the real API does between events.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            let kind = if path.ends_with("/error") {
                "error"
            } else {
                "response"
            };
            let reply = serde_json::from_slice(&body).unwrap_or(Value::Null);
            api.replies.lock().unwrap().push((kind.to_owned(), reply));
            Ok(response(202, "{}".into()))
        }
    })
    .await
    .unwrap()
}

fn request(conversation: &str) -> Value {
    json!({"conversationId": conversation, "wrapUpCode": {"id": demo::CODE_SALE}})
}

#[tokio::test]
async fn epoch_and_relative_deadlines_both_get_the_event_applied() {
    let sandbox = Sandbox::start().await.unwrap();
    let emulator = &sandbox.emulator;
    let secrets = secrets_manager(sandbox.secrets.clone()).await.unwrap();
    let api = Arc::new(RuntimeApi::default());
    let epoch = (SystemTime::now() + Duration::from_secs(30))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    api.events.lock().unwrap().extend([
        (
            "cargo-lambda".to_owned(),
            "600000".to_owned(),
            request(demo::CONV_CALL),
        ),
        ("lambda".to_owned(), epoch, request(demo::CONV_EMAIL)),
        (
            "relative-again".to_owned(),
            "30000".to_owned(),
            request(demo::CONV_MESSAGE),
        ),
    ]);
    let server = runtime_api(api.clone()).await;
    let base = emulator.base_url().to_string();
    let log = std::env::temp_dir().join(format!("gw-runtime-{}.log", uuid::Uuid::new_v4()));
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", server.addr.to_string().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "wrapup"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                &format!("http://{}", secrets.addr),
            ),
            ("GENESYS_SECRET_ID", demo::GENESYS_SECRET_ID),
            ("GENESYS_API_BASE_URL", &base),
            ("GENESYS_LOGIN_BASE_URL", &base),
        ])
        .envs(AWS_TEST_ENV)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the binary starts");
    for _ in 0..600 {
        if api.replies.lock().unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let replies = api.replies.lock().unwrap().clone();
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert_eq!(replies.len(), 3, "{replies:?}\n{logs}");
    for (kind, reply) in &replies {
        assert_eq!(
            (kind.as_str(), reply["status"].as_str()),
            ("response", Some("applied")),
            "{reply}\n{logs}"
        );
    }
    assert_eq!(emulator.count(Route::PostWrapup), 3);
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("not an epoch time"))
        .collect();
    assert_eq!(warnings.len(), 1, "said once per process: {logs}");
}
