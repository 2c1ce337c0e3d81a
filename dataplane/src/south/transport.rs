//! The Streamable HTTP transport to one upstream: a message becomes one POST
//! (a stream, a GET; the session's end, a DELETE) with the session's headers
//! and the toolkit's credentials, and the status is read the way the spec
//! (and servers that deviate from it) mean it. No timeouts or resumption
//! decisions: the client ([`super::client`]) applies those around it.

use bytes::Bytes;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::Full;
use hyper::body::Incoming;

use super::credentials::UpstreamCredentials;
use super::error::{ClientError, ProtocolError};
use super::http::{HttpClient, read_limited};
use super::stream::{MessageStream, StreamSession};
use super::upstream::{JsonReply, PostReply, SessionHeaders};
use crate::era::params::ParamHeaders;
use crate::jsonrpc::Message;
use crate::mcp::{self, HEADER_LAST_EVENT_ID, HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID};

/// Largest JSON reply or SSE event accepted from an upstream.
pub const MAX_UPSTREAM_MESSAGE: usize = 16 << 20;

/// What an upstream answered to a POST, before any SSE is read.
#[derive(Debug)]
enum Posted {
    /// 202 (or 200 with no body): a notification or response was accepted.
    Accepted,
    /// One JSON message.
    Json {
        session_id: Option<String>,
        reply: JsonReply,
    },
    /// An SSE stream, to read messages from.
    Events {
        session_id: Option<String>,
        body: Incoming,
    },
}

/// One upstream reached over HTTP(S) at one URL.
#[derive(Clone, Debug)]
pub struct HttpUpstream {
    endpoint: Uri,
    http: HttpClient,
    credentials: Arc<UpstreamCredentials>,
    /// The tools' `x-mcp-header` arguments, as the toolkit last listed them.
    param_headers: Arc<ParamHeaders>,
}

impl HttpUpstream {
    pub fn new(endpoint: Uri, http: HttpClient, credentials: UpstreamCredentials) -> Self {
        Self {
            endpoint,
            http,
            credentials: Arc::new(credentials),
            param_headers: Arc::default(),
        }
    }

    /// The tools' `x-mcp-header` arguments, as this toolkit last listed them.
    pub fn param_headers(&self) -> &ParamHeaders {
        &self.param_headers
    }

    /// Whether requests carry the caller's own token.
    pub fn forwards_caller_token(&self) -> bool {
        self.credentials.forwards()
    }

    /// Send one message in `session` as a POST; a reply in SSE becomes a
    /// stream that can be resumed in the same session.
    pub async fn send(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        let mut headers = self.headers(session)?;
        let modern = session.protocol_version.is_some_and(crate::era::is_modern);
        if modern && let Message::Request(request) = message {
            request_metadata(&mut headers, request);
            if request.method == "tools/call"
                && let Some(tool) = request.param_str("name")
            {
                let arguments = request.params.as_ref().and_then(|p| p.get("arguments"));
                self.param_headers.apply(tool, arguments, &mut headers);
            }
        }
        // NB: awaited in place (see `ToolkitClient::post_once`).
        let in_session = session.session_id.is_some();
        Ok(
            match self
                .post(headers, in_session, modern, message.encode())
                .await?
            {
                Posted::Accepted => PostReply::Accepted,
                Posted::Json { session_id, reply } => PostReply::Json { session_id, reply },
                Posted::Events { session_id, body } => {
                    let want = match message {
                        Message::Request(r) => Some(r.id.clone()),
                        _ => None,
                    };
                    let resume = StreamSession {
                        session_id: session_id
                            .clone()
                            .or_else(|| session.session_id.map(str::to_owned)),
                        protocol_version: session.protocol_version.map(str::to_owned),
                        caller: session.caller.cloned(),
                    };
                    let stream = MessageStream::response(body, want, resume);
                    PostReply::Stream {
                        session_id,
                        stream: Box::new(stream),
                    }
                }
            },
        )
    }

    /// Open the standalone GET stream. `Ok(None)` when the upstream offers none (405).
    pub async fn open_stream(
        &self,
        session: SessionHeaders<'_>,
    ) -> Result<Option<MessageStream>, ClientError> {
        let headers = self.headers(session)?;
        let opened = self
            .get(headers, session.session_id.is_some(), None)
            .await?;
        Ok(opened.map(MessageStream::standalone))
    }

    /// Resume a response stream with `Last-Event-ID` (a GET).
    pub async fn resume(
        &self,
        session: SessionHeaders<'_>,
        last_event_id: &str,
    ) -> Result<Option<Incoming>, ClientError> {
        let headers = self.headers(session)?;
        let in_session = session.session_id.is_some();
        self.get(headers, in_session, Some(last_event_id)).await
    }

    /// End an upstream session (best effort: 405 and errors are fine).
    pub async fn end(&self, session: SessionHeaders<'_>) -> Result<(), ClientError> {
        let headers = self.headers(session)?;
        self.delete(headers).await
    }

    /// The headers of a request in `session`: its id and version, and this
    /// toolkit's credentials for the caller.
    fn headers(&self, session: SessionHeaders<'_>) -> Result<HeaderMap, ClientError> {
        // NB: room for what is set here and by the method, so the map grows once.
        let mut headers = HeaderMap::with_capacity(8);
        let id = match session.session_header {
            Some(built) => Some(built.clone()),
            None => session
                .session_id
                .and_then(|s| HeaderValue::from_str(s).ok()),
        };
        if let Some(id) = id {
            headers.insert(HEADER_SESSION_ID, id);
        }
        if let Some(v) = session.protocol_version.and_then(version_header) {
            headers.insert(HEADER_PROTOCOL_VERSION, v);
        }
        self.credentials.apply(&mut headers, session.caller)?;
        Ok(headers)
    }

    /// POST one encoded message with `headers` (session, version, credentials).
    /// `in_session` says whether a session id was sent, so that the upstream
    /// forgetting it reads as [`ClientError::SessionExpired`]; `modern`,
    /// whether the request is of the 2026-07-28 era, whose servers answer
    /// errors with a 4xx status and the JSON-RPC error as the body.
    async fn post(
        &self,
        mut headers: HeaderMap,
        in_session: bool,
        modern: bool,
        body: Bytes,
    ) -> Result<Posted, ClientError> {
        mcp::set_post_headers(&mut headers);
        crate::telemetry::inject(&mut headers);
        let resp = self.request(Method::POST, headers, body).await?;
        if resp.status() == StatusCode::ACCEPTED {
            return Ok(Posted::Accepted);
        }
        let modern_error = matches!(
            resp.status(),
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
        );
        let resp = if modern && modern_error && is_json(resp.headers()) {
            let status = resp.status();
            let body = read_limited(resp.into_body(), MAX_UPSTREAM_MESSAGE).await?;
            return match JsonReply::read(body) {
                Ok(reply @ JsonReply::Message(crate::jsonrpc::Message::Response(_))) => {
                    Ok(Posted::Json {
                        session_id: None,
                        reply,
                    })
                }
                _ => Err(ClientError::Status {
                    status,
                    www_authenticate: None,
                }),
            };
        } else {
            check_status(resp, in_session).await?
        };
        let session_id = header_string(resp.headers(), HEADER_SESSION_ID);
        if is_event_stream(resp.headers()) {
            return Ok(Posted::Events {
                session_id,
                body: resp.into_body(),
            });
        }
        let body = read_limited(resp.into_body(), MAX_UPSTREAM_MESSAGE).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            // Some servers answer a notification with 200 and no body.
            return Ok(Posted::Accepted);
        }
        let reply = JsonReply::read(body)?;
        Ok(Posted::Json { session_id, reply })
    }

    /// Open a GET stream (standalone, or resuming one with `Last-Event-ID`).
    /// `Ok(None)` when the upstream offers none (405).
    async fn get(
        &self,
        mut headers: HeaderMap,
        in_session: bool,
        last_event_id: Option<&str>,
    ) -> Result<Option<Incoming>, ClientError> {
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        if let Some(id) = last_event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert(HEADER_LAST_EVENT_ID, id);
        }
        let resp = self.request(Method::GET, headers, Bytes::new()).await?;
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(None);
        }
        let resp = check_status(resp, in_session).await?;
        if !is_event_stream(resp.headers()) {
            return Err(ProtocolError::NotEventStream.into());
        }
        Ok(Some(resp.into_body()))
    }

    async fn delete(&self, headers: HeaderMap) -> Result<(), ClientError> {
        let resp = self.request(Method::DELETE, headers, Bytes::new()).await?;
        tracing::debug!(status = %resp.status(), "upstream DELETE");
        Ok(())
    }

    async fn request(
        &self,
        method: Method,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<http::Response<Incoming>, ClientError> {
        let mut req = http::Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = self.endpoint.clone();
        *req.headers_mut() = headers;
        Ok(self.http.send(req).await?)
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
        let body = read_limited(resp.into_body(), 64 << 10)
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

/// The 2026-07-28 request metadata headers: `Mcp-Method`, and `Mcp-Name`
/// for the methods that name something.
fn request_metadata(headers: &mut HeaderMap, request: &crate::jsonrpc::Request) {
    use crate::era::{HEADER_METHOD, HEADER_NAME, encode_header_value, named_param};
    if let Ok(method) = HeaderValue::from_str(&request.method) {
        headers.insert(HEADER_METHOD, method);
    }
    let named = named_param(&request.method).and_then(|key| request.param_str(key));
    if let Some(name) = named.and_then(|n| HeaderValue::from_str(&encode_header_value(n)).ok()) {
        headers.insert(HEADER_NAME, name);
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

fn header_string(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `MCP-Protocol-Version` value for `version`: the versions the gateway
/// speaks are static values (no copy per request), any other is copied.
fn version_header(version: &str) -> Option<HeaderValue> {
    match crate::era::versions().find(|v| *v == version) {
        Some(v) => Some(HeaderValue::from_static(v)),
        None => HeaderValue::from_str(version).ok(),
    }
}
