//! The OAuth client-credentials token: cached until shortly before it expires, shared by every
//! message of a batch, renewed after a 401, and fetched again with a re-read secret when the
//! login host refuses the client (a rotated client secret).

use super::calls::CallStats;
use super::error::{Endpoint, ErrorClass, GenesysError};
use super::models::{TokenErrorBody, TokenResponse};
use super::transport::{call_budget, header, transport_error, Shared, CORRELATION_HEADER};
use crate::clock::{Clock, Deadline};
use crate::config::{validate_environment, GenesysConfig};
use crate::error::TransientKind;
use crate::http::{build_url, parse_retry_after, MAX_RETRY_AFTER};
use crate::secrets::{Attempt, GenesysCredentials, SecretCache};
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Tokens are renewed this long before Genesys says they expire.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Genesys's default token lifetime, when the response does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(86_400);
/// The wait after a throttled token request whose message names none.
const THROTTLED_WAIT: Duration = Duration::from_secs(60);

/// One OAuth client's token: a part of its [`GenesysClient`](super::GenesysClient), which
/// asks it for a [`Bearer`] before every call and tells it when Genesys refused one.
pub(super) struct Tokens {
    http: reqwest::Client,
    secrets: Arc<SecretCache>,
    clock: Arc<dyn Clock>,
    stats: Arc<CallStats>,
    /// The secret holding the client id and secret (and, optionally, the environment).
    secret_id: String,
    config: Arc<GenesysConfig>,
    slot: tokio::sync::Mutex<Option<CachedToken>>,
    /// Numbers each token, so a 401 drops only the token it came back for.
    generation: AtomicU64,
}

struct CachedToken {
    /// `Bearer <token>`, built once per token and marked sensitive (never printed by `Debug`).
    authorization: HeaderValue,
    expires_at: SystemTime,
    api_base: Url,
    generation: u64,
}

/// What a call needs from the token: the header, where to send it, and which token it was.
pub(super) struct Bearer {
    pub(super) authorization: HeaderValue,
    pub(super) api_base: Url,
    pub(super) generation: u64,
}

impl Tokens {
    pub(super) fn new(shared: &Shared, secret_id: String, config: Arc<GenesysConfig>) -> Self {
        Self {
            http: shared.http.clone(),
            secrets: shared.secrets.clone(),
            clock: shared.clock.clone(),
            stats: shared.stats.clone(),
            secret_id,
            config,
            slot: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// A valid bearer token, from cache or the token endpoint. The lock makes concurrent
    /// messages share one token request.
    pub(super) async fn bearer(&self, deadline: Deadline) -> Result<Bearer, GenesysError> {
        let mut slot = self.slot.lock().await;
        let fresh = match slot.take() {
            Some(t) if self.clock.now() + TOKEN_EXPIRY_MARGIN < t.expires_at => t,
            _ => self.fetch_token(deadline).await?,
        };
        let bearer = Bearer {
            authorization: fresh.authorization.clone(),
            api_base: fresh.api_base.clone(),
            generation: fresh.generation,
        };
        *slot = Some(fresh);
        Ok(bearer)
    }

    /// Forgets the token a 401 came back for, unless another message already replaced it.
    pub(super) async fn drop(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| t.generation == generation) {
            *slot = None;
        }
    }

    async fn fetch_token(&self, deadline: Deadline) -> Result<CachedToken, GenesysError> {
        let attempt = |creds: GenesysCredentials| async move {
            match self.request_token(&creds, deadline).await {
                Err(e) if e.status == Some(401) || e.code.as_deref() == Some("invalid_client") => {
                    tracing::warn!(
                        status = e.status,
                        error = e.code.as_deref(),
                        "the token endpoint refused the client credentials"
                    );
                    Attempt::Stale(Err(e))
                }
                other => Attempt::Done(other),
            }
        };
        // A refused client secret is re-read at once: a rotation must not wait for the TTL.
        self.secrets
            .with_rotation(&self.secret_id, Duration::ZERO, attempt)
            .await
            .map_err(|e| {
                GenesysError::transient(Endpoint::Token, TransientKind::Credentials, e.to_string())
            })?
    }

    async fn request_token(
        &self,
        creds: &GenesysCredentials,
        deadline: Deadline,
    ) -> Result<CachedToken, GenesysError> {
        let (api_base, login_base) = self.endpoints(creds)?;
        let budget = call_budget(
            self.clock.as_ref(),
            self.config.call_timeout,
            Endpoint::Token,
            deadline,
        )?;
        let sent = self
            .http
            .post(build_url(&login_base, &["oauth", "token"]))
            .basic_auth(&creds.client_id, Some(creds.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .timeout(budget)
            .send()
            .await;
        let response = sent.map_err(|e| {
            self.stats.call(Endpoint::Token.as_str(), 0);
            credentials_error(transport_error(Endpoint::Token, &e, false))
        })?;
        let status = response.status();
        self.stats.call(Endpoint::Token.as_str(), status.as_u16());
        let correlation_id = header(&response, CORRELATION_HEADER);
        let retry_after = parse_retry_after(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| credentials_error(transport_error(Endpoint::Token, &e, false)))?;
        if !status.is_success() {
            let mut err = token_error(status, &bytes, retry_after);
            err.correlation_id = correlation_id;
            return Err(err);
        }
        let token: TokenResponse = serde_json::from_slice(&bytes).map_err(|_| {
            GenesysError::transient(
                Endpoint::Token,
                TransientKind::Credentials,
                "the token response is not the expected JSON",
            )
        })?;
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {}", token.access_token.expose_secret()))
                .map_err(|_| {
                    GenesysError::transient(
                        Endpoint::Token,
                        TransientKind::Credentials,
                        "the access token holds characters an HTTP header cannot carry",
                    )
                })?;
        authorization.set_sensitive(true);
        let lifetime = token
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Ok(CachedToken {
            authorization,
            expires_at: self.clock.now() + lifetime,
            api_base,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    /// The API and login base URLs: the configured overrides, else from the environment.
    fn endpoints(&self, creds: &GenesysCredentials) -> Result<(Url, Url), GenesysError> {
        let problem = |message: String| {
            GenesysError::transient(Endpoint::Token, TransientKind::Credentials, message)
        };
        let environment = creds
            .environment
            .as_deref()
            .map(validate_environment)
            .transpose()
            .map_err(|p| problem(format!("the secret's environment {p}")))?
            .or_else(|| self.config.environment.clone());
        let from_env = |prefix: &str| -> Result<Url, GenesysError> {
            let env = environment.as_deref().ok_or_else(|| {
                problem("no Genesys environment: set \"environment\" in the secret or GENESYS_ENVIRONMENT".into())
            })?;
            Url::parse(&format!("https://{prefix}.{env}"))
                .map_err(|e| problem(format!("bad environment: {e}")))
        };
        let api = match &self.config.api_base_url {
            Some(u) => u.clone(),
            None => from_env("api")?,
        };
        let login = match &self.config.login_base_url {
            Some(u) => u.clone(),
            None => from_env("login")?,
        };
        Ok((api, login))
    }
}

/// Every failure of the token endpoint is transient: the event waits for a fixed deployment.
/// Its throttling is a 400 `invalid_request` "rate limit exceeded" (never a 429): that is
/// `rate_limited`, with the wait the message names (else a minute), not bad credentials.
fn token_error(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> GenesysError {
    let body: TokenErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let error = body.error.unwrap_or_else(|| "unknown_error".into());
    let description = body
        .error_description
        .or(body.description)
        .unwrap_or_default();
    let throttled = status == StatusCode::TOO_MANY_REQUESTS
        || description.to_ascii_lowercase().contains("rate limit");
    let (kind, wait) = if throttled {
        let named = first_number(&description).map(Duration::from_secs);
        let wait = retry_after.or(named).unwrap_or(THROTTLED_WAIT);
        (TransientKind::RateLimited, Some(wait.min(MAX_RETRY_AFTER)))
    } else {
        (TransientKind::Credentials, retry_after)
    };
    let message = format!(
        "token endpoint answered {}: {error} {description}",
        status.as_u16()
    );
    let mut err = GenesysError::transient(
        Endpoint::Token,
        kind,
        message.trim_end().chars().take(500).collect::<String>(),
    );
    err.status = Some(status.as_u16());
    err.code = Some(error);
    err.retry_after = wait;
    err
}

/// The first whole number in `text` ("rate limit exceeded; retry after 37 seconds" → 37).
fn first_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|part| !part.is_empty())
        .and_then(|n| n.parse().ok())
}

fn credentials_error(mut e: GenesysError) -> GenesysError {
    e.class = ErrorClass::Transient(TransientKind::Credentials);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str, retry_after: Option<u64>) -> GenesysError {
        token_error(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            retry_after.map(Duration::from_secs),
        )
    }

    #[test]
    fn token_throttling_is_rate_limited_with_a_wait_and_bad_clients_are_credentials() {
        let e = classify(
            400,
            r#"{"error":"invalid_request","description":"rate limit exceeded; retry after 37 seconds"}"#,
            None,
        );
        assert_eq!(e.class, ErrorClass::Transient(TransientKind::RateLimited));
        assert_eq!(e.retry_after, Some(Duration::from_secs(37)));
        let e = classify(
            400,
            r#"{"error":"invalid_request","error_description":"Rate limit exceeded"}"#,
            None,
        );
        assert_eq!(e.retry_after, Some(THROTTLED_WAIT));
        let e = classify(
            400,
            r#"{"error":"invalid_request","description":"rate limit exceeded; wait 86400 s"}"#,
            None,
        );
        assert_eq!(e.retry_after, Some(MAX_RETRY_AFTER), "capped");
        let e = classify(
            400,
            r#"{"error":"invalid_client","description":"authentication failed"}"#,
            None,
        );
        assert_eq!(e.class, ErrorClass::Transient(TransientKind::Credentials));
        let e = classify(
            400,
            r#"{"error":"invalid_request","description":"grant_type missing"}"#,
            None,
        );
        assert_eq!(e.class, ErrorClass::Transient(TransientKind::Credentials));
        assert_eq!(first_number("no digits"), None);
    }
}
