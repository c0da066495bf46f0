//! Typed calls to Genesys Cloud: one bounded in-place retry, the client-side rate limit, and
//! error classification where the response is seen. The only module that speaks HTTP to the
//! Genesys API; the token it sends comes from its own [`Tokens`] (`token.rs`).

use super::calls::CallStats;
use super::error::{Endpoint, ErrorClass, GenesysError};
use super::models::{
    Conversation, ErrorBody, Summaries, TokenInfo, WrapupCode, WrapupCodeEntityListing,
};
use super::rate_limit::RateLimiter;
use super::token::Tokens;
use super::transport::{
    call_budget, header, transport_error, Shared, CORRELATION_HEADER, DEADLINE_RESERVE,
};
use super::write::Write;
use crate::clock::{Clock, Deadline};
use crate::config::GenesysConfig;
use crate::error::TransientKind;
use crate::http::{build_url, parse_retry_after};
use reqwest::{Method, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// Longest `Retry-After` waited out in place; longer ones go back to the platform at once.
const MAX_IN_PLACE_WAIT: Duration = Duration::from_secs(10);
/// A 429 that names no wait (`too.many.requests`): one short wait in place, then this.
const TOO_MANY_IN_PLACE: Duration = Duration::from_secs(1);
const TOO_MANY_WAIT: Duration = Duration::from_secs(30);
/// A name no cached code has re-reads every code at most this often per org: a typo storm
/// must not spend the org's 300 requests per minute.
const NAME_MISS_REFRESH: Duration = Duration::from_secs(60);
const CODES_PAGE_SIZE: u32 = 100;
/// 10,000 codes: far beyond any real org; a bound against a listing that never ends.
const MAX_CODE_PAGES: u32 = 100;
/// Backoff before the single in-place retry of a read after 409/5xx or a refused connection.
const SHORT_BACKOFF: Duration = Duration::from_millis(250);

/// A successful response: body bytes and the correlation id.
struct Answer {
    body: bytes::Bytes,
    correlation_id: Option<String>,
}

/// One org's client: its OAuth client, token, code cache and rate limiter.
pub(crate) struct GenesysClient {
    http: reqwest::Client,
    config: Arc<GenesysConfig>,
    clock: Arc<dyn Clock>,
    /// The OAuth client's token, cached and renewed.
    tokens: Tokens,
    codes: std::sync::Mutex<HashMap<Uuid, (WrapupCode, SystemTime)>>,
    /// Every code of the org, for names: Genesys's `name` filter is undocumented, so names are
    /// matched locally. Loaded once per code TTL; the lock makes concurrent messages share a load.
    index: tokio::sync::Mutex<CodeIndex>,
    limiter: RateLimiter,
    /// Calls by endpoint and status, for the invocation's metrics.
    stats: Arc<CallStats>,
}

#[derive(Default)]
struct CodeIndex {
    codes: Arc<Vec<WrapupCode>>,
    loaded_at: Option<SystemTime>,
    /// A code in it was refused: read them again, as a missed name would.
    refused: bool,
}

impl GenesysClient {
    pub(crate) fn new(shared: Shared, secret_id: String, config: Arc<GenesysConfig>) -> Self {
        let limiter = RateLimiter::per_minute(config.rate_limit_per_minute, shared.clock.clone());
        Self {
            tokens: Tokens::new(&shared, secret_id, config.clone()),
            http: shared.http,
            config,
            clock: shared.clock,
            codes: std::sync::Mutex::new(HashMap::new()),
            index: tokio::sync::Mutex::new(CodeIndex::default()),
            limiter,
            stats: shared.stats,
        }
    }

    /// Obtains a token (from cache or the login host): proves the client credentials.
    pub(crate) async fn check_token(&self, deadline: Deadline) -> Result<(), GenesysError> {
        self.tokens.bearer(deadline).await.map(|_| ())
    }

    /// `GET /api/v2/tokens/me`: the org and OAuth client the token belongs to.
    pub(crate) async fn token_info(&self, deadline: Deadline) -> Result<TokenInfo, GenesysError> {
        let answer = self
            .call(
                Endpoint::TokenInfo,
                Method::GET,
                &["api", "v2", "tokens", "me"],
                &[],
                None,
                deadline,
            )
            .await?;
        parse_json(Endpoint::TokenInfo, &answer)
    }

    /// `GET /api/v2/conversations/{id}`.
    pub(crate) async fn get_conversation(
        &self,
        id: Uuid,
        deadline: Deadline,
    ) -> Result<(Conversation, Option<String>), GenesysError> {
        let id = id.hyphenated().to_string();
        let answer = self
            .call(
                Endpoint::GetConversation,
                Method::GET,
                &["api", "v2", "conversations", &id],
                &[],
                None,
                deadline,
            )
            .await?;
        let conversation = parse_json(Endpoint::GetConversation, &answer)?;
        Ok((conversation, answer.correlation_id))
    }

    /// `GET /api/v2/routing/wrapupcodes/{id}`, cached: codes change rarely and every event needs one.
    pub(crate) async fn get_wrapup_code(
        &self,
        id: Uuid,
        deadline: Deadline,
    ) -> Result<WrapupCode, GenesysError> {
        let now = self.clock.now();
        if let Some((code, at)) = self
            .codes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            if now.duration_since(*at).unwrap_or(Duration::ZERO) < self.config.code_cache_ttl {
                return Ok(code.clone());
            }
        }
        let text = id.hyphenated().to_string();
        let answer = self
            .call(
                Endpoint::GetWrapupCode,
                Method::GET,
                &["api", "v2", "routing", "wrapupcodes", &text],
                &[],
                None,
                deadline,
            )
            .await?;
        let code: WrapupCode = parse_json(Endpoint::GetWrapupCode, &answer)?;
        self.codes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (code.clone(), now));
        Ok(code)
    }

    /// Every wrap-up code of the org (`GET /api/v2/routing/wrapupcodes`, every page), cached for
    /// the code TTL. `after_miss`: a name was not in the cached codes; they are read again
    /// unless that happened in the last minute.
    pub(crate) async fn all_codes(
        &self,
        after_miss: bool,
        deadline: Deadline,
    ) -> Result<Arc<Vec<WrapupCode>>, GenesysError> {
        let mut index = self.index.lock().await;
        let now = self.clock.now();
        let age = index
            .loaded_at
            .map(|at| now.duration_since(at).unwrap_or(Duration::ZERO));
        let doubted = after_miss || index.refused;
        let stale = age.is_none_or(|age| {
            age >= self.config.code_cache_ttl || (doubted && age >= NAME_MISS_REFRESH)
        });
        if stale {
            index.codes = Arc::new(self.list_codes(deadline).await?);
            index.loaded_at = Some(now);
            index.refused = false;
        }
        Ok(index.codes.clone())
    }

    async fn list_codes(&self, deadline: Deadline) -> Result<Vec<WrapupCode>, GenesysError> {
        let mut codes = Vec::new();
        let page_size = CODES_PAGE_SIZE.to_string();
        for page in 1..=MAX_CODE_PAGES {
            let number = page.to_string();
            let answer = self
                .call(
                    Endpoint::ListWrapupCodes,
                    Method::GET,
                    &["api", "v2", "routing", "wrapupcodes"],
                    &[("pageSize", &page_size), ("pageNumber", &number)],
                    None,
                    deadline,
                )
                .await?;
            let listing: WrapupCodeEntityListing = parse_json(Endpoint::ListWrapupCodes, &answer)?;
            let last = listing.entities.len() < CODES_PAGE_SIZE as usize
                || listing.page_count.is_some_and(|count| page >= count);
            codes.extend(listing.entities);
            if last {
                break;
            }
        }
        Ok(codes)
    }

    /// The codes this participant may use (`GET .../participants/{pid}/wrapupcodes`), to break
    /// a tie between codes of one name.
    pub(crate) async fn participant_codes(
        &self,
        conversation: Uuid,
        participant: Uuid,
        deadline: Deadline,
    ) -> Result<Vec<WrapupCode>, GenesysError> {
        let (c, p) = (
            conversation.hyphenated().to_string(),
            participant.hyphenated().to_string(),
        );
        let answer = self
            .call(
                Endpoint::GetParticipantWrapupCodes,
                Method::GET,
                &[
                    "api",
                    "v2",
                    "conversations",
                    &c,
                    "participants",
                    &p,
                    "wrapupcodes",
                ],
                &[],
                None,
                deadline,
            )
            .await?;
        parse_json(Endpoint::GetParticipantWrapupCodes, &answer)
    }

    /// The first page of a queue's codes (`GET /api/v2/routing/queues/{id}/wrapupcodes`): proves
    /// the queue exists (404 when it does not), for `rules check --resolve`.
    pub(crate) async fn queue_codes(
        &self,
        queue: Uuid,
        deadline: Deadline,
    ) -> Result<Vec<WrapupCode>, GenesysError> {
        let id = queue.hyphenated().to_string();
        let answer = self
            .call(
                Endpoint::ListQueueWrapupCodes,
                Method::GET,
                &["api", "v2", "routing", "queues", &id, "wrapupcodes"],
                &[("pageSize", "100")],
                None,
                deadline,
            )
            .await?;
        let listing: WrapupCodeEntityListing = parse_json(Endpoint::ListQueueWrapupCodes, &answer)?;
        Ok(listing.entities)
    }

    /// The name of code `id` if this client already has the code (read by id, or in the org's
    /// listing), without a call: for outcomes that name the code the agent had. A listing
    /// being read by a concurrent message counts as not had.
    pub(crate) fn cached_code_name(&self, id: &str) -> Option<String> {
        let id = id.trim();
        let named = |c: &WrapupCode| {
            c.name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
        };
        if let Ok(uuid) = Uuid::parse_str(id) {
            let by_id = self
                .codes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&uuid)
                .and_then(|(code, _)| named(code));
            if by_id.is_some() {
                return by_id;
            }
        }
        let index = self.index.try_lock().ok()?;
        index
            .codes
            .iter()
            .find(|c| c.id.trim().eq_ignore_ascii_case(id))
            .and_then(named)
    }

    /// Copilot's summaries of a conversation (`GET /api/v2/conversations/{id}/summaries`), with
    /// the wrap-up codes they predict; `None` when the conversation has no Copilot data (404).
    pub(crate) async fn get_summaries(
        &self,
        conversation: Uuid,
        deadline: Deadline,
    ) -> Result<Option<Summaries>, GenesysError> {
        let id = conversation.hyphenated().to_string();
        let answer = self
            .call(
                Endpoint::GetSummaries,
                Method::GET,
                &["api", "v2", "conversations", &id, "summaries"],
                &[],
                None,
                deadline,
            )
            .await;
        match answer {
            Ok(answer) => parse_json(Endpoint::GetSummaries, &answer).map(Some),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether an assistant of the org predicts wrap-up codes for agents (`GET
    /// /api/v2/assistants`, then each one's `.../copilot`): `None` when the org has no
    /// assistant. For `doctor`.
    pub(crate) async fn copilot_predicts_codes(
        &self,
        deadline: Deadline,
    ) -> Result<Option<bool>, GenesysError> {
        let answer = self
            .call(
                Endpoint::ListAssistants,
                Method::GET,
                &["api", "v2", "assistants"],
                &[("pageSize", "25")],
                None,
                deadline,
            )
            .await?;
        let listing: serde_json::Value = parse_json(Endpoint::ListAssistants, &answer)?;
        let ids: Vec<Uuid> = listing["entities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Uuid::parse_str(a["id"].as_str()?).ok())
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        for id in ids {
            let id = id.hyphenated().to_string();
            let answer = self
                .call(
                    Endpoint::GetCopilot,
                    Method::GET,
                    &["api", "v2", "assistants", &id, "copilot"],
                    &[],
                    None,
                    deadline,
                )
                .await?;
            let copilot: serde_json::Value = parse_json(Endpoint::GetCopilot, &answer)?;
            if copilot["wrapupCodePredictionConfig"]["enabled"] == true {
                return Ok(Some(true));
            }
        }
        Ok(Some(false))
    }

    /// Forgets a code Genesys refused (deleted or moved since it was cached): the next request
    /// reads it again, and the names too, though no sooner than a missed name would, so a
    /// burst of refusals costs one listing a minute.
    pub(crate) async fn forget_code(&self, id: Uuid) {
        self.codes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        self.index.lock().await.refused = true;
    }

    /// Sends the write; returns Genesys's correlation id. The only call that changes anything in
    /// Genesys: the pipeline reaches it only outside a dry run.
    pub(crate) async fn send(
        &self,
        write: &Write,
        deadline: Deadline,
    ) -> Result<Option<String>, GenesysError> {
        let body = serde_json::to_vec(&write.body).map_err(|e| {
            GenesysError::transient(
                Endpoint::PostWrapup,
                TransientKind::Upstream,
                format!("could not encode body: {e}"),
            )
        })?;
        let segments = write.segments();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let answer = self
            .call(
                Endpoint::PostWrapup,
                Method::POST,
                &segments,
                &[],
                Some(bytes::Bytes::from(body)),
                deadline,
            )
            .await?;
        Ok(answer.correlation_id)
    }

    async fn call(
        &self,
        endpoint: Endpoint,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<bytes::Bytes>,
        deadline: Deadline,
    ) -> Result<Answer, GenesysError> {
        let is_write = method != Method::GET;
        let mut renewed_token = false;
        let mut retried = false;
        loop {
            let bearer = self.tokens.bearer(deadline).await?;
            let mut url = build_url(&bearer.api_base, segments);
            if !query.is_empty() {
                url.query_pairs_mut().extend_pairs(query);
            }
            self.take_rate_token(endpoint, deadline).await?;
            let budget = call_budget(
                self.clock.as_ref(),
                self.config.call_timeout,
                endpoint,
                deadline,
            )?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .header(reqwest::header::AUTHORIZATION, bearer.authorization)
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(budget);
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    self.stats.call(endpoint.as_str(), 0);
                    // A refused connection never reached Genesys: safe to retry even a write.
                    let never_sent = e.is_connect();
                    let err = transport_error(endpoint, &e, is_write && !never_sent);
                    if !retried
                        && (never_sent || !is_write)
                        && !e.is_timeout()
                        && self.fits(deadline, SHORT_BACKOFF)
                    {
                        retried = true;
                        self.stats.retry();
                        self.clock.sleep(SHORT_BACKOFF).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = response.status();
            self.stats.call(endpoint.as_str(), status.as_u16());
            let correlation_id = header(&response, CORRELATION_HEADER);
            let retry_after = parse_retry_after(response.headers());
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) => return Err(transport_error(endpoint, &e, is_write)),
            };
            if status.is_success() {
                return Ok(Answer {
                    body: bytes,
                    correlation_id,
                });
            }
            if status == StatusCode::UNAUTHORIZED && !renewed_token {
                // The token was revoked or expired early: drop it and try once with a new one.
                renewed_token = true;
                self.tokens.drop(bearer.generation).await;
                continue;
            }
            let err = api_error(endpoint, status, &bytes, correlation_id, retry_after);
            if !retried {
                let wait = match status.as_u16() {
                    // A 429 was not processed: waiting in place is safe even for a write.
                    429 => Some(retry_after.unwrap_or(TOO_MANY_IN_PLACE))
                        .filter(|w| *w <= MAX_IN_PLACE_WAIT),
                    // A write that got 409/5xx may have been applied: the next attempt re-reads first.
                    409 | 500..=599 if !is_write => Some(SHORT_BACKOFF),
                    _ => None,
                };
                if let Some(wait) = wait {
                    if self.fits(deadline, wait) {
                        tracing::info!(
                            endpoint = endpoint.as_str(),
                            status = status.as_u16(),
                            waitMs = wait.as_millis() as u64,
                            "retrying once in place"
                        );
                        retried = true;
                        self.stats.retry();
                        self.clock.sleep(wait).await;
                        continue;
                    }
                }
            }
            return Err(err);
        }
    }

    /// Waits for the client-side rate limiter, in place only while a call still fits afterwards.
    async fn take_rate_token(
        &self,
        endpoint: Endpoint,
        deadline: Deadline,
    ) -> Result<(), GenesysError> {
        let room = deadline
            .remaining(self.clock.as_ref())
            .saturating_sub(self.config.call_timeout + DEADLINE_RESERVE)
            .min(MAX_IN_PLACE_WAIT);
        self.limiter.acquire(room).await.map_err(|wait| {
            let mut e = GenesysError::transient(
                endpoint,
                TransientKind::RateLimited,
                format!(
                    "this instance's Genesys budget of {}/min is spent",
                    self.config.rate_limit_per_minute
                ),
            );
            e.retry_after = Some(Duration::from_secs(wait.as_secs() + 1));
            e
        })
    }

    /// Whether waiting `wait` still leaves a full call and the reserve before the deadline.
    fn fits(&self, deadline: Deadline, wait: Duration) -> bool {
        deadline.remaining(self.clock.as_ref())
            >= wait + self.config.call_timeout + DEADLINE_RESERVE
    }
}

fn parse_json<T: for<'de> serde::Deserialize<'de>>(
    endpoint: Endpoint,
    answer: &Answer,
) -> Result<T, GenesysError> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        let mut err = GenesysError::transient(
            endpoint,
            TransientKind::Upstream,
            format!(
                "malformed response body ({} at line {}, column {})",
                category(&e),
                e.line(),
                e.column()
            ),
        );
        err.correlation_id = answer.correlation_id.clone();
        err
    })
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "io error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

fn api_error(
    endpoint: Endpoint,
    status: StatusCode,
    body: &[u8],
    correlation_id: Option<String>,
    retry_after: Option<Duration>,
) -> GenesysError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let code = status.as_u16();
    let class = match code {
        404 => ErrorClass::NotFound,
        403 => ErrorClass::Forbidden,
        429 => ErrorClass::Transient(TransientKind::RateLimited),
        // 401 twice in a row (after a fresh token) is a deployment problem, not the request's.
        401 => ErrorClass::Transient(TransientKind::Credentials),
        408 | 409 | 425 => ErrorClass::Transient(TransientKind::Upstream),
        400..=499 => ErrorClass::Rejected,
        _ => ErrorClass::Transient(TransientKind::Upstream),
    };
    let message = parsed
        .message
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
    GenesysError {
        endpoint,
        class,
        status: Some(code),
        code: parsed.code,
        message: message.chars().take(1_000).collect(),
        correlation_id,
        context_id: parsed.context_id,
        // `too.many.requests` names no wait: back off on our own.
        retry_after: retry_after.or((code == 429).then_some(TOO_MANY_WAIT)),
        // A write answered with 5xx may still have been applied.
        write_unknown: endpoint == Endpoint::PostWrapup && code >= 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let class = |s: u16| {
            api_error(
                Endpoint::GetConversation,
                StatusCode::from_u16(s).unwrap(),
                b"{}",
                None,
                None,
            )
            .class
        };
        assert_eq!(class(404), ErrorClass::NotFound);
        assert_eq!(class(403), ErrorClass::Forbidden);
        assert_eq!(class(400), ErrorClass::Rejected);
        assert_eq!(
            class(429),
            ErrorClass::Transient(TransientKind::RateLimited)
        );
        for s in [409, 500, 502, 503, 504] {
            assert_eq!(
                class(s),
                ErrorClass::Transient(TransientKind::Upstream),
                "{s}"
            );
        }
        let e = api_error(
            Endpoint::PostWrapup,
            StatusCode::BAD_REQUEST,
            br#"{"status":400,"code":"bad.request","message":"Invalid wrap-up code","contextId":"ctx"}"#,
            Some("corr".into()),
            None,
        );
        assert_eq!(e.code.as_deref(), Some("bad.request"));
        assert_eq!(e.context_id.as_deref(), Some("ctx"));
        assert!(e.quoted().contains("bad.request") && e.quoted().contains("Invalid wrap-up code"));
    }
}
