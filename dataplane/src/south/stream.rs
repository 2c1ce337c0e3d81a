//! JSON-RPC messages read from an upstream SSE stream, resuming it with
//! `Last-Event-ID` when the upstream closes it before the response arrived
//! (the 2025-11-25 "polling" pattern: priming event, `retry`, close).

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::transport::{ClientError, MAX_UPSTREAM_MESSAGE, SessionHeaders, ToolkitClient};
use crate::guard::Token;
use crate::jsonrpc::{Message, RequestId};
use crate::sse;

/// How many times one stream is resumed before the gateway gives up.
const MAX_RESUMES: u32 = 5;
/// Reconnection delay when the upstream sent no `retry`.
const DEFAULT_RETRY: Duration = Duration::from_millis(500);
/// Upper bound on an upstream-requested `retry`.
const MAX_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct MessageStream {
    body: Option<Incoming>,
    decoder: sse::Decoder,
    /// The response that completes this stream (None for a GET stream).
    want: Option<RequestId>,
    done: bool,
    /// Used to resume the stream via GET.
    client: Option<ToolkitClient>,
    session_id: Option<String>,
    protocol_version: Option<String>,
    /// The caller the stream was opened for (a resumption is made for them too).
    caller: Option<Token>,
    resumes: u32,
}

impl MessageStream {
    pub(super) fn new(
        body: Incoming,
        want: Option<RequestId>,
        client: Option<ToolkitClient>,
        session_id: Option<String>,
        protocol_version: Option<String>,
        caller: Option<Token>,
    ) -> Self {
        Self {
            body: Some(body),
            decoder: sse::Decoder::new(MAX_UPSTREAM_MESSAGE),
            want,
            done: false,
            client,
            session_id,
            protocol_version,
            caller,
            resumes: 0,
        }
    }

    /// A standalone (GET) stream: it has no response to wait for and is not resumed here.
    pub fn standalone(body: Incoming) -> Self {
        Self::new(body, None, None, None, None, None)
    }

    /// The next message; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Result<Message, ClientError>> {
        loop {
            match self.decoder.next_event() {
                Err(e) => return Some(Err(ClientError::Protocol(e.to_string()))),
                Ok(Some(event)) => {
                    if event.event.as_deref().is_some_and(|e| e != "message")
                        || event.data.trim().is_empty()
                    {
                        continue;
                    }
                    let message = match Message::decode(event.data.as_bytes()) {
                        Ok(m) => m,
                        Err(e) => return Some(Err(ClientError::Protocol(e.to_string()))),
                    };
                    if let (Message::Response(r), Some(want)) = (&message, &self.want)
                        && r.id.as_ref() == Some(want)
                    {
                        self.done = true;
                    }
                    return Some(Ok(message));
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
                    if let Err(e) = self.resume().await? {
                        return Some(Err(e));
                    }
                }
                None => {
                    if let Err(e) = self.resume().await? {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// After the connection ended: reconnect with `Last-Event-ID` if the
    /// response is still owed and the upstream gave us an id to resume from.
    /// `None` means the stream is over.
    async fn resume(&mut self) -> Option<Result<(), ClientError>> {
        self.body = None;
        let client = self.client.as_ref()?;
        let last_id = self.decoder.last_event_id()?.to_owned();
        if self.done || self.want.is_none() || self.resumes >= MAX_RESUMES {
            return None;
        }
        self.resumes += 1;
        let delay = self
            .decoder
            .retry_ms
            .map_or(DEFAULT_RETRY, Duration::from_millis)
            .min(MAX_RETRY);
        tokio::time::sleep(delay).await;
        let session = SessionHeaders {
            session_id: self.session_id.as_deref(),
            protocol_version: self.protocol_version.as_deref(),
            caller: self.caller.as_ref(),
        };
        match client.get_stream(session, Some(&last_id)).await {
            Ok(Some(body)) => {
                self.body = Some(body);
                Some(Ok(()))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
