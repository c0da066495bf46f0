//! HTTP plumbing shared by the Genesys client, the New Relic sink and the AWS SDK: the
//! process's one client, URLs built from segments, and `Retry-After`. Imports run down this list:
//!
//! - `aws.rs`: the AWS SDK's HTTP client, over the same reqwest client, so every AWS call shares
//!   its TLS configuration and connection pool;
//! - `roots.rs`: the one TLS configuration and the certificates it trusts (`WRAPUP_TLS_ROOTS`):
//!   Mozilla's, compiled in, or the OS bundle, read once.

mod aws;
mod roots;

pub(crate) use aws::sdk_config;
#[cfg(feature = "sandbox")]
pub(crate) use aws::SdkHttp;
pub(crate) use roots::tls_failure;

use crate::config::{ConfigError, TlsRoots};
use reqwest::Url;
use std::time::Duration;

/// Longest wait a service may ask for: beyond it (a quota breach that can last hours) the
/// platform's own backoff takes over.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(900);

/// Why the process's HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// The roots `WRAPUP_TLS_ROOTS` names could not be read.
    #[error(transparent)]
    Roots(#[from] ConfigError),
    /// reqwest refused the configuration.
    #[error("could not build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
}

/// Builds the process's one HTTP client, for Genesys, New Relic and (through [`SdkHttp`]) every
/// AWS SDK client: rustls with the one TLS configuration of `roots` (built once per process),
/// connection reuse, and no redirects (a redirect would carry the bearer token somewhere we did
/// not choose).
pub(crate) fn client(timeout: Duration, roots: &TlsRoots) -> Result<reqwest::Client, ClientError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(roots::tls_config(roots)?)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("genesys-wrapup/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The AWS SDK's configuration for a command run outside the function (`redrive`, `rules check`,
/// `doctor`'s own AWS checks): the SDK's chain, on a client of its own with the roots
/// `WRAPUP_TLS_ROOTS` names (the same configuration, when the process already built one).
pub(crate) async fn sdk_config_from_env() -> Result<aws_config::SdkConfig, ClientError> {
    let roots = TlsRoots::from_lookup(|name| std::env::var(name).ok())?;
    Ok(sdk_config(&client(Duration::from_secs(3), &roots)?).await)
}

/// Appends path segments to a base that may itself have a path; each segment is encoded, and
/// ids come from parsed UUIDs, so nothing from the input can change the path's shape.
pub(crate) fn build_url(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// `Retry-After` in seconds (Genesys sends seconds; an HTTP date is treated as unknown).
pub(crate) fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_base_path_and_encode_segments() {
        let base = Url::parse("https://api.mypurecloud.ie").unwrap();
        assert_eq!(
            build_url(&base, &["api", "v2", "x"]).as_str(),
            "https://api.mypurecloud.ie/api/v2/x"
        );
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            build_url(&base, &["api", "v2"]).as_str(),
            "http://127.0.0.1:9/prefix/api/v2"
        );
        let evil = build_url(&base, &["../../x?y#z"]);
        assert_eq!(evil.path(), "/prefix/..%2F..%2Fx%3Fy%23z");
        assert!(evil.query().is_none() && evil.fragment().is_none());
    }

    #[test]
    fn retry_after_is_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h), None);
    }
}
