//! SQS as the function uses it: sending to the attention and buffer queues, and stretching a
//! failed message's visibility timeout to the wait Genesys asked for.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, thiserror::Error)]
#[error("SQS {operation} on {queue} failed: {reason}")]
pub struct QueueError {
    pub operation: &'static str,
    pub queue: String,
    pub reason: String,
}

#[async_trait]
pub trait Queues: Send + Sync + 'static {
    /// Sends `body` with string message attributes; returns the message id.
    async fn send(
        &self,
        queue_url: &str,
        body: &str,
        attributes: &[(&str, String)],
    ) -> Result<String, QueueError>;
    async fn change_visibility(
        &self,
        queue_url: &str,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), QueueError>;
}

pub struct SqsQueues {
    client: aws_sdk_sqs::Client,
}

impl SqsQueues {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self { client }
    }
}

fn sdk_reason<E, R>(e: &aws_sdk_sqs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("Unknown"),
            service.message().unwrap_or("no message")
        ),
        None => format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)),
    }
}

#[async_trait]
impl Queues for SqsQueues {
    async fn send(
        &self,
        queue_url: &str,
        body: &str,
        attributes: &[(&str, String)],
    ) -> Result<String, QueueError> {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let mut request = self
            .client
            .send_message()
            .queue_url(queue_url)
            .message_body(body);
        for (name, value) in attributes.iter().filter(|(_, v)| !v.is_empty()) {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value.chars().take(1_024).collect::<String>())
                .build()
                .map_err(|e| QueueError {
                    operation: "SendMessage",
                    queue: queue_url.to_owned(),
                    reason: e.to_string(),
                })?;
            request = request.message_attributes(*name, attribute);
        }
        let out = request.send().await.map_err(|e| QueueError {
            operation: "SendMessage",
            queue: queue_url.to_owned(),
            reason: sdk_reason(&e),
        })?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn change_visibility(
        &self,
        queue_url: &str,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError {
                operation: "ChangeMessageVisibility",
                queue: queue_url.to_owned(),
                reason: sdk_reason(&e),
            })
    }
}

/// What the memory twin recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueCall {
    Send {
        queue_url: String,
        body: String,
        attributes: HashMap<String, String>,
    },
    ChangeVisibility {
        queue_url: String,
        receipt_handle: String,
        seconds: i32,
    },
}

/// In-memory queues for the sandbox and tests.
#[derive(Default)]
pub struct MemoryQueues {
    calls: Mutex<Vec<QueueCall>>,
    failing: Mutex<bool>,
}

impl MemoryQueues {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn calls(&self) -> Vec<QueueCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Bodies sent to `queue_url`, in order.
    pub fn sent_to(&self, queue_url: &str) -> Vec<(String, HashMap<String, String>)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                QueueCall::Send {
                    queue_url: q,
                    body,
                    attributes,
                } if q == queue_url => Some((body, attributes)),
                _ => None,
            })
            .collect()
    }
    /// Visibility timeouts set, by receipt handle.
    pub fn visibility(&self) -> Vec<(String, i32)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                QueueCall::ChangeVisibility {
                    receipt_handle,
                    seconds,
                    ..
                } => Some((receipt_handle, seconds)),
                _ => None,
            })
            .collect()
    }
    /// Makes every call fail, as an SQS outage would.
    pub fn set_failing(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = failing;
    }
    fn check(&self, operation: &'static str, queue: &str) -> Result<(), QueueError> {
        if *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(QueueError {
                operation,
                queue: queue.to_owned(),
                reason: "ServiceUnavailable: injected".into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Queues for MemoryQueues {
    async fn send(
        &self,
        queue_url: &str,
        body: &str,
        attributes: &[(&str, String)],
    ) -> Result<String, QueueError> {
        self.check("SendMessage", queue_url)?;
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.push(QueueCall::Send {
            queue_url: queue_url.to_owned(),
            body: body.to_owned(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        });
        Ok(format!("memory-{}", calls.len()))
    }

    async fn change_visibility(
        &self,
        queue_url: &str,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), QueueError> {
        self.check("ChangeMessageVisibility", queue_url)?;
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(QueueCall::ChangeVisibility {
                queue_url: queue_url.to_owned(),
                receipt_handle: receipt_handle.to_owned(),
                seconds,
            });
        Ok(())
    }
}

/// `arn:aws:sqs:<region>:<account>:<name>` → the queue URL the SQS API takes.
pub fn queue_url_from_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "sqs", region, account, name] if !name.is_empty() => {
            let domain = match *partition {
                "aws-cn" => "amazonaws.com.cn",
                _ => "amazonaws.com",
            };
            Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_from_arns() {
        assert_eq!(
            queue_url_from_arn("arn:aws:sqs:eu-west-1:123456789012:wrapup-buffer").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/wrapup-buffer")
        );
        assert_eq!(queue_url_from_arn("arn:aws:sns:eu-west-1:1:x"), None);
        assert_eq!(queue_url_from_arn("nonsense"), None);
    }
}
