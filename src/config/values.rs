//! The values settings are written in, parsed and checked: durations with units, table names,
//! the org map, a Genesys environment and a base URL. Each answers a problem in words; the
//! caller names the setting.

use reqwest::Url;
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

/// A duration as people write it: the largest whole unit.
fn spelled(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A duration with a unit (`90s`, `30m`, `24h`, `7d`; bare digits are seconds), between `min`
/// and `max`.
pub(super) fn parse_duration(raw: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let per_unit = match unit.trim() {
        "" | "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3_600),
        "d" => Some(86_400),
        _ => None,
    };
    let seconds = digits
        .parse::<u64>()
        .ok()
        .zip(per_unit)
        .and_then(|(n, unit)| n.checked_mul(unit));
    match seconds.map(Duration::from_secs) {
        Some(d) if (min..=max).contains(&d) => Ok(d),
        _ => Err(format!(
            "must be a duration from {} to {} such as 90s, 2m or 24h, got {raw:?}",
            spelled(min),
            spelled(max)
        )),
    }
}

/// A DynamoDB table name (3–255 of `a-z A-Z 0-9 _ - .`) or a table ARN.
pub(super) fn validate_table(table: &str) -> Result<(), String> {
    let name = match table.strip_prefix("arn:") {
        Some(_) => table
            .split_once(":table/")
            .filter(|(head, _)| head.contains(":dynamodb:"))
            .map(|(_, name)| name)
            .ok_or("must be a DynamoDB table name or a table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)")?,
        None => table,
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DynamoDB table name (3 to 255 letters, digits, _ - .)"
        ))
    }
}

/// `{"<org uuid>": "<secret id or ARN>", ...}`.
pub(super) fn parse_org_secrets(raw: &str) -> Result<BTreeMap<Uuid, String>, String> {
    let map: BTreeMap<String, String> = serde_json::from_str(raw)
        .map_err(|e| format!("must be a JSON object of org id to secret ARN ({e})"))?;
    map.into_iter()
        .map(|(org, secret)| {
            let id = Uuid::parse_str(&org)
                .map_err(|_| format!("{org:?} is not a Genesys org id (UUID)"))?;
            if secret.trim().is_empty() {
                return Err(format!("org {org} has an empty secret id"));
            }
            Ok((id, secret))
        })
        .collect()
}

/// A Genesys environment is a bare host suffix such as `mypurecloud.ie`; anything else would
/// let configuration steer the client to an arbitrary URL. What people paste is accepted and
/// normalised: an `https://` URL, a trailing `/` or path, an `api.` or `login.` host (the
/// function adds those itself), any case.
pub(crate) fn validate_environment(env: &str) -> Result<String, String> {
    let given = env.trim();
    let host = given
        .strip_prefix("https://")
        .or_else(|| given.strip_prefix("http://"))
        .unwrap_or(given);
    let host = host.split('/').next().unwrap_or_default();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let env = ["api.", "login."]
        .iter()
        .find_map(|p| host.strip_prefix(p))
        .unwrap_or(&host)
        .to_owned();
    let labels_ok = env.split('.').count() >= 2
        && env.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if labels_ok && env.len() <= 253 {
        Ok(env)
    } else {
        Err(format!(
            "must be a Genesys Cloud environment such as mypurecloud.ie (the region's domain, without api.), got {}",
            crate::error::preview(given)
        ))
    }
}

/// Base URLs must be HTTPS; plain HTTP is allowed only for loopback (tests, the sandbox).
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        other => {
            return Err(format!(
                "must use https (http only for loopback hosts), got scheme {other:?}"
            ))
        }
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "must be a scheme and host, optionally with a path, without query or fragment".into(),
        );
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
