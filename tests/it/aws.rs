//! The deployed AWS paths: the real binary reads its secrets from Secrets Manager and uses SQS
//! (moto's server on loopback) through the SDK's own `AWS_ENDPOINT_URL_*` variables, and talks
//! to the Genesys emulator. `scripts/test.sh` starts moto and sets `MOTO_ENDPOINT`; without it this test
//! starts moto's server itself (`scripts/moto_server.py`) and stops it when done.

use crate::common::moto::{create_queue, moto, receive, sqs_client, Moto};
use crate::common::{secrets_manager_failing, AWS_TEST_ENV};
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use genesys_wrapup::sandbox::demo;
use genesys_wrapup::sandbox::emulator::{Emulator, Route};
use genesys_wrapup::signature;
use serde_json::{json, Value};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_genesys-wrapup");

async fn put_secret(sm: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    sm.create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

/// The AWS SDK's own variables pointing at moto, and Genesys's pointing at the emulator.
fn base_env(moto: &Moto, emulator: &Emulator, endpoint_variable: &str) -> Vec<(String, String)> {
    let base = emulator.base_url().to_string();
    [
        ("GENESYS_API_BASE_URL", base.as_str()),
        ("GENESYS_LOGIN_BASE_URL", base.as_str()),
        (endpoint_variable, moto.endpoint.as_str()),
    ]
    .iter()
    .chain(AWS_TEST_ENV.iter())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .http_client(genesys_wrapup::sandbox::aws_http_client())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// A Function URL request for `body`, signed now with `key`.
fn signed_webhook(body: &str, key: &[u8]) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-signature-timestamp": now.to_string(),
                    "x-signature-256": signature::sign(key, now, body.as_bytes())},
        "requestContext": {"http": {"method": "POST", "path": "/"}, "routeKey": "$default", "stage": "$default", "requestId": "r"},
        "body": body, "isBase64Encoded": false
    })
}

struct Run {
    code: i32,
    stdout: Value,
    stderr: String,
}

async fn invoke(event: &Value, env: &[(&str, &str)]) -> Run {
    let dir = std::env::temp_dir().join(format!("gw-moto-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("invoke").arg(&file).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn secrets_come_from_secrets_manager_through_the_sdk_endpoint_variable() {
    let moto = moto().await;
    let sm = client(&moto.endpoint).await;
    let emulator = Emulator::start(demo::org()).await.unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (genesys_id, webhook_id, bad_id) = (
        format!("genesys-{suffix}"),
        format!("webhook-{suffix}"),
        format!("bad-{suffix}"),
    );
    let credentials = json!({"clientId": demo::CLIENT_ID, "clientSecret": demo::CLIENT_SECRET, "environment": "mypurecloud.ie"});
    put_secret(&sm, &genesys_id, &credentials.to_string()).await;
    put_secret(
        &sm,
        &webhook_id,
        &json!({"signingKey": "moto-signing-key"}).to_string(),
    )
    .await;
    put_secret(
        &sm,
        &bad_id,
        r#"{"clientId": "x", "clientSecret": 1234567}"#,
    )
    .await;

    let env = |secret: &str| -> Vec<(String, String)> {
        let mut env = base_env(&moto, &emulator, "AWS_ENDPOINT_URL_SECRETS_MANAGER");
        env.push(("GENESYS_SECRET_ID".into(), secret.into()));
        env.push(("WEBHOOK_SECRET_ID".into(), webhook_id.clone()));
        env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "debug".into()));
        env
    };
    let call = |event: Value, secret: String| {
        let vars = env(&secret);
        async move {
            let borrowed: Vec<(&str, &str)> =
                vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            invoke(&event, &borrowed).await
        }
    };

    let request = json!({"conversationId": demo::CONV_CALL, "wrapUpCode": {"id": demo::CODE_SALE}});
    let ok = call(request.clone(), genesys_id.clone()).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.stdout["status"], "applied");
    assert_eq!(emulator.writes().len(), 1);

    let body = json!({"conversationId": demo::CONV_EMAIL, "wrapUpCode": {"id": demo::CODE_SALE}})
        .to_string();
    let webhook = signed_webhook(&body, b"moto-signing-key");
    let hook = call(webhook, genesys_id.clone()).await;
    assert_eq!(
        (hook.code, hook.stdout["statusCode"].as_u64()),
        (0, Some(200)),
        "{}",
        hook.stderr
    );

    let missing = call(request.clone(), format!("missing-{suffix}")).await;
    assert_ne!(
        missing.code, 0,
        "a missing secret is retried, never dropped"
    );
    assert_eq!(
        missing.stdout["errorType"],
        "Transient.credentials_unavailable"
    );

    let malformed = call(request.clone(), bad_id.clone()).await;
    assert_ne!(malformed.code, 0);
    assert_eq!(
        malformed.stdout["errorType"],
        "Transient.credentials_unavailable"
    );

    for run in [&ok, &hook, &missing, &malformed] {
        for secret in [demo::CLIENT_SECRET, "moto-signing-key", "1234567", "emu-"] {
            assert!(
                !run.stderr.contains(secret),
                "stderr leaks {secret:?}: {}",
                run.stderr
            );
            assert!(
                !run.stdout.to_string().contains(secret),
                "stdout leaks {secret:?}"
            );
        }
    }
    assert_eq!(emulator.count(Route::PostWrapup), 2);
}

#[tokio::test]
async fn sqs_attention_queue_visibility_and_enqueue_work_against_sqs() {
    let moto = moto().await;
    let sm = client(&moto.endpoint).await;
    let sqs = sqs_client(&moto.endpoint).await;
    let emulator = Emulator::start(demo::org()).await.unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let genesys_id = format!("genesys-{suffix}");
    let webhook_id = format!("webhook-{suffix}");
    let credentials = json!({"clientId": demo::CLIENT_ID, "clientSecret": demo::CLIENT_SECRET});
    put_secret(&sm, &genesys_id, &credentials.to_string()).await;
    put_secret(&sm, &webhook_id, &json!({"signingKey": "k"}).to_string()).await;
    let attention = create_queue(&sqs, &format!("attention-{suffix}")).await;
    let buffer = create_queue(&sqs, &format!("buffer-{suffix}")).await;
    let buffer_arn = format!("arn:aws:sqs:us-east-1:123456789012:buffer-{suffix}");

    let mut env = base_env(&moto, &emulator, "AWS_ENDPOINT_URL");
    for (k, v) in [
        ("GENESYS_SECRET_ID", genesys_id.as_str()),
        ("GENESYS_ENVIRONMENT", "mypurecloud.ie"),
        ("WEBHOOK_SECRET_ID", webhook_id.as_str()),
        ("ATTENTION_QUEUE_URL", attention.as_str()),
        ("BUFFER_QUEUE_URL", buffer.as_str()),
        ("WEBHOOK_MODE", "enqueue"),
    ] {
        env.push((k.into(), v.into()));
    }
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // A rejection is recorded in the attention queue with its reason.
    let rejected =
        json!({"conversationId": demo::CONV_CALL, "wrapUpCode": {"id": demo::CODE_SUPPORT}});
    let run = invoke(&rejected, &vars).await;
    assert_eq!(
        (run.code, run.stdout["reason"].as_str()),
        (0, Some("division_mismatch")),
        "{}",
        run.stderr
    );
    let received = receive(&sqs, &attention).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(received[0].body().unwrap()).unwrap(),
        rejected
    );
    let reason = received[0].message_attributes().unwrap()["reason"]
        .string_value()
        .unwrap()
        .to_owned();
    assert_eq!(reason, "division_mismatch");

    // A transient failure stretches the message's visibility timeout through the real API.
    sqs.send_message()
        .queue_url(&buffer)
        .message_body(
            json!({"conversationId": demo::CONV_ACTIVE, "wrapUpCode": {"id": demo::CODE_SALE}})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let message = sqs
        .receive_message()
        .queue_url(&buffer)
        .visibility_timeout(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .remove(0);
    let batch = json!({"Records": [{
        "messageId": message.message_id(), "receiptHandle": message.receipt_handle(), "body": message.body(),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": buffer_arn, "awsRegion": "us-east-1"
    }]});
    let run = invoke(&batch, &vars).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout["batchItemFailures"][0]["itemIdentifier"],
        message.message_id().unwrap()
    );
    assert!(
        !run.stderr.contains("could not set the retry delay"),
        "{}",
        run.stderr
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let again = receive(&sqs, &buffer).await;
    assert!(
        again.is_empty(),
        "the message stays hidden for the 30 s backoff, not the 1 s it was received with"
    );

    // Enqueue mode: the webhook queues the request in the buffer queue and answers 202.
    let body = json!({"conversationId": demo::CONV_EMAIL, "wrapUpCode": {"id": demo::CODE_SALE}})
        .to_string();
    let webhook = signed_webhook(&body, b"k");
    let run = invoke(&webhook, &vars).await;
    assert_eq!(run.stdout["statusCode"], 202, "{}", run.stderr);
    let queued = receive(&sqs, &buffer).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].body(), Some(body.as_str()));
}

#[tokio::test]
async fn wrap_up_rules_come_from_parameter_store() {
    let moto = moto().await;
    let sm = client(&moto.endpoint).await;
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .http_client(genesys_wrapup::sandbox::aws_http_client())
            .endpoint_url(&moto.endpoint)
            .build(),
    );
    let emulator = Emulator::start(demo::org()).await.unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let genesys_id = format!("genesys-{suffix}");
    let credentials = json!({"clientId": demo::CLIENT_ID, "clientSecret": demo::CLIENT_SECRET, "environment": "mypurecloud.ie"});
    put_secret(&sm, &genesys_id, &credentials.to_string()).await;
    let parameter = format!("/genesys-wrapup/{suffix}/rules");
    let rules = json!([{"name": "from-parameter-store", "match": {"topic": "acw"}, "wrapUpCode": {"id": demo::CODE_CALLBACK}}]);
    ssm.put_parameter()
        .name(&parameter)
        .value(rules.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    let mut env = base_env(&moto, &emulator, "AWS_ENDPOINT_URL");
    env.push(("GENESYS_SECRET_ID".into(), genesys_id));
    env.push(("WRAPUP_RULES_PARAMETER".into(), parameter.clone()));
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events/genesys-acw.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let run = invoke(&event, &vars).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        (run.stdout["status"].as_str(), run.stdout["rule"].as_str()),
        (Some("applied"), Some("from-parameter-store"))
    );

    // A missing parameter stops the function at start-up with one clear line.
    let mut env = env.clone();
    env.retain(|(k, _)| k != "WRAPUP_RULES_PARAMETER");
    env.push((
        "WRAPUP_RULES_PARAMETER".into(),
        format!("{parameter}-missing"),
    ));
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = invoke(&event, &vars).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("WRAPUP_RULES_PARAMETER"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn secrets_manager_throttling_and_access_denied_are_transient() {
    let emulator = Emulator::start(demo::org()).await.unwrap();
    let base = emulator.base_url().to_string();
    let request = json!({"conversationId": demo::CONV_CALL, "wrapUpCode": {"id": demo::CODE_SALE}});
    for (error_type, status) in [
        ("ThrottlingException", 400),
        ("AccessDeniedException", 400),
        ("InternalServiceError", 500),
    ] {
        let stub = secrets_manager_failing(error_type, status).await;
        let endpoint = format!("http://{}", stub.addr);
        let vars = [
            ("GENESYS_SECRET_ID", "genesys/wrapup"),
            ("GENESYS_API_BASE_URL", base.as_str()),
            ("GENESYS_LOGIN_BASE_URL", base.as_str()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_MAX_ATTEMPTS", "2"),
        ];
        let run = invoke(&request, &vars).await;
        assert_ne!(run.code, 0, "{error_type}: {}", run.stderr);
        assert_eq!(
            run.stdout["errorType"], "Transient.credentials_unavailable",
            "{error_type}"
        );
        assert!(
            run.stdout["errorMessage"]
                .as_str()
                .unwrap_or("")
                .contains(error_type),
            "{}",
            run.stdout
        );
    }
    assert!(emulator.requests().is_empty());
}
