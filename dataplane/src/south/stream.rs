//! JSON-RPC messages read from an upstream's SSE stream, and what resuming
//! it takes: the last event id and the `retry` the upstream asked for (the
//! 2025-11-25 "polling" pattern: priming event, `retry`, close). The stream
//! does not reconnect itself: the client ([`super::ToolkitClient::next`])
//! does, through the transport, under the toolkit's policy.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::error::{ClientError, ProtocolError, TransportError};
use super::transport::MAX_UPSTREAM_MESSAGE;
use super::upstream::SessionHeaders;
use crate::guard::Token;
use crate::jsonrpc::{Message, RequestId};
use crate::sse;

/// How many times one stream is resumed before the gateway gives up.
const MAX_RESUMES: u32 = 5;
/// Reconnection delay when the upstream sent no `retry`.
const DEFAULT_RETRY: Duration = Duration::from_millis(500);
/// Upper bound on an upstream-requested `retry`.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// What one read of the stream gave.
#[derive(Debug)]
pub enum Read {
    Message(Message),
    Failed(ClientError),
    /// The connection ended: resume it if [`MessageStream::resumption`] says so.
    Ended,
}

/// The upstream session a stream belongs to, kept to resume it.
#[derive(Clone, Debug, Default)]
pub struct StreamSession {
    pub session_id: Option<String>,
    pub protocol_version: Option<String>,
    /// The caller the stream was opened for (a resumption is made for them too).
    pub caller: Option<Token>,
}

impl StreamSession {
    /// The session to resume the stream in.
    pub fn headers(&self) -> SessionHeaders<'_> {
        SessionHeaders {
            session_id: self.session_id.as_deref(),
            session_header: None,
            protocol_version: self.protocol_version.as_deref(),
            caller: self.caller.as_ref(),
        }
    }
}

/// An upstream SSE stream of messages.
#[derive(Debug)]
pub struct MessageStream {
    body: Option<Incoming>,
    decoder: sse::Decoder,
    /// The response that completes this stream (`None` for a GET stream).
    want: Option<RequestId>,
    done: bool,
    /// Whether the last message was a request to the client (an elicitation,
    /// sampling): the upstream now waits for the client, who takes time.
    awaiting_client: bool,
    /// Set for streams that may be resumed (a POST's response stream).
    session: Option<StreamSession>,
    resumes: u32,
    /// The request's place among the toolkit's requests in flight
    /// (`max_concurrent_requests`), given back when the stream is dropped.
    _in_flight: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl MessageStream {
    /// A POST's response stream, completed by the response to `want`.
    pub fn response(body: Incoming, want: Option<RequestId>, session: StreamSession) -> Self {
        Self {
            session: Some(session),
            want,
            ..Self::standalone(body)
        }
    }

    /// A standalone (GET) stream: it has no response to wait for and is not resumed.
    pub fn standalone(body: Incoming) -> Self {
        Self {
            body: Some(body),
            decoder: sse::Decoder::new(MAX_UPSTREAM_MESSAGE),
            want: None,
            done: false,
            awaiting_client: false,
            session: None,
            resumes: 0,
            _in_flight: None,
        }
    }

    /// Keep the request's place among those in flight until the stream is dropped.
    pub(super) fn hold(&mut self, permit: tokio::sync::OwnedSemaphorePermit) {
        self._in_flight = Some(permit);
    }

    /// Whether the upstream waits for the client's answer to a request it sent.
    pub fn awaiting_client(&self) -> bool {
        self.awaiting_client
    }

    /// Read until the next message, or until the connection ends.
    pub async fn read(&mut self) -> Read {
        loop {
            match self.decoder.next_event() {
                Err(e) => return Read::Failed(ProtocolError::Sse(e).into()),
                Ok(Some(event)) => {
                    if event.event.as_deref().is_some_and(|e| e != "message")
                        || event.data.trim().is_empty()
                    {
                        continue;
                    }
                    let message = match Message::decode(event.data.as_bytes()) {
                        Ok(m) => m,
                        Err(e) => return Read::Failed(ProtocolError::Decode(e).into()),
                    };
                    if let (Message::Response(r), Some(want)) = (&message, &self.want)
                        && r.id.as_ref() == Some(want)
                    {
                        self.done = true;
                    }
                    self.awaiting_client = matches!(message, Message::Request(_));
                    return Read::Message(message);
                }
                Ok(None) => {}
            }
            let frame = match self.body.as_mut() {
                Some(body) => body.frame().await,
                None => None,
            };
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(&data);
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "upstream stream broke");
                    self.body = None;
                    if self.resumption().is_none() {
                        return Read::Failed(TransportError::classify(e).into());
                    }
                    return Read::Ended;
                }
                None => {
                    self.body = None;
                    return Read::Ended;
                }
            }
        }
    }

    /// After the connection ended: whether to resume, with the session, the
    /// event id to resume after and how long to wait first. `None` when the
    /// stream is over (the response came, it is a GET stream, the upstream
    /// gave no id, or it was resumed too often).
    pub fn resumption(&self) -> Option<(&StreamSession, &str, Duration)> {
        let session = self.session.as_ref()?;
        let last_id = self.decoder.last_event_id()?;
        if self.done || self.want.is_none() || self.resumes >= MAX_RESUMES {
            return None;
        }
        let delay = self
            .decoder
            .retry_ms
            .map_or(DEFAULT_RETRY, Duration::from_millis)
            .min(MAX_RETRY);
        Some((session, last_id, delay))
    }

    /// Carry on reading from a resumed connection.
    pub fn resumed(&mut self, body: Incoming) {
        self.resumes += 1;
        self.body = Some(body);
    }
}
