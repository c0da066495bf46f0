//! In-memory Secrets Manager, SQS and Parameter Store for the sandbox and the tests.

use crate::queues::{QueueError, Queues};
use crate::rules::ParameterStore;
use crate::secrets::{SecretError, SecretStore};
use async_trait::async_trait;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Secrets by id; counts reads, so tests can prove the cache works, and fails on demand as
/// Secrets Manager would ([`MemorySecretStore::fail_with`]).
#[derive(Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<String, String>>,
    reads: AtomicUsize,
    failure: Mutex<Option<SecretsFailure>>,
}

/// A Secrets Manager error: its `__type` (e.g. `AccessDeniedException`, `ThrottlingException`,
/// `DecryptionFailure`, `InternalServiceError`) and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretsFailure {
    /// The awsJson1.1 error type.
    pub error_type: &'static str,
    /// The HTTP status it comes with (400 for client errors, 500 for service errors).
    pub status: u16,
}

impl MemorySecretStore {
    /// Sets secret `id` to `value`.
    pub fn put(&self, id: &str, value: impl Into<String>) {
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), value.into());
    }

    /// Deletes secret `id`.
    pub fn remove(&self, id: &str) {
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Every read fails with `failure` from now on (`None`: reads work again).
    pub fn fail_with(&self, failure: Option<SecretsFailure>) {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }

    /// One read, counted: the value, or the failure Secrets Manager would answer.
    pub fn read(&self, id: &str) -> Result<Option<String>, SecretsFailure> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if let Some(failure) = *self.failure.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(failure);
        }
        let secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(secrets.get(id).cloned())
    }

    /// How many times a secret was read (cache misses), in memory or through the loopback
    /// Secrets Manager.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SecretStore for MemorySecretStore {
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
        match self.read(id) {
            Ok(Some(value)) => Ok(SecretString::from(value)),
            Ok(None) => Err(SecretError::NotFound { id: id.to_owned() }),
            Err(failure) => Err(SecretError::Unavailable {
                id: id.to_owned(),
                reason: format!("{}: injected", failure.error_type),
            }),
        }
    }
}

/// What the in-memory queues recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueCall {
    /// `SendMessage`.
    Send {
        /// The queue.
        queue_url: String,
        /// The message body.
        body: String,
        /// The string message attributes.
        attributes: HashMap<String, String>,
    },
    /// `ChangeMessageVisibility`.
    ChangeVisibility {
        /// The queue.
        queue_url: String,
        /// The message's receipt handle.
        receipt_handle: String,
        /// The new visibility timeout.
        seconds: i32,
    },
}

/// Queues that record every call, and fail on demand as an SQS outage would.
#[derive(Default)]
pub struct MemoryQueues {
    calls: Mutex<Vec<QueueCall>>,
    failing: Mutex<bool>,
}

impl MemoryQueues {
    /// Every call, in order.
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

    /// Every call fails from now on (`false`: they work again).
    pub fn set_failing(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = failing;
    }

    fn check_failing(&self, operation: &'static str, queue: &str) -> Result<(), QueueError> {
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
        self.check_failing("SendMessage", queue_url)?;
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
        self.check_failing("ChangeMessageVisibility", queue_url)?;
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

    async fn check(&self, queue_url: &str) -> Result<(), QueueError> {
        self.check_failing("GetQueueAttributes", queue_url)
    }
}

/// Parameter Store in memory, for rules kept there: `put` replaces a parameter, as
/// `put-parameter --overwrite` does.
#[derive(Default)]
pub struct MemoryParameters(Mutex<HashMap<String, String>>);

impl MemoryParameters {
    /// Sets `name` to `value`.
    pub fn put(&self, name: &str, value: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), value.to_owned());
    }
}

#[async_trait]
impl ParameterStore for MemoryParameters {
    async fn get(&self, name: &str) -> Result<String, String> {
        let values = self.0.lock().unwrap_or_else(|p| p.into_inner());
        values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("ParameterNotFound: {name}"))
    }
}
