//! Relaying one exchange with one toolkit: the request goes up, and what comes
//! back (notifications, server→client requests, the response) comes down on
//! the same stream, renamed for the client. Also the reverse path for the
//! client's answers to server→client requests, and the standalone GET stream.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Challenge, Proxy, Reply, Toolkit, method_or_unknown, subscribe};
use crate::call::Call;
use crate::guard::Token;
use crate::ids;
use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response, code};
use crate::mcp::Method;
use crate::mcp::method::{CANCELLED, LISTS_CHANGED, TOOLS_CALL, TOOLS_LIST};
use crate::metrics::{GaugeGuard, Metrics, Observed, Operation, Outcome};
use crate::south::{ClientError, MessageStream, PostReply, ProtocolError};
use crate::sse;

/// What a toolkit answered a forwarded request with, read as far as relaying needs.
enum Posted {
    /// A success response to relay as its bytes.
    /// The reply's bytes, and where its result lies in them.
    Verbatim(Bytes, Range<usize>),
    Message(Message),
    Accepted,
    Stream(Box<MessageStream>),
}

/// Frames buffered towards a slow client before the relay waits for it.
pub(super) const STREAM_BUFFER: usize = 32;

/// The JSON-RPC error a client sees when a toolkit fails. Says which toolkit
/// and what kind of failure, never the upstream's address or credentials.
pub fn upstream_error(toolkit: &str, error: &ClientError) -> ErrorObject {
    match error {
        ClientError::Timeout(limit) => ErrorObject::new(
            code::REQUEST_TIMEOUT,
            format!("Request timed out: toolkit `{toolkit}` did not answer within {limit:?}"),
        ),
        other => ErrorObject::new(
            code::INTERNAL_ERROR,
            format!("toolkit `{toolkit}` is unavailable: {other}"),
        ),
    }
}

impl Proxy {
    /// Send a client request to one toolkit and relay the exchange. A
    /// `tools/call` a 2026-07-28 toolkit refuses for its `Mcp-Param-*` headers
    /// is sent once more after the toolkit's tools are listed again (see
    /// [`Self::relearn_tools`]).
    pub(super) async fn forward(
        &self,
        call: &Call,
        method: &'static Method,
        toolkit: Arc<Toolkit>,
        mut request: Request,
        observed: &mut Observed,
    ) -> Reply {
        let mut may_relearn = true;
        loop {
            let id = request.id.clone();
            let guard = call.begin(id.clone(), Some(toolkit.name.clone()));
            let slot = call.upstream(&toolkit);
            let caller = call.caller();
            let message = Message::Request(request);
            let posted = tokio::select! {
                r = slot.post(&toolkit.client, &call.hello, caller, &message) => r,
                () = guard.cancel.cancelled() => {
                    observed.set_outcome(Outcome::Cancelled);
                    return Reply::Stream(closed_stream());
                }
            };
            let posted = posted.and_then(|(upstream, reply)| match reply {
                PostReply::Json { reply, .. } => {
                    // NB: a result that renaming would leave as it is goes to the
                    // client as the upstream wrote it, without being built or re-encoded.
                    // NB: a tool list is read even when relayed as it is: the
                    // gateway learns its tools' annotations from it.
                    let unchanged = |text: &str| {
                        method.name != TOOLS_LIST.name && self.naming.leaves_untouched(method, text)
                    };
                    match reply.verbatim(&id, unchanged) {
                        Some((bytes, result)) => Ok((upstream, Posted::Verbatim(bytes, result))),
                        None => Ok((upstream, Posted::Message(reply.into_response_to(&id)?))),
                    }
                }
                PostReply::Accepted => Ok((upstream, Posted::Accepted)),
                PostReply::Stream { stream, .. } => Ok((upstream, Posted::Stream(stream))),
            });
            let (upstream, mut stream) = match posted {
                Err(e) => {
                    // NB: a refusal by the toolkit's own limits is the limit doing
                    // its job (and can come thousands of times a second): counted
                    // in the metrics, logged at debug only.
                    if e.refusal().is_some() {
                        tracing::debug!(toolkit = %toolkit.name, method = method.name, error = %e, "request refused by the toolkit's limits");
                    } else {
                        tracing::warn!(toolkit = %toolkit.name, method = method.name, error = %e, "upstream request failed");
                    }
                    self.metrics
                        .toolkit_failed(&toolkit.name, Operation::Request);
                    observed.set_outcome(Outcome::of_client_error(&e));
                    return self
                        .refused(call, method, toolkit, message, guard, &e)
                        .await;
                }
                Ok((_, Posted::Verbatim(bytes, result))) => {
                    if method.name == TOOLS_CALL.name {
                        observed.set_outcome(Outcome::of_tool_result(&bytes));
                    }
                    return Reply::Json(bytes, Some(result));
                }
                Ok((upstream, Posted::Message(mut reply))) => {
                    if may_relearn
                        && upstream.is_modern()
                        && is_header_mismatch(method, &reply)
                        && let Message::Request(again) = message
                        // NB: boxed: rare, and its future would otherwise take
                        // room in every relayed request's.
                        && Box::pin(self.relearn_tools(call, &toolkit, &again)).await
                    {
                        // NB: tools/call is never sent twice otherwise. This one
                        // may be: the toolkit refused it by its headers, before
                        // running the tool, and the gateway now knows the headers
                        // it asks for.
                        drop(guard);
                        may_relearn = false;
                        request = again;
                        continue;
                    }
                    toolkit.learn_listed(method, &mut reply);
                    return Reply::Message(expose(&self.naming, &toolkit.name, method, reply));
                }
                Ok((_, Posted::Accepted)) => {
                    let e = ClientError::Protocol(ProtocolError::RequestAccepted);
                    observed.set_outcome(Outcome::UpstreamError);
                    return Reply::Message(error_response(id, upstream_error(&toolkit.name, &e)));
                }
                Ok((upstream, Posted::Stream(stream))) => (upstream, stream),
            };
            let mut relay = Relay {
                toolkit,
                id,
                method,
                upstream_headers: (upstream.id.clone(), upstream.protocol_version.clone()),
                caller: caller.cloned(),
                metrics: self.metrics.clone(),
                observed: observed.defer(),
                awaiting_client: None,
            };
            // NB: an upstream that answered with SSE gets SSE downstream too, even
            // for a lone response: the client sees the framing the server chose.
            let (tx, rx) = mpsc::channel(STREAM_BUFFER);
            let naming = self.naming.clone();
            tokio::spawn(async move {
                loop {
                    let step = tokio::select! {
                        step = relay.next(&mut stream, &guard.cancel) => step,
                        // The client went away: stop relaying (and let go of the
                        // upstream stream) now, not when the next message comes.
                        () = tx.closed() => return,
                    };
                    let message = match step {
                        Step::Message(mut m) => {
                            relay.toolkit.heard(&m);
                            relay.toolkit.learn_listed(relay.method, &mut m);
                            expose(&naming, &relay.toolkit.name, relay.method, m)
                        }
                        Step::Done(Some(m)) => m,
                        Step::Done(None) => return,
                    };
                    let is_final = matches!(message, Message::Response(_));
                    relay.sending(&message);
                    if tx
                        .send(sse::message_event(&message.encode()))
                        .await
                        .is_err()
                        || is_final
                    {
                        // The client went away, or the exchange is complete.
                        return;
                    }
                }
            });
            return Reply::Stream(rx);
        }
    }

    /// The client answered a server→client request: send it to the toolkit
    /// that asked, under the toolkit's own id.
    pub async fn client_response(
        &self,
        call: &Call,
        mut response: Response,
    ) -> Result<(), ErrorObject> {
        if call
            .session
            .as_ref()
            .is_some_and(|s| s.answer_gateway_request(&response))
        {
            return Ok(());
        }
        let routed = response.id.as_ref().and_then(ids::parse_client_bound_id);
        let Some((toolkit, original)) = routed else {
            return Err(ErrorObject::new(
                code::INVALID_REQUEST,
                "the response does not answer a request of this gateway",
            ));
        };
        let toolkit = self.toolkit(toolkit).cloned().ok_or_else(|| {
            ErrorObject::new(
                code::INVALID_REQUEST,
                "the response answers an unknown toolkit",
            )
        })?;
        let upstream = call.open_upstream(&toolkit.name).ok_or_else(|| {
            ErrorObject::new(code::INVALID_REQUEST, "the toolkit's session is gone")
        })?;
        response.id = Some(original);
        if let Ok(result) = response.outcome.as_mut() {
            self.naming.hide_meta(result);
        }
        match toolkit
            .client
            .post(
                upstream.headers(call.caller()),
                &Message::Response(response),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(upstream_error(&toolkit.name, &e)),
        }
    }

    /// The merged standalone streams of every toolkit the session has open,
    /// until the client or the session goes away.
    /// Refused with the first upstream challenge when every upstream stream
    /// was refused and one of them with a challenge.
    pub async fn standalone(
        &self,
        call: &Call,
        stop: CancellationToken,
    ) -> Result<mpsc::Receiver<Bytes>, Challenge> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        // Open every upstream stream before answering the client, so that no
        // notification falls in the gap between the two.
        let caller = call.caller();
        let visible = self.visible(&call.principal);
        let opens = visible.iter().filter_map(|toolkit| {
            let upstream = call.open_upstream(&toolkit.name)?;
            Some(async move {
                let opened = if upstream.is_modern() {
                    // No GET stream in that era: the toolkit's own subscription
                    // to its list changes instead.
                    let slot = call.upstream(toolkit);
                    let every = subscribe::every_list_change();
                    Ok(
                        subscribe::listen_upstream(toolkit, &slot, &call.hello, caller, every)
                            .await,
                    )
                } else {
                    toolkit.client.get_stream(upstream.headers(caller)).await
                };
                (toolkit.clone(), opened)
            })
        });
        let opened = futures_util::future::join_all(opens).await;
        let any_open = opened.iter().any(|(_, o)| matches!(o, Ok(Some(_))));
        if !any_open
            && let Some(challenge) = opened
                .iter()
                .find_map(|(t, o)| upstream_challenge(&t.name, o.as_ref().err()?))
        {
            return Err(challenge);
        }
        if let Some(session) = &call.session {
            session.set_notifier(tx.clone());
        }
        for (toolkit, opened) in opened {
            let mut stream = match opened {
                Ok(Some(stream)) => stream,
                Ok(None) => continue, // 405: this upstream has no standalone stream
                Err(e) => {
                    tracing::debug!(toolkit = %toolkit.name, error = %e, "no upstream GET stream");
                    continue;
                }
            };
            let (tx, stop, naming) = (tx.clone(), stop.clone(), self.naming.clone());
            tokio::spawn(async move {
                loop {
                    let next = tokio::select! {
                        n = toolkit.client.next(&mut stream) => n,
                        () = stop.cancelled() => return,
                        () = tx.closed() => return,
                    };
                    let Some(Ok(mut message)) = next else {
                        return;
                    };
                    if !subscribe::for_a_session(&mut message) {
                        continue;
                    }
                    toolkit.heard(&message);
                    let message = expose(&naming, &toolkit.name, method_or_unknown(None), message);
                    if tx
                        .send(sse::message_event(&message.encode()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        keep_alive(tx, stop);
        Ok(rx)
    }
}

/// Keep-alives on a long-lived stream, which let the gateway notice a client
/// that went away (and then `stop` what feeds the stream).
pub(super) fn keep_alive(tx: mpsc::Sender<Bytes>, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return,
            }
            if tx.send(sse::keepalive()).await.is_err() {
                stop.cancel();
                return;
            }
        }
    });
}

impl Toolkit {
    /// Note what the toolkit said that concerns the gateway itself: a
    /// `list_changed` makes its cached pages stale (the notification is
    /// still relayed).
    pub(super) fn heard(&self, message: &Message) {
        if let Message::Notification(n) = message
            && LISTS_CHANGED.iter().any(|m| m.is(&n.method))
        {
            self.listing.lists_changed();
        }
    }
}

impl Toolkit {
    /// A `tools/list` page relayed whole (one toolkit, names unchanged)
    /// teaches the gateway its tools' `x-mcp-header` annotations, as a page
    /// fetched for a merged list does (tools with invalid ones are taken out).
    fn learn_listed(&self, method: &Method, message: &mut Message) {
        if method.name == TOOLS_LIST.name
            && let Message::Response(Response {
                outcome: Ok(page), ..
            }) = message
        {
            self.client.param_headers().learn(page);
        }
    }
}

/// Whether `reply` refuses a `tools/call` for its headers (`-32020`, which a
/// 2026-07-28 server answers when `Mcp-Param-*` headers are missing or wrong).
fn is_header_mismatch(method: &Method, reply: &Message) -> bool {
    method.name == TOOLS_CALL.name
        && matches!(reply, Message::Response(Response { outcome: Err(e), .. })
            if e.code == crate::era::code::HEADER_MISMATCH)
}

/// Rename what a toolkit sends for the client.
fn expose(naming: &super::Naming, toolkit: &str, method: &Method, message: Message) -> Message {
    match message {
        Message::Response(mut r) => {
            if let Ok(result) = r.outcome.as_mut() {
                naming.expose_result(toolkit, method, result);
            }
            Message::Response(r)
        }
        Message::Notification(mut n) => {
            if let Some(params) = n.params.as_mut() {
                naming.expose_params(toolkit, &n.method, params);
            }
            Message::Notification(n)
        }
        Message::Request(mut r) => {
            r.id = ids::client_bound_id(toolkit, &r.id);
            if let Some(params) = r.params.as_mut() {
                naming.expose_params(toolkit, &r.method, params);
            }
            Message::Request(r)
        }
    }
}

/// An upstream's refusal with a challenge, to relay to the client as it was sent.
pub(super) fn upstream_challenge(toolkit: &str, error: &ClientError) -> Option<Challenge> {
    let (status, challenge) = error.challenge()?;
    Some(Challenge::Upstream {
        status,
        www_authenticate: challenge.clone(),
        error: ErrorObject::new(
            code::INVALID_REQUEST,
            format!("toolkit `{toolkit}` refused the request's credentials ({status})"),
        ),
    })
}

pub(super) fn error_response(id: RequestId, error: ErrorObject) -> Message {
    Message::Response(Response::error(Some(id), error))
}

/// An SSE stream that ends at once: the answer to a cancelled request.
fn closed_stream() -> mpsc::Receiver<Bytes> {
    mpsc::channel(1).1
}

/// The state of one relayed exchange.
struct Relay {
    toolkit: Arc<Toolkit>,
    id: RequestId,
    method: &'static Method,
    /// Session headers for the cancellation the gateway sends on timeout.
    upstream_headers: (Option<String>, String),
    /// The caller the exchange is made for.
    caller: Option<Token>,
    metrics: Arc<Metrics>,
    /// The client request, counted when its response goes down.
    observed: Observed,
    /// Raised while a request of the toolkit waits for the client's answer.
    awaiting_client: Option<GaugeGuard>,
}

enum Step {
    /// Something the upstream sent.
    Message(Message),
    /// The exchange is over; a last message (an error response) may be owed to the client.
    Done(Option<Message>),
}

impl Relay {
    /// `message` goes down to the client.
    fn sending(&mut self, message: &Message) {
        match message {
            Message::Response(_) => {
                self.observed.finish_with(message);
                self.awaiting_client = None;
            }
            Message::Request(_) => {
                self.awaiting_client = Some(self.metrics.client_request_relayed());
            }
            // NB: like the upstream stream's own `awaiting_client`, the wait
            // ends with the next message from the toolkit.
            Message::Notification(_) => self.awaiting_client = None,
        }
    }

    /// The exchange failed: count it and answer the client with `error`.
    fn failed(&mut self, error: &ClientError) -> Step {
        self.metrics
            .toolkit_failed(&self.toolkit.name, Operation::Request);
        self.observed.set_outcome(Outcome::of_client_error(error));
        Step::Done(Some(error_response(
            self.id.clone(),
            upstream_error(&self.toolkit.name, error),
        )))
    }

    async fn next(&mut self, stream: &mut MessageStream, cancel: &CancellationToken) -> Step {
        let next = tokio::select! {
            n = self.toolkit.client.next_within(stream, true) => n,
            () = cancel.cancelled() => return Step::Done(None),
        };
        match next {
            Err(e @ ClientError::Timeout(_)) => {
                self.cancel_upstream("the gateway's request timeout expired")
                    .await;
                self.failed(&e)
            }
            Ok(None) => self.failed(&ProtocolError::NoResponse.into()),
            Err(e) => {
                tracing::warn!(toolkit = %self.toolkit.name, error = %e, "upstream stream failed");
                self.failed(&e)
            }
            Ok(Some(message)) => Step::Message(message),
        }
    }

    async fn cancel_upstream(&self, reason: &str) {
        let cancelled = Message::Notification(Notification::new(
            CANCELLED.name,
            Some(serde_json::json!({"requestId": self.id.to_value(), "reason": reason})),
        ));
        let headers = crate::south::SessionHeaders {
            session_id: self.upstream_headers.0.as_deref(),
            session_header: None,
            protocol_version: Some(&self.upstream_headers.1),
            caller: self.caller.as_ref(),
        };
        let _ = self.toolkit.client.post(headers, &cancelled).await;
    }
}
