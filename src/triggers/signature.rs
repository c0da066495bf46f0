//! Webhook signatures: `X-Signature-256: sha256=<hex HMAC-SHA256(key, "<timestamp>.<raw body>")>`
//! with `X-Signature-Timestamp` inside a 300 s window, compared in constant time.

use crate::secrets::WebhookKeys;
use aws_lambda_events::http::HeaderMap;
use hmac::{KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

/// The header with the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// The header with `sha256=<hex HMAC>`.
pub const SIGNATURE_HEADER: &str = "x-signature-256";
/// Largest accepted distance between the signed timestamp and now, either way.
pub const WINDOW_SECONDS: i64 = 300;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a webhook signature is refused (a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is absent.
    #[error("the X-Signature-256 or X-Signature-Timestamp header is missing")]
    Missing,
    /// A header is there twice, or not in its format.
    #[error("the X-Signature-256 or X-Signature-Timestamp header is malformed")]
    Malformed,
    /// Signed more than 300 s before or after now.
    #[error("the signature timestamp is outside the 300 s window")]
    OutsideWindow,
    /// No key makes this signature.
    #[error("the signature does not match")]
    Mismatch,
}

fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, SignatureError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or(SignatureError::Missing)?;
    if values.next().is_some() {
        return Err(SignatureError::Malformed);
    }
    first
        .to_str()
        .map(str::trim)
        .map_err(|_| SignatureError::Malformed)
}

/// Checks the headers against every key (current and previous) before anything reads the body.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    keys: &WebhookKeys,
    now_unix: i64,
) -> Result<(), SignatureError> {
    let timestamp = single_header(headers, TIMESTAMP_HEADER)?;
    let signature = single_header(headers, SIGNATURE_HEADER)?;
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Malformed);
    }
    let ts: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    let hex_part = signature
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("sha256="))
        .and_then(|_| signature.get(7..))
        .ok_or(SignatureError::Malformed)?;
    let given = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    if (now_unix - ts).abs() > WINDOW_SECONDS {
        return Err(SignatureError::OutsideWindow);
    }
    // Every key is tried, so timing does not tell which one matched.
    let mut matched = false;
    for key in keys.all() {
        matched |= mac_for(key.expose_secret().as_bytes(), timestamp, body)
            .verify_slice(&given)
            .is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn mac_for(key: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so the fallback is never used; it keeps this panic-free.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Signature-256` value for `body` signed at `timestamp`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mac = mac_for(key, &timestamp.to_string(), body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Signs an HTTP API event's body again with `key` at `now`, replacing both signature headers
/// (the `sign` command, and the sandbox so its samples never go stale).
pub fn resign_event(event: &mut serde_json::Value, key: &[u8], now: i64) {
    use serde_json::Value;
    let body = event.get("body").and_then(Value::as_str).unwrap_or("");
    let raw = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let value = sign(key, now, &raw);
    if !event.get("headers").is_some_and(Value::is_object) {
        event["headers"] = Value::Object(Default::default());
    }
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.retain(|k, _| {
            !k.eq_ignore_ascii_case(SIGNATURE_HEADER) && !k.eq_ignore_ascii_case(TIMESTAMP_HEADER)
        });
        headers.insert(TIMESTAMP_HEADER.to_owned(), Value::String(now.to_string()));
        headers.insert(SIGNATURE_HEADER.to_owned(), Value::String(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::http::HeaderValue;

    const NOW: i64 = 1_760_000_000;

    fn keys(current: &str, previous: Option<&str>) -> WebhookKeys {
        let json = match previous {
            Some(p) => format!(r#"{{"signingKey":"{current}","previousSigningKey":"{p}"}}"#),
            None => format!(r#"{{"signingKey":"{current}"}}"#),
        };
        serde_json::from_str(&json).unwrap()
    }

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("X-Signature-Timestamp", HeaderValue::from_str(ts).unwrap());
        h.insert("x-SIGNATURE-256", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn a_fresh_signature_verifies_in_either_hex_case() {
        let body = br#"{"a":1}"#;
        let sig = sign(b"k1", NOW, body);
        let k = keys("k1", None);
        assert_eq!(
            verify(&headers(&NOW.to_string(), &sig), body, &k, NOW),
            Ok(())
        );
        let upper = format!("sha256={}", sig[7..].to_uppercase());
        assert_eq!(
            verify(&headers(&NOW.to_string(), &upper), body, &k, NOW),
            Ok(())
        );
    }

    #[test]
    fn tampering_wrong_keys_and_stale_timestamps_fail() {
        let body = br#"{"a":1}"#;
        let sig = sign(b"k1", NOW, body);
        let k = keys("k1", None);
        assert_eq!(
            verify(&headers(&NOW.to_string(), &sig), br#"{"a":2}"#, &k, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &headers(&NOW.to_string(), &sig),
                body,
                &keys("k2", None),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        let old = sign(b"k1", NOW - 301, body);
        assert_eq!(
            verify(&headers(&(NOW - 301).to_string(), &old), body, &k, NOW),
            Err(SignatureError::OutsideWindow)
        );
        let future = sign(b"k1", NOW + 301, body);
        assert_eq!(
            verify(&headers(&(NOW + 301).to_string(), &future), body, &k, NOW),
            Err(SignatureError::OutsideWindow)
        );
        let edge = sign(b"k1", NOW - 300, body);
        assert_eq!(
            verify(&headers(&(NOW - 300).to_string(), &edge), body, &k, NOW),
            Ok(())
        );
        // The timestamp is part of what is signed.
        assert_eq!(
            verify(&headers(&(NOW - 1).to_string(), &sig), body, &k, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn previous_key_is_accepted_during_rotation() {
        let body = b"{}";
        let sig = sign(b"old", NOW, body);
        assert_eq!(
            verify(
                &headers(&NOW.to_string(), &sig),
                body,
                &keys("new", Some("old")),
                NOW
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &headers(&NOW.to_string(), &sig),
                body,
                &keys("new", Some("older")),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers() {
        let k = keys("k1", None);
        assert_eq!(
            verify(&HeaderMap::new(), b"", &k, NOW),
            Err(SignatureError::Missing)
        );
        let good = sign(b"k1", NOW, b"");
        for (ts, sig) in [
            ("abc", good.as_str()),
            ("-5", good.as_str()),
            ("1760000000", "sha1=00"),
            ("1760000000", "sha256=zz"),
            ("1760000000", "sha256=abcd"),
            ("1760000000", &good[..good.len() - 2]),
            ("1760000000", "sha256"),
        ] {
            assert_eq!(
                verify(&headers(ts, sig), b"", &k, NOW),
                Err(SignatureError::Malformed),
                "{ts} {sig}"
            );
        }
        let mut twice = headers(&NOW.to_string(), &good);
        twice.append("x-signature-256", HeaderValue::from_str(&good).unwrap());
        assert_eq!(verify(&twice, b"", &k, NOW), Err(SignatureError::Malformed));
    }
}
