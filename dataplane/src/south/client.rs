//! One toolkit's client: its upstream ([`super::upstream`]), the credentials
//! it is sent, and the policy every exchange runs under. Everything the proxy
//! sends a toolkit goes through here.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Uri};
use hyper::body::Incoming;

use super::credentials::UpstreamCredentials;
use super::error::ClientError;
use super::http::HttpClient;
use super::policy::{Policy, Step};
use super::stream::{MessageStream, Read, StreamSession};
use super::transport::{HttpUpstream, Posted};
use super::upstream::Upstream;
use crate::guard::Token;
use crate::jsonrpc::Message;
use crate::mcp::{HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID};

/// The upstream session a request belongs to, as HTTP headers, and the caller
/// it is made for (whose token the toolkit may be configured to receive).
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionHeaders<'a> {
    pub session_id: Option<&'a str>,
    pub protocol_version: Option<&'a str>,
    pub caller: Option<&'a Token>,
}

impl StreamSession {
    fn headers(&self) -> SessionHeaders<'_> {
        SessionHeaders {
            session_id: self.session_id.as_deref(),
            protocol_version: self.protocol_version.as_deref(),
            caller: self.caller.as_ref(),
        }
    }
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

/// The client of one toolkit.
#[derive(Clone, Debug)]
pub struct ToolkitClient {
    upstream: Upstream,
    policy: Policy,
    credentials: Arc<UpstreamCredentials>,
}

impl ToolkitClient {
    /// The client of a Streamable HTTP upstream at `endpoint`.
    pub fn new(
        endpoint: Uri,
        timeout: Duration,
        http: HttpClient,
        credentials: UpstreamCredentials,
    ) -> Self {
        Self {
            upstream: Upstream::Http(HttpUpstream::new(endpoint, http)),
            policy: Policy::new(timeout),
            credentials: Arc::new(credentials),
        }
    }

    /// Whether requests carry the caller's own token.
    pub fn forwards_caller_token(&self) -> bool {
        self.credentials.forwards()
    }

    /// The policy the toolkit's exchanges run under (for the upstream
    /// session, whose handshake and asks it bounds as a whole).
    pub(super) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn timeout(&self) -> Duration {
        self.policy.timeout()
    }

    /// POST one message; bounded until the reply starts. For a request, the
    /// reply carries its response (or a stream that ends with it).
    pub async fn post(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        let headers = self.headers(session)?;
        let sent = self
            .upstream
            .post(headers, session.session_id.is_some(), message.encode());
        Ok(match self.policy.run(Step::Reply, sent).await? {
            Posted::Accepted => PostReply::Accepted,
            Posted::Json {
                session_id,
                message,
            } => PostReply::Json {
                session_id,
                message,
            },
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
        })
    }

    /// Open the standalone GET stream. `Ok(None)` when the upstream offers none (405).
    pub async fn get_stream(
        &self,
        session: SessionHeaders<'_>,
        last_event_id: Option<&str>,
    ) -> Result<Option<Incoming>, ClientError> {
        let headers = self.headers(session)?;
        let opened = self
            .upstream
            .get(headers, session.session_id.is_some(), last_event_id);
        self.policy.run(Step::Reply, opened).await
    }

    /// End an upstream session (best effort: 405 and errors are fine).
    pub async fn delete(&self, session: SessionHeaders<'_>) -> Result<(), ClientError> {
        let headers = self.headers(session)?;
        self.policy
            .run(Step::Reply, self.upstream.delete(headers))
            .await
    }

    /// The next message of `stream`, resuming it when the upstream closed it
    /// before the response came; `None` when the stream is over. Unbounded:
    /// for standalone streams, which are quiet for as long as they like.
    pub async fn next(&self, stream: &mut MessageStream) -> Option<Result<Message, ClientError>> {
        loop {
            match stream.read().await {
                Read::Message(m) => return Some(Ok(m)),
                Read::Failed(e) => return Some(Err(e)),
                Read::Ended => {}
            }
            let (session, last_id, delay) = stream.resumption()?;
            let (session, last_id) = (session.clone(), last_id.to_owned());
            tokio::time::sleep(delay).await;
            match self.get_stream(session.headers(), Some(&last_id)).await {
                Ok(Some(body)) => stream.resumed(body),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// [`Self::next`] within the policy's bound. With `relaying`, the
    /// upstream's requests reach the client, so while one is out the wait is
    /// the longer one for people.
    pub async fn next_within(
        &self,
        stream: &mut MessageStream,
        relaying: bool,
    ) -> Result<Option<Message>, ClientError> {
        let step = Step::Next {
            awaiting_client: relaying && stream.awaiting_client(),
        };
        let next = async { self.next(stream).await.transpose() };
        self.policy.run(step, next).await
    }

    /// The headers of a request in `session`: its id and version, and this
    /// toolkit's credentials for the caller.
    fn headers(&self, session: SessionHeaders<'_>) -> Result<HeaderMap, ClientError> {
        let mut headers = HeaderMap::new();
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
        self.credentials.apply(&mut headers, session.caller)?;
        Ok(headers)
    }
}
