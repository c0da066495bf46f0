//! moto's server for Secrets Manager, SQS, Parameter Store, KMS and DynamoDB on loopback: the one
//! `scripts/test.sh` started (`MOTO_ENDPOINT`), else one started here and stopped on drop.

use std::process::Stdio;
use std::time::Duration;

pub(crate) struct Moto {
    pub endpoint: String,
    child: Option<std::process::Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) async fn moto() -> Moto {
    if let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") {
        return Moto {
            endpoint,
            child: None,
        };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The project's launcher: one request at a time, as DynamoDB's conditional writes are atomic.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto_server.py");
    let child = std::process::Command::new("python3")
        .args([script, "127.0.0.1", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto: run scripts/test.sh, or pip install 'moto[server]'");
    let moto = Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        child: Some(child),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/moto-api/", moto.endpoint))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto's server did not become ready");
}

pub(crate) async fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .http_client(genesys_wrapup::sandbox::aws_http_client())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

pub(crate) async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The messages `queue` hands out now, with their attributes.
pub(crate) async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(queue)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

/// A fresh lease table, as the template creates it (with `ttl`: time to live on `expiresAt`).
pub(crate) async fn create_lock_table(endpoint: &str, ttl: bool) -> String {
    genesys_wrapup::sandbox::create_lock_table(endpoint, ttl)
        .await
        .unwrap()
}

/// Every item of `table`.
pub(crate) async fn lock_items(endpoint: &str, table: &str) -> usize {
    genesys_wrapup::sandbox::dynamodb_client(Some(endpoint))
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .len()
}

/// moto behind a loopback proxy that counts the DynamoDB calls it forwards and, when
/// `lose_first` is given, loses the answer to the first call of that operation (the call
/// happened; the SDK sees a dropped connection and tries again).
pub(crate) async fn dynamodb_proxy(
    moto: &str,
    lose_first: Option<&'static str>,
) -> (
    genesys_wrapup::sandbox::LoopbackServer,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let lost = Arc::new(AtomicUsize::new(0));
    let upstream = moto.to_owned();
    let client = reqwest::Client::new();
    let server = genesys_wrapup::sandbox::serve_loopback(move |req| {
        let (calls, lost, upstream, client) = (
            counted.clone(),
            lost.clone(),
            upstream.clone(),
            client.clone(),
        );
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let headers = req.headers().clone();
            let body = genesys_wrapup::sandbox::read_body(req).await;
            let mut forward = client.post(&upstream).body(body);
            for (name, value) in &headers {
                if name != "host" && name != "content-length" {
                    forward = forward.header(name.as_str(), value.as_bytes());
                }
            }
            let answer = forward.send().await.map_err(std::io::Error::other)?;
            let operation = headers
                .get("x-amz-target")
                .and_then(|t| t.to_str().ok())
                .and_then(|t| t.rsplit('.').next())
                .unwrap_or("");
            if lose_first == Some(operation) && lost.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(std::io::Error::other("answer lost"));
            }
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await.map_err(std::io::Error::other)?;
            let mut response = hyper::Response::new(http_body_util::Full::new(bytes));
            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
            );
            Ok(response)
        }
    })
    .await
    .unwrap();
    (server, calls)
}
