//! A loopback emulator of New Relic's Event API: checks what the real collector checks (the
//! `Api-Key`, gzip, JSON content type, the 1 MB limit, event types and attribute limits),
//! records accepted events, and fails on demand.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
/// A fault the New Relic emulator answers the next POST with.
pub enum NrFault {
    /// This status, with this `Retry-After` (seconds).
    Status(u16, Option<u64>),
    /// Never answer.
    Hang,
}

#[derive(Default)]
struct State {
    key: String,
    events: Vec<Value>,
    posts: usize,
    problems: Vec<String>,
    faults: VecDeque<NrFault>,
    /// Answer 413 to any POST with more events than this.
    max_events: Option<usize>,
}

/// New Relic's Event API on a loopback port: gzip JSON events, checked and kept; it stops when dropped.
pub struct NewRelicEmulator {
    state: Arc<Mutex<State>>,
    url: reqwest::Url,
    _server: super::loopback::LoopbackServer,
}

impl NewRelicEmulator {
    /// Accepts events for `account_id` sent with `license_key`.
    pub async fn start(account_id: &str, license_key: &str) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State {
            key: license_key.to_owned(),
            ..State::default()
        }));
        let shared = state.clone();
        let server = super::loopback::serve_loopback(move |req| serve(shared.clone(), req)).await?;
        let addr = server.addr;
        let url = reqwest::Url::parse(&format!("http://{addr}/v1/accounts/{account_id}/events"))
            .map_err(std::io::Error::other)?;
        Ok(Self {
            state,
            url,
            _server: server,
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Its events URL, for `NEW_RELIC_EVENTS_URL`.
    pub fn url(&self) -> reqwest::Url {
        self.url.clone()
    }
    /// Every event accepted, in order.
    pub fn events(&self) -> Vec<Value> {
        self.with(|s| s.events.clone())
    }
    /// How many POSTs came.
    pub fn posts(&self) -> usize {
        self.with(|s| s.posts)
    }
    /// Everything the collector would have refused or flagged.
    pub fn problems(&self) -> Vec<String> {
        self.with(|s| s.problems.clone())
    }
    /// Answers the next POST with `fault`.
    pub fn fail_next(&self, fault: NrFault) {
        self.with(|s| s.faults.push_back(fault));
    }
    /// Answers 413 to any POST with more events than `max`.
    pub fn set_max_events_per_post(&self, max: usize) {
        self.with(|s| s.max_events = Some(max));
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let headers = req.headers().clone();
    let body = super::loopback::read_body(req).await;
    let fault = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.posts += 1;
        s.faults.pop_front()
    };
    match fault {
        Some(NrFault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            return Err(std::io::Error::other("hung"));
        }
        Some(NrFault::Status(status, retry_after)) => {
            let mut r = reply(status, "{\"success\":false}");
            if let Some(ra) = retry_after {
                r.headers_mut().insert("retry-after", ra.into());
            }
            return Ok(r);
        }
        None => {}
    }
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    if header("api-key") != s.key {
        return Ok(reply(403, "{\"success\":false,\"error\":\"invalid key\"}"));
    }
    if header("content-type") != "application/json" {
        s.problems
            .push(format!("content-type {:?}", header("content-type")));
    }
    if body.len() > 1_000_000 {
        return Ok(reply(413, "{\"success\":false}"));
    }
    let json = if header("content-encoding") == "gzip" {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .is_err()
        {
            s.problems.push("body is not gzip".into());
            return Ok(reply(400, "{\"success\":false}"));
        }
        out
    } else {
        s.problems.push("body not gzip-encoded".into());
        body.to_vec()
    };
    let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(&json) else {
        s.problems.push("body is not a JSON array".into());
        return Ok(reply(400, "{\"success\":false}"));
    };
    if s.max_events.is_some_and(|max| events.len() > max) {
        return Ok(reply(413, "{\"success\":false}"));
    }
    for event in &events {
        let Some(map) = event.as_object() else {
            s.problems.push("an event is not an object".into());
            continue;
        };
        let event_type = map.get("eventType").and_then(Value::as_str).unwrap_or("");
        if event_type.is_empty()
            || !event_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_')
        {
            s.problems.push(format!("bad eventType {event_type:?}"));
        }
        if map.len() > 254 {
            s.problems.push("more than 254 attributes".into());
        }
        for (k, v) in map {
            match v {
                Value::String(text) if text.chars().count() > 4_096 => {
                    s.problems.push(format!("{k} over 4096 chars"))
                }
                Value::String(_) | Value::Number(_) => {}
                other => s
                    .problems
                    .push(format!("{k} is {other}, not a string or number")),
            }
        }
    }
    s.events.extend(events);
    Ok(reply(
        200,
        "{\"success\":true,\"uuid\":\"00000000-0000-4000-8000-000000000000\"}",
    ))
}

fn reply(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}
