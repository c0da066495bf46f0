//! An in-process, stateful Genesys Cloud emulator on loopback: the login and API paths this
//! function calls, with the platform's shapes, a request log and fault injection. It serves
//! `invoke --sandbox`, the tests and the benches.

use crate::clock::Clock;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Which emulated call a request was, for the log and for fault rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /oauth/token`.
    Token,
    /// `GET /api/v2/tokens/me`.
    TokenInfo,
    /// `GET /api/v2/conversations/{id}`.
    GetConversation,
    /// `GET /api/v2/routing/wrapupcodes/{id}`.
    GetWrapupCode,
    /// `GET /api/v2/routing/wrapupcodes`.
    ListWrapupCodes,
    /// `GET .../participants/{pid}/wrapupcodes`.
    ParticipantWrapupCodes,
    /// `GET /api/v2/routing/queues/{id}/wrapupcodes`.
    QueueWrapupCodes,
    /// `POST .../communications/{cid}/wrapup`.
    PostWrapup,
    /// `GET /api/v2/conversations/{id}/summaries`: Copilot's summaries and predicted codes.
    GetSummaries,
    /// `GET /api/v2/assistants` and `GET /api/v2/assistants/{id}/copilot`.
    Assistants,
    /// Any other path (answered 404).
    Other,
}

#[derive(Debug, Clone, PartialEq)]
/// A fault the emulator answers with, instead of the real answer.
pub enum FaultKind {
    /// Answer with this status and a Genesys `ErrorBody` (token route: an OAuth error body).
    Status {
        /// The HTTP status.
        status: u16,
        /// Genesys's error `code`.
        code: String,
        /// Genesys's error `message`.
        message: String,
        /// The `Retry-After` header, in seconds.
        retry_after: Option<u64>,
    },
    /// Never answer (the client's timeout fires).
    Hang,
    /// Close the connection without answering.
    Reset,
    /// 200 with a body that is not JSON.
    Malformed,
    /// Apply the write, then answer with this status: the client cannot know it worked.
    ApplyThenStatus(u16),
    /// Apply the write, then close the connection.
    ApplyThenReset,
}

#[derive(Debug, Clone)]
struct FaultRule {
    route: Route,
    kind: FaultKind,
    remaining: usize,
}

#[derive(Debug, Clone, PartialEq)]
/// One request the emulator received.
pub struct LoggedRequest {
    /// Which call it was.
    pub route: Route,
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq)]
/// One wrap-up the emulator applied.
pub struct LoggedWrite {
    /// The media segment of the path (`calls`, `emails`, ...).
    pub media: String,
    /// The conversation.
    pub conversation_id: String,
    /// The participant.
    pub participant_id: String,
    /// The communication.
    pub communication_id: String,
    /// The `WrapupInput` body.
    pub body: Value,
}

/// The emulated org: data and behaviour switches.
#[derive(Debug, Clone, Default)]
pub struct OrgData {
    /// The org's id (`GET /api/v2/tokens/me`).
    pub org_id: String,
    /// The org's name.
    pub org_name: String,
    /// The one OAuth client id accepted.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Conversations by id, as `GET /api/v2/conversations/{id}` answers them.
    pub conversations: HashMap<String, Value>,
    /// Wrap-up codes by id.
    pub wrapup_codes: HashMap<String, Value>,
    /// The codes each queue offers its agents (`.../participants/{pid}/wrapupcodes`).
    pub queue_codes: HashMap<String, Vec<String>>,
    /// Copilot's summaries by conversation, as `GET .../summaries` answers them (absent: 404,
    /// the conversation has no Copilot data).
    pub summaries: HashMap<String, Value>,
    /// Whether the org's one Copilot assistant predicts wrap-up codes (`None`: no assistant).
    pub copilot_predicts_codes: Option<bool>,
}

#[derive(Default)]
struct State {
    org: OrgData,
    tokens: HashSet<String>,
    token_lifetime: u64,
    faults: Vec<FaultRule>,
    log: Vec<LoggedRequest>,
    writes: Vec<LoggedWrite>,
    latency: Duration,
    in_flight: usize,
    max_in_flight: usize,
    random_faults: Option<RandomFaults>,
    /// Token requests allowed per minute; beyond, Genesys's throttling answer.
    token_rate_limit: Option<usize>,
    token_requests: Vec<std::time::Instant>,
    /// Genesys does not document whether a wrap-up is accepted once after-call work has ended:
    /// both worlds exist here. `true` (the default) accepts it.
    writes_after_acw: bool,
    /// Genesys does not document the status of a write naming a code it does not have: 400
    /// ("Invalid wrap-up code", the default here) or 404.
    unknown_code_status: u16,
    /// A queue the org does not have lists no codes (instead of 404).
    unknown_queues_empty: bool,
    /// Reads that lag behind writes: how long, by which clock.
    read_lag: Option<(Duration, Arc<dyn Clock>)>,
    /// Conversations whose reads still answer the state before a write, until when.
    stale: HashMap<String, (Value, SystemTime)>,
}

/// Transient faults at a fixed rate, from a seeded generator so runs repeat.
#[derive(Debug, Clone, Copy)]
struct RandomFaults {
    per_million: u64,
    state: u64,
}

impl RandomFaults {
    fn next(&mut self) -> u64 {
        // xorshift64*: plenty for spreading faults, and needs no dependency.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick(&mut self, route: Route) -> Option<FaultKind> {
        if route == Route::Other || self.next() % 1_000_000 >= self.per_million {
            return None;
        }
        let unavailable = FaultKind::Status {
            status: 503,
            code: "service.unavailable".into(),
            message: "injected".into(),
            retry_after: None,
        };
        Some(match (route, self.next() % 4) {
            // The token endpoint throttles with 400 `invalid_request`, never a 429.
            (Route::Token, 1 | 2) => FaultKind::Status {
                status: 400,
                code: "invalid_request".into(),
                message: "rate limit exceeded; try again later".into(),
                retry_after: None,
            },
            // A write that lands although its answer is lost: the hardest case for idempotency.
            (Route::PostWrapup, 0) => FaultKind::ApplyThenStatus(503),
            (_, 1) => FaultKind::Status {
                status: 429,
                code: "too.many.requests.retry.after".into(),
                message: "injected".into(),
                retry_after: Some(1),
            },
            // A 429 that names no wait.
            (_, 2) => FaultKind::Status {
                status: 429,
                code: "too.many.requests".into(),
                message: "injected".into(),
                retry_after: None,
            },
            _ => unavailable,
        })
    }
}

/// The id of the org's one Copilot assistant, when it has one.
const ASSISTANT_ID: &str = "a5515700-0000-4000-8000-000000000001";

/// The Genesys Cloud emulator on a loopback port; it stops when dropped.
pub struct Emulator {
    state: Arc<Mutex<State>>,
    base_url: reqwest::Url,
    _server: super::loopback::LoopbackServer,
}

impl Emulator {
    /// Serves `org` on a fresh loopback port.
    pub async fn start(org: OrgData) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State {
            org,
            token_lifetime: 86_400,
            writes_after_acw: true,
            unknown_code_status: 400,
            unknown_queues_empty: false,
            ..State::default()
        }));
        let shared = state.clone();
        let server = super::loopback::serve_loopback(move |req| serve(shared.clone(), req)).await?;
        let addr = server.addr;
        let base_url =
            reqwest::Url::parse(&format!("http://{addr}")).map_err(std::io::Error::other)?;
        Ok(Self {
            state,
            base_url,
            _server: server,
        })
    }

    /// `http://127.0.0.1:<port>`: both the API and the login base URL.
    pub fn base_url(&self) -> reqwest::Url {
        self.base_url.clone()
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Fails the next `times` requests to `route` with `kind`.
    pub fn inject(&self, route: Route, kind: FaultKind, times: usize) {
        self.with(|s| {
            s.faults.push(FaultRule {
                route,
                kind,
                remaining: times,
            })
        });
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.with(|s| s.log.clone())
    }

    /// How many requests of `route` were received.
    pub fn count(&self, route: Route) -> usize {
        self.with(|s| s.log.iter().filter(|r| r.route == route).count())
    }

    /// Every wrap-up applied, in order.
    pub fn writes(&self) -> Vec<LoggedWrite> {
        self.with(|s| s.writes.clone())
    }

    /// Forgets the requests and writes received so far.
    pub fn clear_log(&self) {
        self.with(|s| {
            s.log.clear();
            s.writes.clear();
        });
    }

    /// Invalidates every issued token, as an expiry or revocation would.
    pub fn revoke_tokens(&self) {
        self.with(|s| s.tokens.clear());
    }

    /// Tokens issued from now on expire after `seconds`.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.with(|s| s.token_lifetime = seconds);
    }

    /// Rotates the OAuth client's secret: old credentials get 401 `invalid_client`.
    pub fn set_client_secret(&self, secret: &str) {
        self.with(|s| s.org.client_secret = secret.to_owned());
    }

    /// Fails this fraction of requests (0.0–1.0) with transient faults: 503, 429, and writes
    /// that land but answer 503.
    pub fn set_random_faults(&self, fraction: f64, seed: u64) {
        let per_million = (fraction.clamp(0.0, 1.0) * 1_000_000.0) as u64;
        self.with(|s| {
            s.random_faults = Some(RandomFaults {
                per_million,
                state: seed.max(1),
            })
        });
    }

    /// Throttles the token endpoint as Genesys does: beyond `per_minute` requests, a 400
    /// `invalid_request` "rate limit exceeded" (never a 429).
    pub fn set_token_rate_limit(&self, per_minute: Option<usize>) {
        self.with(|s| s.token_rate_limit = per_minute);
    }

    /// Answers a write naming a code the org does not have with `status` (400 or 404: the
    /// status is undocumented).
    pub fn answer_unknown_codes_with(&self, status: u16) {
        self.with(|s| s.unknown_code_status = status);
    }

    /// Answers a queue the org does not have with an empty listing instead of 404 (the answer is
    /// undocumented).
    pub fn list_unknown_queues_empty(&self) {
        self.with(|s| s.unknown_queues_empty = true);
    }

    /// Deletes a wrap-up code, as an admin would.
    pub fn remove_wrapup_code(&self, id: &str) {
        self.with(|s| s.org.wrapup_codes.remove(id));
    }

    /// The world where Genesys refuses a wrap-up once after-call work has ended.
    pub fn refuse_writes_after_acw(&self) {
        self.with(|s| s.writes_after_acw = false);
    }

    /// Adds or replaces a wrap-up code.
    pub fn put_wrapup_code(&self, code: Value) {
        let id = code["id"].as_str().unwrap_or_default().to_owned();
        self.with(|s| s.org.wrapup_codes.insert(id, code));
    }

    /// The most requests the emulator was serving at once.
    pub fn max_in_flight(&self) -> usize {
        self.with(|s| s.max_in_flight)
    }

    /// Delay before every answer, for benches.
    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency);
    }

    /// Reads that lag behind writes, as a real org's can (its write answers 202: accepted, not
    /// yet visible): for `lag` after a write, by `clock`, reads of that conversation answer the
    /// state before it. A second write within the lag keeps the older state until `lag` after
    /// the latest write. `None`: every read shows every write at once.
    pub fn set_read_lag(&self, lag: Option<(Duration, Arc<dyn Clock>)>) {
        self.with(|s| {
            s.read_lag = lag;
            s.stale.clear();
        });
    }

    /// Changes a conversation's Copilot summaries (`None`: it has none, 404).
    pub fn set_summaries(&self, conversation: &str, summaries: Option<Value>) {
        self.with(|s| match summaries {
            Some(v) => {
                s.org.summaries.insert(conversation.to_owned(), v);
            }
            None => {
                s.org.summaries.remove(conversation);
            }
        });
    }

    /// Changes a conversation's Copilot summaries in place.
    pub fn update_summaries(&self, conversation: &str, f: impl FnOnce(&mut Value)) {
        self.with(|s| {
            if let Some(v) = s.org.summaries.get_mut(conversation) {
                f(v);
            }
        });
    }

    /// Whether the org's Copilot assistant predicts codes (`None`: the org has no assistant).
    pub fn set_copilot_predicts_codes(&self, enabled: Option<bool>) {
        self.with(|s| s.org.copilot_predicts_codes = enabled);
    }

    /// A conversation as the emulator holds it now.
    pub fn conversation(&self, id: &str) -> Option<Value> {
        self.with(|s| s.org.conversations.get(id).cloned())
    }

    /// Adds or replaces a conversation.
    pub fn put_conversation(&self, conversation: Value) {
        let id = conversation["id"].as_str().unwrap_or_default().to_owned();
        self.with(|s| s.org.conversations.insert(id, conversation));
    }

    /// Changes a conversation in place (e.g. to end it).
    pub fn update_conversation(&self, id: &str, f: impl FnOnce(&mut Value)) {
        self.with(|s| {
            if let Some(c) = s.org.conversations.get_mut(id) {
                f(c)
            }
        });
    }
}

type Reply = Result<Response<Full<Bytes>>, std::io::Error>;

async fn serve(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Reply {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers = req.headers().clone();
    let body = super::loopback::read_body(req).await;
    let route = route_of(&method, &path);

    let (fault, latency) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let fault = s
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.route == route)
            .map(|f| {
                f.remaining -= 1;
                f.kind.clone()
            });
        let fault = fault.or_else(|| s.random_faults.as_mut().and_then(|r| r.pick(route)));
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        (fault, s.latency)
    };
    let _in_flight = InFlight(state.clone());
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let (status, response) = match fault {
        Some(FaultKind::Hang) => {
            log(&state, route, &method, &path, 0);
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            return Err(std::io::Error::other("hung"));
        }
        Some(FaultKind::Reset) => {
            log(&state, route, &method, &path, 0);
            return Err(std::io::Error::other("reset"));
        }
        Some(FaultKind::Malformed) => (200, text(200, "{\"id\": \"truncated")),
        Some(FaultKind::Status {
            status,
            code,
            message,
            retry_after,
        }) => {
            let body = if route == Route::Token {
                json!({"error": code, "description": message, "error_description": message})
            } else {
                genesys_error(status, &code, &message)
            };
            let mut r = json_reply(status, &body);
            if let Some(ra) = retry_after {
                r.headers_mut().insert("retry-after", ra.into());
            }
            (status, r)
        }
        Some(FaultKind::ApplyThenStatus(status)) => {
            let (applied, answer) = handle(&state, route, &path, &query, &headers, &body);
            if applied >= 300 {
                (applied, answer)
            } else {
                (
                    status,
                    json_reply(
                        status,
                        &genesys_error(status, "service.unavailable", "The service is unavailable"),
                    ),
                )
            }
        }
        Some(FaultKind::ApplyThenReset) => {
            let (applied, _) = handle(&state, route, &path, &query, &headers, &body);
            log(&state, route, &method, &path, applied);
            return Err(std::io::Error::other("reset after write"));
        }
        None => handle(&state, route, &path, &query, &headers, &body),
    };
    log(&state, route, &method, &path, status);
    let mut response = response;
    if let Ok(id) = hyper::header::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("inin-correlation-id", id);
    }
    Ok(response)
}

/// Counts a request as served when its future ends, whichever way it ends.
struct InFlight(Arc<Mutex<State>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

fn log(state: &Mutex<State>, route: Route, method: &str, path: &str, status: u16) {
    state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .log
        .push(LoggedRequest {
            route,
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
}

fn route_of(method: &str, path: &str) -> Route {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["oauth", "token"]) => Route::Token,
        ("GET", ["api", "v2", "tokens", "me"]) => Route::TokenInfo,
        ("GET", ["api", "v2", "conversations", _]) => Route::GetConversation,
        ("GET", ["api", "v2", "conversations", _, "summaries"]) => Route::GetSummaries,
        ("GET", ["api", "v2", "assistants"] | ["api", "v2", "assistants", _, "copilot"]) => {
            Route::Assistants
        }
        ("GET", ["api", "v2", "routing", "wrapupcodes"]) => Route::ListWrapupCodes,
        ("GET", ["api", "v2", "routing", "wrapupcodes", _]) => Route::GetWrapupCode,
        ("GET", ["api", "v2", "routing", "queues", _, "wrapupcodes"]) => Route::QueueWrapupCodes,
        ("GET", ["api", "v2", "conversations", _, "participants", _, "wrapupcodes"]) => {
            Route::ParticipantWrapupCodes
        }
        (
            "POST",
            ["api", "v2", "conversations", _, _, "participants", _, "communications", _, "wrapup"],
        ) => Route::PostWrapup,
        _ => Route::Other,
    }
}

fn handle(
    state: &Mutex<State>,
    route: Route,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &Bytes,
) -> (u16, Response<Full<Bytes>>) {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if route == Route::Token {
        return token(&mut s, headers, body);
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| s.tokens.contains(t)) {
        return reply(
            401,
            genesys_error(
                401,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            ),
        );
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (route, segments.as_slice()) {
        (Route::GetConversation, [_, _, _, id]) => match s.org.conversations.get(*id) {
            Some(c) => {
                let now = s.read_lag.as_ref().map(|(_, clock)| clock.now());
                let lagging = s
                    .stale
                    .get(*id)
                    .filter(|(_, until)| now.is_some_and(|now| now < *until));
                reply(
                    200,
                    lagging.map_or_else(|| c.clone(), |(before, _)| before.clone()),
                )
            }
            None => reply(
                404,
                genesys_error(
                    404,
                    "not.found",
                    "The requested conversation was not found.",
                ),
            ),
        },
        (Route::GetWrapupCode, [_, _, _, _, id]) => match s.org.wrapup_codes.get(*id) {
            Some(c) => reply(200, c.clone()),
            None => reply(
                404,
                genesys_error(404, "not.found", "wrapup code not found"),
            ),
        },
        (Route::TokenInfo, _) => {
            let org = json!({"id": s.org.org_id, "name": s.org.org_name});
            reply(
                200,
                json!({
                    "organization": org, "homeOrganization": org,
                    "OAuthClient": {"id": s.org.client_id, "name": "genesys-wrapup", "organization": org},
                    "authorizedScope": []
                }),
            )
        }
        (Route::ListWrapupCodes, _) => list_codes(&s, query),
        (Route::ParticipantWrapupCodes, [_, _, _, cid, _, pid, _]) => {
            participant_codes(&s, cid, pid)
        }
        (Route::QueueWrapupCodes, [_, _, _, _, queue, _]) => queue_codes(&s, queue, query),
        (Route::PostWrapup, [_, _, _, media, cid, _, pid, _, comm, _]) => {
            post_wrapup(&mut s, media, cid, pid, comm, body)
        }
        (Route::GetSummaries, [_, _, _, id, _]) => match s.org.summaries.get(*id) {
            Some(summaries) => reply(200, summaries.clone()),
            None => reply(
                404,
                genesys_error(
                    404,
                    "not.found",
                    "No summaries were found for the conversation.",
                ),
            ),
        },
        (Route::Assistants, [_, _, _]) => {
            let entities: Vec<Value> = s
                .org
                .copilot_predicts_codes
                .map(|_| json!({"id": ASSISTANT_ID, "name": "Agent Copilot", "state": "Active"}))
                .into_iter()
                .collect();
            let total = entities.len();
            reply(
                200,
                json!({"entities": entities, "pageSize": 25, "pageNumber": 1, "total": total}),
            )
        }
        (Route::Assistants, [_, _, _, id, _]) => match s.org.copilot_predicts_codes {
            Some(enabled) if *id == ASSISTANT_ID => reply(
                200,
                json!({"id": id, "enabled": true, "wrapupCodePredictionConfig": {"enabled": enabled}}),
            ),
            _ => reply(
                404,
                genesys_error(404, "not.found", "The requested resource was not found."),
            ),
        },
        _ => reply(
            404,
            genesys_error(404, "not.found", "The requested resource was not found."),
        ),
    }
}

/// `GET /api/v2/routing/wrapupcodes?pageSize&pageNumber`: a `WrapupCodeEntityListing`, by name
/// as Genesys sorts it by default. The `name` filter's semantics are undocumented: ignored here.
fn list_codes(s: &State, query: &str) -> (u16, Response<Full<Bytes>>) {
    let param = |name: &str, default: usize| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let (size, number) = (
        param("pageSize", 25).clamp(1, 500),
        param("pageNumber", 1).max(1),
    );
    let mut codes: Vec<&Value> = s.org.wrapup_codes.values().collect();
    codes.sort_by_key(|c| {
        (
            c["name"].as_str().unwrap_or("").to_owned(),
            c["id"].to_string(),
        )
    });
    let total = codes.len();
    let page: Vec<&Value> = codes
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .collect();
    let page_count = total.div_ceil(size);
    let uri = |n: usize| format!("/api/v2/routing/wrapupcodes?pageSize={size}&pageNumber={n}");
    reply(
        200,
        json!({
            "entities": page, "pageSize": size, "pageNumber": number, "total": total,
            "pageCount": page_count, "firstUri": uri(1), "selfUri": uri(number), "lastUri": uri(page_count.max(1)),
            "nextUri": (number < page_count).then(|| uri(number + 1)),
            "previousUri": (number > 1).then(|| uri(number - 1)),
        }),
    )
}

/// `GET /api/v2/routing/queues/{id}/wrapupcodes?pageSize&pageNumber`: the queue's codes, a
/// paged `WrapupCodeEntityListing`. What Genesys answers for a queue it does not have is
/// undocumented: 404 here, or an empty listing after [`Emulator::list_unknown_queues_empty`].
fn queue_codes(s: &State, queue: &str, query: &str) -> (u16, Response<Full<Bytes>>) {
    let ids = match s.org.queue_codes.get(queue) {
        Some(ids) => ids.clone(),
        None if s.unknown_queues_empty => Vec::new(),
        None => {
            return reply(
                404,
                genesys_error(404, "not.found", "The requested queue was not found."),
            )
        }
    };
    let param = |name: &str, default: usize| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(default)
    };
    let (size, number) = (
        param("pageSize", 25).clamp(1, 500),
        param("pageNumber", 1).max(1),
    );
    let codes: Vec<Value> = ids
        .iter()
        .filter_map(|id| s.org.wrapup_codes.get(id).cloned())
        .collect();
    let total = codes.len();
    let page: Vec<Value> = codes
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .collect();
    reply(
        200,
        json!({"entities": page, "pageSize": size, "pageNumber": number, "total": total,
               "pageCount": total.div_ceil(size).max(1)}),
    )
}

/// `GET /api/v2/conversations/{cid}/participants/{pid}/wrapupcodes`: the codes of the
/// participant's queue (a bare array of `WrapupCode`).
fn participant_codes(s: &State, cid: &str, pid: &str) -> (u16, Response<Full<Bytes>>) {
    let participant = s
        .org
        .conversations
        .get(cid)
        .and_then(|c| c["participants"].as_array())
        .and_then(|ps| ps.iter().find(|p| p["id"].as_str() == Some(pid)));
    let Some(participant) = participant else {
        return reply(
            404,
            genesys_error(404, "not.found", "The requested resource was not found."),
        );
    };
    let codes: Vec<Value> = participant["queueId"]
        .as_str()
        .and_then(|q| s.org.queue_codes.get(q))
        .into_iter()
        .flatten()
        .filter_map(|id| s.org.wrapup_codes.get(id).cloned())
        .collect();
    reply(200, Value::Array(codes))
}

fn token(s: &mut State, headers: &hyper::HeaderMap, body: &Bytes) -> (u16, Response<Full<Bytes>>) {
    if let Some(limit) = s.token_rate_limit {
        let now = std::time::Instant::now();
        s.token_requests
            .retain(|at| now.duration_since(*at) < Duration::from_secs(60));
        if s.token_requests.len() >= limit {
            return reply(
                400,
                json!({"error": "invalid_request", "description": "rate limit exceeded; try again later", "error_description": "rate limit exceeded; try again later"}),
            );
        }
        s.token_requests.push(now);
    }
    let credentials = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let form = String::from_utf8_lossy(body);
    if !form
        .split('&')
        .any(|kv| kv == "grant_type=client_credentials")
    {
        return reply(
            400,
            json!({"error": "unsupported_grant_type", "description": "grant_type must be client_credentials", "error_description": "grant_type must be client_credentials"}),
        );
    }
    let expected = format!("{}:{}", s.org.client_id, s.org.client_secret);
    if credentials.as_deref() != Some(expected.as_str()) {
        return reply(
            401,
            json!({"error": "invalid_client", "description": "client not found", "error_description": "client not found"}),
        );
    }
    let token = format!("emu-{}", uuid::Uuid::new_v4().simple());
    s.tokens.insert(token.clone());
    reply(
        200,
        json!({"access_token": token, "token_type": "bearer", "expires_in": s.token_lifetime}),
    )
}

fn media_array(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "calls" => "calls",
        "callbacks" => "callbacks",
        "emails" => "emails",
        "messages" => "messages",
        "socials" => "socialExpressions",
        "videos" => "videos",
        "chats" => "chats",
        _ => return None,
    })
}

fn post_wrapup(
    s: &mut State,
    media: &str,
    cid: &str,
    pid: &str,
    comm: &str,
    body: &Bytes,
) -> (u16, Response<Full<Bytes>>) {
    let not_found = || {
        reply(
            404,
            genesys_error(404, "not.found", "The requested resource was not found."),
        )
    };
    let Some(array) = media_array(media) else {
        return not_found();
    };
    let input: Value =
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return reply(
                400,
                genesys_error(
                    400,
                    "bad.request",
                    "The request could not be understood by the server due to malformed syntax.",
                ),
            ),
        };
    let Some(code_id) = input["code"].as_str().map(str::to_owned) else {
        return reply(
            400,
            genesys_error(400, "bad.request", "wrapup code is required"),
        );
    };
    let Some(code) = s.org.wrapup_codes.get(&code_id).cloned() else {
        return match s.unknown_code_status {
            404 => reply(
                404,
                genesys_error(404, "not.found", "The wrap-up code was not found."),
            ),
            status => reply(
                status,
                genesys_error(status, "bad.request", "Invalid wrap-up code"),
            ),
        };
    };
    let writes_after_acw = s.writes_after_acw;
    let before = s.org.conversations.get(cid).cloned();
    let lag = s
        .read_lag
        .as_ref()
        .map(|(lag, clock)| (clock.now(), clock.now() + *lag));
    let Some(conversation) = s.org.conversations.get_mut(cid) else {
        return not_found();
    };
    let code_division = code["division"]["id"].as_str().unwrap_or("*").to_owned();
    let in_division = code_division == "*"
        || conversation["divisions"].as_array().is_some_and(|ds| {
            ds.iter()
                .any(|d| d["division"]["id"].as_str() == Some(code_division.as_str()))
        });
    if !in_division {
        return reply(
            400,
            genesys_error(400, "bad.request", "Invalid wrap-up code"),
        );
    }
    let wrapup = json!({
        "code": code_id,
        "name": code["name"],
        "notes": input.get("notes").cloned().unwrap_or(Value::Null),
        "tags": input.get("tags").cloned().unwrap_or(Value::Null),
        "provisional": false,
    });
    let Some(participant) = conversation["participants"]
        .as_array_mut()
        .and_then(|ps| ps.iter_mut().find(|p| p["id"].as_str() == Some(pid)))
    else {
        return not_found();
    };
    let Some(communication) = participant[array]
        .as_array_mut()
        .and_then(|cs| cs.iter_mut().find(|c| c["id"].as_str() == Some(comm)))
    else {
        return not_found();
    };
    let acw_over = matches!(
        communication["afterCallWork"]["state"].as_str(),
        Some("complete" | "skipped")
    );
    if acw_over && !writes_after_acw {
        return reply(
            400,
            genesys_error(
                400,
                "bad.request",
                "The wrap-up can no longer be changed: after-call work has ended.",
            ),
        );
    }
    communication["wrapup"] = wrapup.clone();
    if communication["afterCallWork"]["state"] == "pending" {
        communication["afterCallWork"]["state"] = json!("complete");
    }
    participant["wrapup"] = wrapup;
    if let (Some((now, until)), Some(before)) = (lag, before) {
        let shown = match s.stale.remove(cid) {
            Some((older, live)) if now < live => older,
            _ => before,
        };
        s.stale.insert(cid.to_owned(), (shown, until));
    }
    s.writes.push(LoggedWrite {
        media: media.to_owned(),
        conversation_id: cid.to_owned(),
        participant_id: pid.to_owned(),
        communication_id: comm.to_owned(),
        body: input,
    });
    (202, text(202, ""))
}

fn genesys_error(status: u16, code: &str, message: &str) -> Value {
    json!({
        "status": status, "code": code, "message": message,
        "messageWithParams": message, "messageParams": {},
        "contextId": uuid::Uuid::new_v4().to_string(), "details": [], "errors": []
    })
}

fn reply(status: u16, body: Value) -> (u16, Response<Full<Bytes>>) {
    (status, json_reply(status, &body))
}

fn json_reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut r = text(status, &body.to_string());
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn text(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}
