//! The AWS SDK's HTTP client: every SDK call (Secrets Manager, SQS, Parameter Store, DynamoDB,
//! KMS, Lambda, and the SDK's own credential providers) goes through the process's one reqwest
//! client, with its TLS configuration and connection pool. The SDK is built without its own
//! HTTPS client, so no second TLS stack, pool or certificate loader is in the binary.
//!
//! The SDK keeps what it owns: signing, retries, operation and attempt timeouts. Here: the
//! request and response converted between the two crates' types, the read timeout the SDK asks
//! for, and failures classed as the SDK's retry policy expects (a connection that failed or
//! broke is `io`, a timeout is `timeout`, both retried; a refused certificate is not retried).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::time::Duration;

/// A call with no read timeout of its own (the SDK's default) is bounded by the SDK's operation
/// timeouts; this only stops the process's default request timeout (a Genesys call's budget)
/// from applying to it. Longer than any invocation.
const NO_READ_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The AWS SDK's [`HttpClient`] over the process's reqwest client.
#[derive(Debug, Clone)]
pub(crate) struct SdkHttp {
    http: reqwest::Client,
}

impl SdkHttp {
    pub(crate) fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// As the SDK's configuration takes it.
    pub(crate) fn shared(http: reqwest::Client) -> SharedHttpClient {
        SharedHttpClient::new(Self::new(http))
    }
}

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // A clone of the client shares its pool: nothing to cache per setting.
        SharedHttpConnector::new(Connector {
            http: self.http.clone(),
            read_timeout: settings.read_timeout().unwrap_or(NO_READ_TIMEOUT),
        })
    }
}

#[derive(Debug)]
struct Connector {
    http: reqwest::Client,
    read_timeout: Duration,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (http, timeout) = (self.http.clone(), self.read_timeout);
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?
                .map(|body| match body.bytes() {
                    // Every AWS call this function makes has its body in memory.
                    Some(bytes) => reqwest::Body::from(bytes::Bytes::copy_from_slice(bytes)),
                    None => reqwest::Body::wrap(body),
                });
            let mut request =
                reqwest::Request::try_from(request).map_err(|e| ConnectorError::user(e.into()))?;
            *request.timeout_mut() = Some(timeout);
            let response = http.execute(request).await.map_err(classify)?;
            let response = http::Response::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// A reqwest failure as the SDK's retry policy reads it.
fn classify(e: reqwest::Error) -> ConnectorError {
    if super::roots::tls_failure(&e).is_some() {
        // The same certificate is refused on every attempt: no retry.
        ConnectorError::other(e.into(), None)
    } else if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

/// The AWS SDK's configuration from its own chain (region, credentials, `AWS_ENDPOINT_URL_*`, as
/// the SDK documents them), every call through `http`.
///
/// Where the environment names the region and holds credentials, as Lambda's always does, those
/// are what the chain would pick first (environment variables come first in both), so they are
/// given to it directly: the rest of the chain (profiles, web identity with its STS client,
/// the container and instance metadata clients) is then never built. That is a third of the
/// function's own start-up (docs/performance.md, "Start-up"). Without them, on a laptop with
/// a profile or SSO, the whole chain runs as usual.
pub(crate) async fn sdk_config(http: &reqwest::Client) -> aws_config::SdkConfig {
    let from_env = FromEnvironment::read(|name| std::env::var(name).ok());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(SdkHttp::shared(http.clone()));
    if let Some(region) = from_env.region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if from_env.credentials {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    loader.load().await
}

/// What the SDK's chain would take from the environment before looking anywhere else.
#[derive(Debug, PartialEq, Eq)]
struct FromEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, as the chain's environment provider reads them.
    region: Option<String>,
    /// An access key id and secret key are both set (the session token is optional).
    credentials: bool,
}

impl FromEnvironment {
    fn read(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Self {
            region: set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION")),
            credentials: set("AWS_ACCESS_KEY_ID").is_some()
                && set("AWS_SECRET_ACCESS_KEY").is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FromEnvironment;

    fn read(vars: &[(&str, &str)]) -> FromEnvironment {
        FromEnvironment::read(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn lambdas_environment_is_taken_as_the_chain_would_take_it() {
        let lambda = read(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIA"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        assert_eq!(lambda.region.as_deref(), Some("eu-west-1"));
        assert!(lambda.credentials);
        // AWS_DEFAULT_REGION is the environment provider's second name.
        assert_eq!(
            read(&[("AWS_DEFAULT_REGION", "us-east-2")])
                .region
                .as_deref(),
            Some("us-east-2")
        );
    }

    #[test]
    fn anything_less_leaves_the_whole_chain_to_the_sdk() {
        // A profile or SSO on a laptop: nothing in the environment.
        assert_eq!(
            read(&[]),
            FromEnvironment {
                region: None,
                credentials: false
            }
        );
        // Half a key pair, or empty values, are not credentials.
        assert!(!read(&[("AWS_ACCESS_KEY_ID", "AKIA")]).credentials);
        assert!(
            !read(&[
                ("AWS_ACCESS_KEY_ID", "AKIA"),
                ("AWS_SECRET_ACCESS_KEY", " ")
            ])
            .credentials
        );
        assert_eq!(read(&[("AWS_REGION", "")]).region, None);
    }
}
