//! Secrets from AWS Secrets Manager, cached across warm invocations.
//!
//! Every failure here is transient on purpose: a missing or unreadable secret is a deployment
//! mistake, and returning an error keeps the event for a retry instead of dropping it.

use crate::clock::Clock;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Why a secret could not be had. Each names the secret by id, never its value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// No secret has that id.
    #[error("secret {id} was not found in Secrets Manager")]
    NotFound {
        /// The secret's id or ARN.
        id: String,
    },
    /// The secret exists but is not what was expected (binary, or not the expected JSON).
    #[error("secret {id} could not be read: {reason}")]
    Unreadable {
        /// The secret's id or ARN.
        id: String,
        /// What is wrong with it (field names and positions, never values).
        reason: String,
    },
    /// Secrets Manager (or KMS, or IAM) refused or failed.
    #[error("Secrets Manager is unavailable while reading {id}: {reason}")]
    Unavailable {
        /// The secret's id or ARN.
        id: String,
        /// The service's error code and message.
        reason: String,
    },
}

/// Where secret strings come from: Secrets Manager in Lambda, memory in the sandbox.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// The secret string of `id`.
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError>;
}

pub(crate) struct SecretsManagerStore {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerStore {
    pub(crate) fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
        use aws_sdk_secretsmanager::error::SdkError;
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        match self.client.get_secret_value().secret_id(id).send().await {
            Ok(out) => match out.secret_string {
                Some(s) => Ok(SecretString::from(s)),
                None => Err(SecretError::Unreadable {
                    id: id.to_owned(),
                    reason: "it has no SecretString (binary secrets are not supported)".into(),
                }),
            },
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
            {
                Err(SecretError::NotFound { id: id.to_owned() })
            }
            // The SDK's errors never carry the secret value: only codes, messages and causes.
            Err(e) => Err(SecretError::Unavailable {
                id: id.to_owned(),
                reason: crate::aws_errors::explain(
                    &e,
                    "secretsmanager:GetSecretValue",
                    &format!("secret {id}"),
                ),
            }),
        }
    }
}

struct Cached {
    value: SecretString,
    fetched_at: SystemTime,
}

/// A TTL cache in front of a [`SecretStore`]. One lock per cache keeps concurrent messages of
/// a batch from fetching the same secret twice.
pub(crate) struct SecretCache {
    store: Arc<dyn SecretStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

impl SecretCache {
    pub(crate) fn new(store: Arc<dyn SecretStore>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            store,
            clock,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the cache's lock is free (no fetch holds it).
    #[cfg(test)]
    pub(crate) fn try_lock_for_test(&self) -> bool {
        self.entries.try_lock().is_ok()
    }

    pub(crate) async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        let mut entries = self.entries.lock().await;
        let now = self.clock.now();
        if let Some(c) = entries.get(id) {
            let age = now.duration_since(c.fetched_at).unwrap_or(Duration::ZERO);
            if age < self.ttl {
                return Ok(c.value.clone());
            }
        }
        let value = self.store.fetch(id).await?;
        entries.insert(
            id.to_owned(),
            Cached {
                value: value.clone(),
                fetched_at: now,
            },
        );
        Ok(value)
    }

    /// Reads the JSON secret `id` and hands it to `attempt`. When the attempt finds the value
    /// stale (a rotated client secret or signing key) and the cached copy is at least `min_age`
    /// old, the secret is read once more from the store and the attempt repeated: rotation
    /// needs no restart, and a caller cannot make every request a Secrets Manager read.
    pub(crate) async fn with_rotation<T, R, Fut>(
        &self,
        id: &str,
        min_age: Duration,
        mut attempt: impl FnMut(T) -> Fut,
    ) -> Result<R, SecretError>
    where
        T: for<'de> Deserialize<'de>,
        Fut: std::future::Future<Output = Attempt<R>>,
    {
        match attempt(self.get_json(id).await?).await {
            Attempt::Done(r) => Ok(r),
            Attempt::Stale(r) => {
                if self.age(id).await.is_some_and(|age| age < min_age) {
                    return Ok(r);
                }
                tracing::warn!(
                    secretId = id,
                    "the cached secret looks rotated; reading it again"
                );
                self.entries.lock().await.remove(id);
                Ok(attempt(self.get_json(id).await?).await.into_inner())
            }
        }
    }

    async fn age(&self, id: &str) -> Option<Duration> {
        let entries = self.entries.lock().await;
        entries.get(id).map(|c| {
            self.clock
                .now()
                .duration_since(c.fetched_at)
                .unwrap_or(Duration::ZERO)
        })
    }

    /// Reads and parses a JSON secret.
    pub(crate) async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        id: &str,
    ) -> Result<T, SecretError> {
        let raw = self.get(id).await?;
        serde_json::from_str(raw.expose_secret()).map_err(|e| SecretError::Unreadable {
            id: id.to_owned(),
            // serde_json's message names the field and position, never the value.
            reason: format!(
                "its SecretString is not the expected JSON: {}",
                crate::error::serde_problem(&e)
            ),
        })
    }
}

/// What an attempt with a secret's value found.
pub(crate) enum Attempt<R> {
    Done(R),
    /// The value was refused in a way a rotated secret explains.
    Stale(R),
}

impl<R> Attempt<R> {
    fn into_inner(self) -> R {
        match self {
            Self::Done(r) | Self::Stale(r) => r,
        }
    }
}

/// `{"clientId", "clientSecret", "environment"}` of a Genesys Cloud OAuth client.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenesysCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
    #[serde(default)]
    pub environment: Option<String>,
}

impl std::fmt::Debug for GenesysCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenesysCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("environment", &self.environment)
            .finish()
    }
}

/// `{"signingKey", "previousSigningKey"}`: both accepted, so keys rotate without 401s.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct WebhookKeys {
    /// The current key, used as raw UTF-8 bytes.
    pub signing_key: SecretString,
    /// The key before a rotation, still accepted until it is removed.
    #[serde(default)]
    pub previous_signing_key: Option<SecretString>,
}

impl WebhookKeys {
    /// Every key a signature may be made with: the current, then the previous.
    pub fn all(&self) -> impl Iterator<Item = &SecretString> {
        std::iter::once(&self.signing_key).chain(self.previous_signing_key.iter())
    }
}

impl std::fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookKeys")
            .field("signing_key", &"[REDACTED]")
            .field(
                "previous_signing_key",
                &self.previous_signing_key.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::ManualClock;
    use crate::sandbox::MemorySecretStore;

    fn cache(store: Arc<MemorySecretStore>, clock: Arc<ManualClock>) -> SecretCache {
        SecretCache::new(store, clock, Duration::from_secs(300))
    }

    #[tokio::test]
    async fn cached_until_the_ttl_then_read_again() {
        let store = Arc::new(MemorySecretStore::default());
        store.put("g", r#"{"clientId":"a","clientSecret":"s1"}"#);
        let clock = Arc::new(ManualClock::starting_now());
        let c = cache(store.clone(), clock.clone());
        let first: GenesysCredentials = c.get_json("g").await.unwrap();
        assert_eq!(first.client_secret.expose_secret(), "s1");
        store.put("g", r#"{"clientId":"a","clientSecret":"s2"}"#);
        clock.advance(Duration::from_secs(299));
        let second: GenesysCredentials = c.get_json("g").await.unwrap();
        assert_eq!(second.client_secret.expose_secret(), "s1");
        assert_eq!(store.reads(), 1);
        clock.advance(Duration::from_secs(2));
        let third: GenesysCredentials = c.get_json("g").await.unwrap();
        assert_eq!(third.client_secret.expose_secret(), "s2");
        assert_eq!(store.reads(), 2);
    }

    /// The attempt accepts only `want`, reporting anything else as stale.
    async fn rotation(c: &SecretCache, want: &'static str) -> Result<String, SecretError> {
        c.with_rotation(
            "k",
            Duration::from_secs(30),
            |keys: WebhookKeys| async move {
                let key = keys.signing_key.expose_secret().to_owned();
                if key == want {
                    Attempt::Done(key)
                } else {
                    Attempt::Stale(key)
                }
            },
        )
        .await
    }

    #[tokio::test]
    async fn a_stale_value_is_read_again_once_and_not_more_often_than_min_age() {
        let store = Arc::new(MemorySecretStore::default());
        store.put("k", r#"{"signingKey":"old"}"#);
        let clock = Arc::new(ManualClock::starting_now());
        let c = cache(store.clone(), clock.clone());
        assert_eq!(rotation(&c, "old").await.unwrap(), "old");
        store.put("k", r#"{"signingKey":"new"}"#);
        // Younger than min_age: no second read, however often it is refused.
        assert_eq!(rotation(&c, "new").await.unwrap(), "old");
        assert_eq!(store.reads(), 1);
        clock.advance(Duration::from_secs(30));
        assert_eq!(rotation(&c, "new").await.unwrap(), "new");
        assert_eq!(store.reads(), 2);
        // Still refused after the re-read: one more read only, then the answer stands.
        store.put("k", r#"{"signingKey":"newer"}"#);
        clock.advance(Duration::from_secs(30));
        assert_eq!(rotation(&c, "other").await.unwrap(), "newer");
        assert_eq!(store.reads(), 3);
    }

    #[tokio::test]
    async fn malformed_secret_errors_never_quote_the_value() {
        let store = Arc::new(MemorySecretStore::default());
        store.put("g", r#"{"clientId":"a","clientSecret":12345678}"#);
        store.put("h", r#"{"clientId":"a", "clientSecret": "hunter2""#);
        let c = cache(store, Arc::new(ManualClock::starting_now()));
        let e = c.get_json::<GenesysCredentials>("g").await.unwrap_err();
        assert!(matches!(e, SecretError::Unreadable { .. }));
        assert!(!e.to_string().contains("12345678"), "{e}");
        let e = c.get_json::<GenesysCredentials>("h").await.unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let creds: GenesysCredentials =
            serde_json::from_str(r#"{"clientId":"a","clientSecret":"hunter2"}"#).unwrap();
        let keys: WebhookKeys =
            serde_json::from_str(r#"{"signingKey":"k1","previousSigningKey":"k0"}"#).unwrap();
        let text = format!("{creds:?} {keys:?}");
        assert!(!text.contains("hunter2") && !text.contains("k1\"") && !text.contains("k0"));
        assert!(text.contains("REDACTED"));
    }
}
