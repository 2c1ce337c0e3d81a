//! The kinds of upstream a toolkit can be, behind one message-level
//! interface: send a message and get its reply (one message or a stream of
//! them), open the stream of server messages, end the session. Today a
//! Streamable HTTP server (plain or TLS, HTTP/1.1 or h2: the HTTP client
//! picks per connection), which builds its own headers and applies the
//! toolkit's credentials; a stdio server joins as another variant. The
//! client ([`super::ToolkitClient`]) applies the policy around whichever it is.

use std::ops::Range;

use bytes::Bytes;
use http::HeaderValue;
use hyper::body::Incoming;

use super::error::{ClientError, ProtocolError};
use super::stream::MessageStream;
use super::transport::HttpUpstream;
use crate::guard::Token;
use crate::jsonrpc::{Message, RawSuccess, RequestId};

/// The upstream session a message belongs to, and the caller it is made for
/// (whose token the toolkit may be configured to receive).
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionHeaders<'a> {
    pub session_id: Option<&'a str>,
    /// `session_id` as a header value, when the session keeps one built.
    pub session_header: Option<&'a HeaderValue>,
    pub protocol_version: Option<&'a str>,
    pub caller: Option<&'a Token>,
}

/// What an upstream answered to a message.
#[derive(Debug)]
pub enum PostReply {
    /// A notification or response was accepted.
    Accepted,
    /// One message.
    Json {
        session_id: Option<String>,
        reply: JsonReply,
    },
    /// A stream of messages ending with the response.
    Stream {
        session_id: Option<String>,
        stream: Box<MessageStream>,
    },
}

/// A message an upstream answered with as one JSON body. A plain success
/// response keeps its result as text until someone needs it as values: a
/// result relayed unchanged is never built (nor written out again).
#[derive(Debug)]
pub enum JsonReply {
    /// A success response, its result unread.
    Success { body: Bytes, success: RawSuccess },
    /// Any other message, decoded.
    Message(Message),
}

impl JsonReply {
    /// Read `body`: what is not JSON-RPC is refused here, before any relaying. A
    /// success response's result is only checked to be well-formed JSON; one a
    /// `Value` cannot hold (a number like `1e400`) fails when it is built.
    pub fn read(body: Bytes) -> Result<Self, ProtocolError> {
        if let Some(success) = RawSuccess::peek(&body) {
            return Ok(Self::Success { body, success });
        }
        Ok(Self::Message(
            Message::decode(&body).map_err(ProtocolError::Decode)?,
        ))
    }

    /// The body as it came, when it is the success response to `id` and
    /// `unchanged` says its result text needs nothing changed.
    /// With the body, where the result's text lies in it.
    pub fn verbatim(
        &self,
        id: &RequestId,
        unchanged: impl FnOnce(&str) -> bool,
    ) -> Option<(Bytes, Range<usize>)> {
        let Self::Success { body, success } = self else {
            return None;
        };
        let text = std::str::from_utf8(body.get(success.result.clone())?).ok()?;
        (success.id == *id && unchanged(text)).then(|| (body.clone(), success.result.clone()))
    }

    /// The response to the request `id`, its result built as values. A reply
    /// that is no response, or answers another id, breaks the protocol: relayed,
    /// the client would wait for its own answer forever. An error whose id the
    /// upstream could not read (`null`) is taken as the answer to `id`.
    pub fn into_response_to(self, id: &RequestId) -> Result<Message, ClientError> {
        match self.into_message()? {
            Message::Response(mut r) => match &r.id {
                Some(answered) if answered == id => Ok(Message::Response(r)),
                None if r.outcome.is_err() => {
                    r.id = Some(id.clone());
                    Ok(Message::Response(r))
                }
                _ => Err(ProtocolError::WrongId.into()),
            },
            _ => Err(ProtocolError::NotAResponse.into()),
        }
    }

    /// The message, its result built as values.
    pub fn into_message(self) -> Result<Message, ClientError> {
        match self {
            Self::Message(message) => Ok(message),
            Self::Success { body, success } => success
                .into_message(&body)
                .map_err(|e| ProtocolError::Decode(e).into()),
        }
    }
}

/// One toolkit's upstream.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// A Streamable HTTP server at a URL.
    Http(HttpUpstream),
}

impl Upstream {
    /// Whether messages carry the caller's own token.
    pub fn forwards_caller_token(&self) -> bool {
        match self {
            Self::Http(http) => http.forwards_caller_token(),
        }
    }

    /// The tools' `x-mcp-header` arguments (see [`crate::era::params`]).
    pub fn param_headers(&self) -> &crate::era::params::ParamHeaders {
        match self {
            Self::Http(http) => http.param_headers(),
        }
    }

    /// Send one message in `session`; for a request, the reply carries its
    /// response (or a stream that ends with it).
    pub async fn send(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        match self {
            Self::Http(http) => http.send(session, message).await,
        }
    }

    /// Open the stream of server messages outside any request. `Ok(None)`
    /// when the upstream offers none.
    pub async fn open_stream(
        &self,
        session: SessionHeaders<'_>,
    ) -> Result<Option<MessageStream>, ClientError> {
        match self {
            Self::Http(http) => http.open_stream(session).await,
        }
    }

    /// Carry on a response stream the upstream closed before the response,
    /// after the event `last_event_id`. NB: an SSE matter (`Last-Event-ID`):
    /// an upstream whose streams cannot break early answers `Ok(None)`.
    pub async fn resume(
        &self,
        session: SessionHeaders<'_>,
        last_event_id: &str,
    ) -> Result<Option<Incoming>, ClientError> {
        match self {
            Self::Http(http) => http.resume(session, last_event_id).await,
        }
    }

    /// End the upstream session.
    pub async fn end(&self, session: SessionHeaders<'_>) -> Result<(), ClientError> {
        match self {
            Self::Http(http) => http.end(session).await,
        }
    }
}
