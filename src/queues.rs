//! SQS as the function uses it: sending to the attention and buffer queues, and stretching a
//! failed message's visibility timeout to the wait Genesys asked for.

use crate::aws_errors::explain;
use async_trait::async_trait;

/// An SQS call that failed: which, on which queue, and SQS's error code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("SQS {operation} on {queue} failed: {reason}")]
pub struct QueueError {
    /// The API operation, e.g. `SendMessage`.
    pub operation: &'static str,
    /// The queue URL.
    pub queue: String,
    /// SQS's error code and message.
    pub reason: String,
}

/// The queues the function writes to: SQS in Lambda, memory in the sandbox.
#[async_trait]
pub trait Queues: Send + Sync + 'static {
    /// Sends `body` with string message attributes; returns the message id.
    async fn send(
        &self,
        queue_url: &str,
        body: &str,
        attributes: &[(&str, String)],
    ) -> Result<String, QueueError>;
    /// Hides a received message for `seconds` (a failed message's backoff).
    async fn change_visibility(
        &self,
        queue_url: &str,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), QueueError>;
    /// Proves the queue exists and may be used (`GetQueueAttributes`), for `doctor`.
    async fn check(&self, queue_url: &str) -> Result<(), QueueError>;
}

/// SQS through the AWS SDK. The client is built on the first call, not at start-up: most
/// invocations send nothing (the attention queue is for failures), and building an SDK client
/// costs a cold start about a tenth of a millisecond (docs/performance.md, "Start-up").
pub(crate) struct SqsQueues {
    aws: aws_config::SdkConfig,
    client: std::sync::OnceLock<aws_sdk_sqs::Client>,
}

impl SqsQueues {
    /// SQS with the process's SDK configuration.
    pub(crate) fn new(aws: &aws_config::SdkConfig) -> Self {
        Self {
            aws: aws.clone(),
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> &aws_sdk_sqs::Client {
        self.client
            .get_or_init(|| aws_sdk_sqs::Client::new(&self.aws))
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
            .client()
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
            reason: explain(&e, "sqs:SendMessage", queue_url),
        })?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn change_visibility(
        &self,
        queue_url: &str,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), QueueError> {
        self.client()
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
                reason: explain(&e, "sqs:ChangeMessageVisibility", queue_url),
            })
    }

    async fn check(&self, queue_url: &str) -> Result<(), QueueError> {
        self.client()
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError {
                operation: "GetQueueAttributes",
                queue: queue_url.to_owned(),
                reason: explain(&e, "sqs:GetQueueAttributes", queue_url),
            })
    }
}
