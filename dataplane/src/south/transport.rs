//! One toolkit's Streamable HTTP client: POST a message, GET the standalone
//! stream, DELETE a session. Speaks HTTP/1.1 over a pooled hyper client.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;

use std::sync::Arc;

use super::credentials::{CredentialError, UpstreamCredentials};
use super::stream::MessageStream;
use crate::guard::Token;
use crate::jsonrpc::Message;
use crate::mcp::{HEADER_LAST_EVENT_ID, HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID};

/// Largest JSON reply or SSE event accepted from an upstream.
pub const MAX_UPSTREAM_MESSAGE: usize = 16 << 20;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A pooled HTTP client shared by every toolkit of a gateway.
pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// What went wrong talking to an upstream.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream session expired")]
    SessionExpired,
    #[error("answered HTTP {status}")]
    Status {
        status: StatusCode,
        www_authenticate: Option<HeaderValue>,
    },
    #[error("sent an invalid reply: {0}")]
    Protocol(String),
    #[error("returned an error to initialize: {0}")]
    Initialize(String),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
}

impl ClientError {
    /// Whether the upstream refused the request for want of (the right)
    /// credentials: 401 or 403.
    pub fn refused_credentials(&self) -> bool {
        matches!(self, Self::Status { status, .. }
            if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN)
    }

    /// The upstream's `WWW-Authenticate` challenge when it refused the request
    /// for want of (the right) credentials: 401 or 403 with a challenge.
    pub fn challenge(&self) -> Option<(StatusCode, &HeaderValue)> {
        match self {
            Self::Status {
                status,
                www_authenticate: Some(challenge),
            } if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN => {
                Some((*status, challenge))
            }
            _ => None,
        }
    }
}

/// The upstream session a request belongs to, as HTTP headers, and the caller
/// it is made for (whose token the toolkit may be configured to receive).
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionHeaders<'a> {
    pub session_id: Option<&'a str>,
    pub protocol_version: Option<&'a str>,
    pub caller: Option<&'a Token>,
}

/// What an upstream answered to a POST.
#[derive(Debug)]
pub enum PostReply {
    /// 202: a notification or response was accepted.
    Accepted,
    /// One JSON message.
    Json {
        session_id: Option<String>,
        message: Message,
    },
    /// An SSE stream of messages ending with the response.
    Stream {
        session_id: Option<String>,
        stream: Box<MessageStream>,
    },
}

/// The Streamable HTTP client of one toolkit.
#[derive(Clone, Debug)]
pub struct ToolkitClient {
    endpoint: Uri,
    timeout: Duration,
    http: HttpClient,
    credentials: Arc<UpstreamCredentials>,
}

impl ToolkitClient {
    pub fn new(
        endpoint: Uri,
        timeout: Duration,
        http: HttpClient,
        credentials: UpstreamCredentials,
    ) -> Self {
        Self {
            endpoint,
            timeout,
            http,
            credentials: Arc::new(credentials),
        }
    }

    /// Whether requests carry the caller's own token.
    pub fn forwards_caller_token(&self) -> bool {
        self.credentials.forwards()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POST one message. For a request, the reply carries its response.
    pub async fn post(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        let mut req = self.request(Method::POST, session)?;
        let headers = req.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        *req.body_mut() = Full::new(message.encode());
        let resp = self.send(req).await?;
        let status = resp.status();
        if status == StatusCode::ACCEPTED {
            return Ok(PostReply::Accepted);
        }
        let resp = check_status(resp, session.session_id.is_some()).await?;
        let session_id = header_string(resp.headers(), HEADER_SESSION_ID);
        if is_event_stream(resp.headers()) {
            let want = match message {
                Message::Request(r) => Some(r.id.clone()),
                _ => None,
            };
            let stream = MessageStream::new(
                resp.into_body(),
                want,
                Some(self.clone()),
                session_id
                    .clone()
                    .or_else(|| session.session_id.map(str::to_owned)),
                session.protocol_version.map(str::to_owned),
                session.caller.cloned(),
            );
            return Ok(PostReply::Stream {
                session_id,
                stream: Box::new(stream),
            });
        }
        let body = read_body(resp.into_body(), MAX_UPSTREAM_MESSAGE).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            // Some servers answer a notification with 200 and no body.
            return Ok(PostReply::Accepted);
        }
        let message = Message::decode(&body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(PostReply::Json {
            session_id,
            message,
        })
    }

    /// Open the standalone GET stream. `Ok(None)` when the upstream offers none (405).
    pub async fn get_stream(
        &self,
        session: SessionHeaders<'_>,
        last_event_id: Option<&str>,
    ) -> Result<Option<Incoming>, ClientError> {
        let mut req = self.request(Method::GET, session)?;
        req.headers_mut().insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        if let Some(id) = last_event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            req.headers_mut().insert(HEADER_LAST_EVENT_ID, id);
        }
        let resp = self.send(req).await?;
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(None);
        }
        let resp = check_status(resp, session.session_id.is_some()).await?;
        if !is_event_stream(resp.headers()) {
            return Err(ClientError::Protocol(
                "GET answered without text/event-stream".into(),
            ));
        }
        Ok(Some(resp.into_body()))
    }

    /// End an upstream session (best effort: 405 and errors are fine).
    pub async fn delete(&self, session: SessionHeaders<'_>) -> Result<(), ClientError> {
        let req = self.request(Method::DELETE, session)?;
        let resp = self.send(req).await?;
        tracing::debug!(status = %resp.status(), "upstream DELETE");
        Ok(())
    }

    fn request(
        &self,
        method: Method,
        session: SessionHeaders<'_>,
    ) -> Result<http::Request<Full<Bytes>>, ClientError> {
        let mut req = http::Request::new(Full::new(Bytes::new()));
        *req.method_mut() = method;
        *req.uri_mut() = self.endpoint.clone();
        let headers = req.headers_mut();
        if let Some(id) = session
            .session_id
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            headers.insert(HEADER_SESSION_ID, id);
        }
        if let Some(v) = session
            .protocol_version
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            headers.insert(HEADER_PROTOCOL_VERSION, v);
        }
        self.credentials.apply(headers, session.caller)?;
        Ok(req)
    }

    /// Send and wait for the response head, bounded by the toolkit's timeout.
    async fn send(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<Incoming>, ClientError> {
        match tokio::time::timeout(self.timeout, self.http.request(req)).await {
            Err(_) => Err(ClientError::Timeout(self.timeout)),
            Ok(Err(e)) => Err(ClientError::Unreachable(error_chain(&e))),
            Ok(Ok(resp)) => Ok(resp),
        }
    }
}

/// Non-2xx statuses become errors; an upstream that forgot our session says so
/// with 404 (the spec) or 400 mentioning the session (server-everything).
async fn check_status(
    resp: http::Response<Incoming>,
    sent_session: bool,
) -> Result<http::Response<Incoming>, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let www_authenticate = resp.headers().get(header::WWW_AUTHENTICATE).cloned();
    if sent_session && status == StatusCode::NOT_FOUND {
        return Err(ClientError::SessionExpired);
    }
    if sent_session && status == StatusCode::BAD_REQUEST {
        let body = read_body(resp.into_body(), 64 << 10)
            .await
            .unwrap_or_default();
        if String::from_utf8_lossy(&body)
            .to_ascii_lowercase()
            .contains("session")
        {
            return Err(ClientError::SessionExpired);
        }
    }
    Err(ClientError::Status {
        status,
        www_authenticate,
    })
}

async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, ClientError> {
    Limited::new(body, limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ClientError::Unreachable(format!("reading the reply: {e}")))
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// hyper's errors say little at the top level; the cause says what happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
