//! The load: simulated MCP clients, each on its own keep-alive connection
//! (its own pooled hyper-util client), and the loops the runs are made of.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Barrier;

const PROTOCOL_VERSION: &str = "2025-11-25";

/// Where a simulated client sends its requests.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: &'static str,
    pub url: Uri,
    /// The tool's name as this path exposes it; `None`: the client lists
    /// tools instead of calling one.
    pub tool: Option<&'static str>,
    /// For an `https` URL: what the client trusts (the bench's CA).
    pub tls: Option<rustls::ClientConfig>,
}

impl Target {
    /// The MCP endpoint of a running gateway, calling `tool`; and its address.
    pub fn gateway(
        gateway: &mcpgw_dataplane::Gateway,
        tool: Option<&'static str>,
    ) -> anyhow::Result<(std::net::SocketAddr, Self)> {
        let addr = *gateway
            .local_addrs()
            .first()
            .ok_or_else(|| anyhow::anyhow!("the gateway has no listener"))?;
        let target = Self {
            name: "gateway",
            url: format!("http://{addr}/mcp").parse()?,
            tool,
            tls: None,
        };
        Ok((addr, target))
    }
}

/// A client's own pooled connection: plain, or TLS to a TLS upstream.
enum Http {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl Http {
    async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match self {
            Self::Plain(client) => client.request(req).await,
            Self::Tls(client) => client.request(req).await,
        }
    }
}

/// One simulated MCP client: one connection, one session.
pub struct McpClient {
    http: Http,
    target: Target,
    session: Option<HeaderValue>,
    next_id: u64,
}

impl McpClient {
    pub fn new(target: Target) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = match &target.tls {
            None => Http::Plain(Client::builder(TokioExecutor::new()).build(connector)),
            Some(tls) => {
                connector.enforce_http(false);
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls.clone())
                    .https_only()
                    .enable_all_versions()
                    .wrap_connector(connector);
                Http::Tls(Client::builder(TokioExecutor::new()).build(connector))
            }
        };
        Self {
            http,
            target,
            session: None,
            next_id: 1,
        }
    }

    /// A client that has done `initialize` and `notifications/initialized`.
    pub async fn connect(target: Target) -> anyhow::Result<Self> {
        let mut client = Self::new(target);
        client.open_session().await?;
        Ok(client)
    }

    /// `initialize`, then `notifications/initialized` in the new session.
    pub async fn open_session(&mut self) -> anyhow::Result<()> {
        self.session = None;
        let id = self.id();
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{"elicitation":{{}}}},"clientInfo":{{"name":"mcpgw-bench","version":"0.1.0"}}}}}}"#
        );
        let (status, session, body) = self.post(init).await?;
        ensure!(
            status == StatusCode::OK,
            "{}: initialize answered {status}: {}",
            self.target.name,
            String::from_utf8_lossy(&body)
        );
        self.session =
            Some(session.with_context(|| format!("{}: no mcp-session-id", self.target.name))?);
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let (status, _, _) = self.post(initialized.to_owned()).await?;
        ensure!(
            status == StatusCode::ACCEPTED,
            "{}: notifications/initialized answered {status}",
            self.target.name
        );
        Ok(())
    }

    /// One `tools/call`, its answer read to the end and checked.
    /// One `tools/call` (or `tools/list` for a listing target), its answer
    /// read to the end and checked.
    pub async fn call(&mut self) -> anyhow::Result<()> {
        let (method, status, body, ok) = match self.target.tool {
            Some(tool) => {
                let (status, body) = self.call_tool(tool).await?;
                let ok = answered_ok(&body);
                ("tools/call", status, body, ok)
            }
            None => {
                let id = self.id();
                let list = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
                let (status, _, body) = self.post(list).await?;
                let ok = body.windows(5).any(|w| w == br#"echo""#);
                ("tools/list", status, body, ok)
            }
        };
        if status != StatusCode::OK || !ok {
            bail!(
                "{}: {method} answered {status}: {}",
                self.target.name,
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    /// One `tools/call` of `tool`: the status and the body.
    pub async fn call_tool(&mut self, tool: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let id = self.id();
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"hi"}}}}}}"#
        );
        let (status, _, body) = self.post(body).await?;
        Ok((status, body))
    }

    /// POST a JSON-RPC message; the status, the session id header, the body.
    async fn post(
        &mut self,
        body: String,
    ) -> anyhow::Result<(StatusCode, Option<HeaderValue>, Bytes)> {
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.target.url.clone();
        let headers = req.headers_mut();
        mcpgw_dataplane::mcp::set_post_headers(headers);
        if let Some(session) = &self.session {
            headers.insert("mcp-session-id", session.clone());
            headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_static(PROTOCOL_VERSION),
            );
        }
        let resp = self
            .http
            .send(req)
            .await
            .with_context(|| format!("{}: request failed", self.target.name))?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok((
            parts.status,
            parts.headers.get("mcp-session-id").cloned(),
            body,
        ))
    }

    /// A plain GET (e.g. `/metrics`), its body as text.
    pub async fn get(&self, url: Uri) -> anyhow::Result<String> {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = url;
        let resp = self.http.send(req).await?;
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// Whether a `tools/call` answer is the upstream's result (its text is "ok").
pub fn answered_ok(body: &[u8]) -> bool {
    body.windows(4).any(|w| w == br#""ok""#)
}

/// `n` sequential calls, each timed (µs).
pub async fn timed_calls(
    client: &mut McpClient,
    n: usize,
    out: &mut Vec<f64>,
) -> anyhow::Result<()> {
    for _ in 0..n {
        let start = Instant::now();
        client.call().await?;
        out.push(start.elapsed().as_secs_f64() * 1e6);
    }
    Ok(())
}

/// `n` calls, untimed (warm-up).
pub async fn calls(client: &mut McpClient, n: usize) -> anyhow::Result<()> {
    for _ in 0..n {
        client.call().await?;
    }
    Ok(())
}

/// Every client calls in a loop for `duration`, all starting together;
/// returns the clients, the calls completed and the time they took.
pub async fn saturate(
    clients: Vec<McpClient>,
    duration: Duration,
) -> anyhow::Result<(Vec<McpClient>, u64, Duration)> {
    let start_line = std::sync::Arc::new(Barrier::new(clients.len() + 1));
    let mut tasks = Vec::with_capacity(clients.len());
    for mut client in clients {
        let start_line = start_line.clone();
        tasks.push(tokio::spawn(async move {
            start_line.wait().await;
            let deadline = Instant::now() + duration;
            let mut done = 0u64;
            while Instant::now() < deadline {
                client.call().await?;
                done += 1;
            }
            anyhow::Ok((client, done, Instant::now()))
        }));
    }
    start_line.wait().await;
    let start = Instant::now();
    let mut clients = Vec::with_capacity(tasks.len());
    let (mut total, mut end) = (0, start);
    for task in tasks {
        let (client, done, finished) = task.await??;
        clients.push(client);
        total += done;
        end = end.max(finished);
    }
    Ok((clients, total, end - start))
}

/// The value at quantile `q` (nearest rank) of sorted samples.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
