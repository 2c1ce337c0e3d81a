//! The soak's clients: many MCP sessions held at once against one gateway,
//! each a loop of `tools/list` and `tools/call` with think time between, some
//! with a standalone GET stream held open; every exchange is recorded with
//! when it started and ended, so errors can be told apart by whether they
//! overlap the window in which an upstream was being restarted.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// The HTTP client all sessions share (HTTP/1.1, a pooled connection per request in flight).
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http_client(sessions: usize) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(sessions * 2)
        .build(HttpConnector::new())
}

/// What a session does in one exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Initialize,
    List,
    /// `tools/call` of the time server's `get_current_time`.
    CallTime,
    /// `tools/call` of the everything server's `echo` (the toolkit restarted mid-run).
    CallEverything,
    /// Opening the standalone GET stream.
    Stream,
    Delete,
}

impl Kind {
    pub const ALL: [Self; 6] = [
        Self::Initialize,
        Self::List,
        Self::CallTime,
        Self::CallEverything,
        Self::Stream,
        Self::Delete,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Initialize => "initialize",
            Self::List => "tools/list",
            Self::CallTime => "tools/call time",
            Self::CallEverything => "tools/call everything",
            Self::Stream => "GET stream",
            Self::Delete => "DELETE",
        }
    }
}

/// One exchange: what, when (from the run's start), how long, and its error if any.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub kind: Kind,
    pub start: Duration,
    pub end: Duration,
    pub error: Option<String>,
}

/// Every exchange of the run.
#[derive(Debug)]
pub struct Record {
    pub epoch: Instant,
    exchanges: Mutex<Vec<Exchange>>,
    /// Standalone streams that ended while their session still wanted them.
    pub streams_cut: AtomicU64,
}

impl Record {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            exchanges: Mutex::default(),
            streams_cut: AtomicU64::new(0),
        }
    }

    fn add(&self, kind: Kind, started: Instant, error: Option<String>) {
        let exchange = Exchange {
            kind,
            start: started - self.epoch,
            end: self.epoch.elapsed(),
            error,
        };
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(exchange);
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Default for Record {
    fn default() -> Self {
        Self::new()
    }
}

/// How one session behaves.
#[derive(Clone, Debug)]
pub struct Plan {
    pub url: String,
    /// When the session starts, from the run's start (the ramp).
    pub start_at: Duration,
    /// When it stops making requests and ends its session.
    pub stop_at: Duration,
    /// Mean pause between two requests (each pause is 0.5–1.5× this).
    pub think: Duration,
    /// Whether it holds a standalone GET stream open.
    pub stream: bool,
    pub seed: u64,
}

const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Run one session to its end: initialize, requests until `stop_at`, DELETE.
pub async fn session(client: HttpClient, plan: Plan, record: std::sync::Arc<Record>) {
    let mut rng = plan.seed | 1;
    tokio::time::sleep_until((record.epoch + plan.start_at).into()).await;
    let started = Instant::now();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "mcpgw-soak", "version": "0"}}});
    let id = match exchange(&client, &plan.url, None, Method::POST, Some(&init)).await {
        Ok((StatusCode::OK, headers, body)) => match headers.get("mcp-session-id") {
            Some(id) if rpc_ok(&body) => id.to_str().unwrap_or_default().to_owned(),
            _ => {
                record.add(Kind::Initialize, started, Some(short(&body)));
                return;
            }
        },
        Ok((status, _, body)) => {
            record.add(
                Kind::Initialize,
                started,
                Some(format!("{status} {}", short(&body))),
            );
            return;
        }
        Err(e) => {
            record.add(Kind::Initialize, started, Some(e));
            return;
        }
    };
    record.add(Kind::Initialize, started, None);
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let _ = exchange(
        &client,
        &plan.url,
        Some(&id),
        Method::POST,
        Some(&initialized),
    )
    .await;

    let stop = tokio::sync::watch::channel(false);
    let stream = plan.stream.then(|| {
        tokio::spawn(hold_stream(
            client.clone(),
            plan.url.clone(),
            id.clone(),
            record.clone(),
            stop.1.clone(),
        ))
    });
    let mut n = 1;
    while record.epoch.elapsed() < plan.stop_at {
        let pick = next(&mut rng) % 100;
        let (kind, message) = match pick {
            0..30 => (
                Kind::List,
                json!({"jsonrpc": "2.0", "id": n, "method": "tools/list", "params": {}}),
            ),
            30..65 => (
                Kind::CallTime,
                json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
                    "name": "time__get_current_time", "arguments": {"timezone": "UTC"}}}),
            ),
            _ => (
                Kind::CallEverything,
                json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
                    "name": "everything__echo", "arguments": {"message": format!("soak {n}")}}}),
            ),
        };
        n += 1;
        let started = Instant::now();
        let error =
            match exchange(&client, &plan.url, Some(&id), Method::POST, Some(&message)).await {
                Ok((StatusCode::OK, _, body)) if rpc_ok(&body) => None,
                Ok((status, _, body)) => Some(format!("{status} {}", short(&body))),
                Err(e) => Some(e),
            };
        record.add(kind, started, error);
        let pause = plan
            .think
            .mul_f64(0.5 + (next(&mut rng) % 1000) as f64 / 1000.0);
        let left = plan.stop_at.saturating_sub(record.epoch.elapsed());
        tokio::time::sleep(pause.min(left)).await;
    }
    let _ = stop.0.send(true);
    if let Some(stream) = stream {
        let _ = stream.await;
    }
    let started = Instant::now();
    let error = match exchange(&client, &plan.url, Some(&id), Method::DELETE, None).await {
        Ok((StatusCode::OK, ..)) => None,
        Ok((status, _, body)) => Some(format!("{status} {}", short(&body))),
        Err(e) => Some(e),
    };
    record.add(Kind::Delete, started, error);
}

/// Hold the session's standalone stream open until told to stop; reopen it
/// (after a second) when the gateway ends it early.
async fn hold_stream(
    client: HttpClient,
    url: String,
    session: String,
    record: std::sync::Arc<Record>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let started = Instant::now();
        let req = Request::get(&url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(Full::new(Bytes::new()));
        let Ok(req) = req else { return };
        let resp = tokio::time::timeout(EXCHANGE_TIMEOUT, client.request(req)).await;
        let mut body = match resp {
            Ok(Ok(resp)) if resp.status() == StatusCode::OK => {
                record.add(Kind::Stream, started, None);
                resp.into_body()
            }
            Ok(Ok(resp)) => {
                record.add(Kind::Stream, started, Some(resp.status().to_string()));
                return;
            }
            Ok(Err(e)) => {
                record.add(Kind::Stream, started, Some(e.to_string()));
                return;
            }
            Err(_) => {
                record.add(Kind::Stream, started, Some("no stream head in 30 s".into()));
                return;
            }
        };
        loop {
            tokio::select! {
                frame = body.frame() => match frame {
                    Some(Ok(_)) => {}
                    _ => {
                        if !*stop.borrow() {
                            record.streams_cut.fetch_add(1, Ordering::Relaxed);
                        }
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

type Answer = (StatusCode, http::HeaderMap, Bytes);

/// One request with the MCP headers, its whole answer read (bounded).
async fn exchange(
    client: &HttpClient,
    url: &str,
    session: Option<&str>,
    method: Method,
    message: Option<&Value>,
) -> Result<Answer, String> {
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(session) = session {
        req = req.header("mcp-session-id", session);
    }
    let body = match message {
        Some(m) => {
            req = req.header("content-type", "application/json");
            Bytes::from(m.to_string())
        }
        None => Bytes::new(),
    };
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let answer = async {
        let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>((parts.status, parts.headers, body))
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, answer)
        .await
        .map_err(|_| "no answer in 30 s".to_owned())?
}

/// Whether the answer (JSON, or SSE whose last message answers) is a JSON-RPC result.
fn rpc_ok(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let last = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(&text).ok()
    } else {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .rfind(|m| m.get("id").is_some())
    };
    last.is_some_and(|m| m.get("result").is_some())
}

fn short(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(160).collect()
}

/// xorshift64: jitter and the mix of requests, no cryptographic need.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The p-th percentile (0–100) of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// How much the gateway's RSS once the clients left may grow from the first
/// round of a soak to the last: a factor and a slack, so that the noise of a
/// small gateway (a few pages here and there) is not a failure.
pub const RSS_GROWTH: f64 = 1.10;
pub const RSS_SLACK_KIB: u64 = 4 * 1024;

/// The highest RSS (KiB) the last round may leave behind, given the first's.
pub fn rss_bound(first_kib: u64) -> u64 {
    (first_kib as f64 * RSS_GROWTH).round() as u64 + RSS_SLACK_KIB
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sse_answer_is_ok_when_its_response_has_a_result() {
        let sse = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n\n";
        assert!(rpc_ok(sse));
        assert!(!rpc_ok(
            b"{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32603}}"
        ));
        assert!(rpc_ok(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}"));
    }

    #[test]
    fn percentiles_pick_by_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_millis(51));
        assert_eq!(percentile(&values, 99.0), Duration::from_millis(99));
    }

    #[test]
    fn the_rss_bound_allows_a_tenth_more_and_some_slack() {
        assert_eq!(rss_bound(100 * 1024), 110 * 1024 + 4 * 1024);
        assert_eq!(rss_bound(0), 4 * 1024);
    }
}
