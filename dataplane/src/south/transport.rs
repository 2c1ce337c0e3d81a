//! The Streamable HTTP transport to one upstream: one POST, GET or DELETE
//! at a time, its status read the way the spec (and servers that deviate
//! from it) mean it. No timeouts, credentials or resumption: the client
//! ([`super::client`]) applies those around it.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::Full;
use hyper::body::Incoming;

use super::error::{ClientError, ProtocolError};
use super::http::{HttpClient, read_limited};
use crate::jsonrpc::Message;
use crate::mcp::{self, HEADER_LAST_EVENT_ID, HEADER_SESSION_ID};

/// Largest JSON reply or SSE event accepted from an upstream.
pub const MAX_UPSTREAM_MESSAGE: usize = 16 << 20;

/// What an upstream answered to a POST, before any SSE is read.
#[derive(Debug)]
pub enum Posted {
    /// 202 (or 200 with no body): a notification or response was accepted.
    Accepted,
    /// One JSON message.
    Json {
        session_id: Option<String>,
        message: Message,
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
}

impl HttpUpstream {
    pub fn new(endpoint: Uri, http: HttpClient) -> Self {
        Self { endpoint, http }
    }

    /// POST one encoded message with `headers` (session, version, credentials).
    /// `in_session` says whether a session id was sent, so that the upstream
    /// forgetting it reads as [`ClientError::SessionExpired`].
    pub async fn post(
        &self,
        mut headers: HeaderMap,
        in_session: bool,
        body: Bytes,
    ) -> Result<Posted, ClientError> {
        mcp::set_post_headers(&mut headers);
        let resp = self.send(Method::POST, headers, body).await?;
        if resp.status() == StatusCode::ACCEPTED {
            return Ok(Posted::Accepted);
        }
        let resp = check_status(resp, in_session).await?;
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
        let message = Message::decode(&body).map_err(ProtocolError::Decode)?;
        Ok(Posted::Json {
            session_id,
            message,
        })
    }

    /// Open a GET stream (standalone, or resuming one with `Last-Event-ID`).
    /// `Ok(None)` when the upstream offers none (405).
    pub async fn get(
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
        let resp = self.send(Method::GET, headers, Bytes::new()).await?;
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(None);
        }
        let resp = check_status(resp, in_session).await?;
        if !is_event_stream(resp.headers()) {
            return Err(ProtocolError::NotEventStream.into());
        }
        Ok(Some(resp.into_body()))
    }

    /// End an upstream session (best effort: 405 and errors are fine).
    pub async fn delete(&self, headers: HeaderMap) -> Result<(), ClientError> {
        let resp = self.send(Method::DELETE, headers, Bytes::new()).await?;
        tracing::debug!(status = %resp.status(), "upstream DELETE");
        Ok(())
    }

    async fn send(
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
