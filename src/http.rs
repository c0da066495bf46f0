//! HTTP plumbing shared by the Genesys client and the New Relic sink: the process's one
//! client, URLs built from segments, and `Retry-After`.

use reqwest::Url;
use std::time::Duration;

/// Longest wait a service may ask for: beyond it (a quota breach that can last hours) the
/// platform's own backoff takes over.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(900);

/// Builds the process's one HTTP client: rustls, connection reuse, and no redirects (a
/// redirect would carry the bearer token somewhere we did not choose).
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("genesys-wrapup/", env!("CARGO_PKG_VERSION")))
        .build()
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
