//! The endpoint for clients of the 2026-07-28 era: every request a POST that
//! says in its `_meta` (and its headers) which version it speaks and what
//! the client can do; no session, no handshake (`server/discover` instead),
//! no GET stream. Each request is checked as the revision's transport says
//! (the validation ladder), served by the proxy without a session, and its
//! result stamped with what that era's results carry.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::bridge::{Bridges, STATE_PREFIX, Waiting};
use super::{Endpoint, Result, accepted, event_stream, json_body, json_response};
use crate::call::Call;
use crate::era::stamp::Stamp;
use crate::era::{self, Envelope, HEADER_METHOD, HEADER_NAME, code as era_code};
use crate::ids;
use crate::jsonrpc::{ErrorObject, Message, Params, ParamsAs, Request, RequestId, Response, code};
use crate::mcp::method::{DISCOVER, ELICIT, ROOTS_LIST, SAMPLE, TOOLS_CALL};
use crate::mcp::{self, Era, HEADER_PROTOCOL_VERSION};
use crate::north::body::Body;
use crate::north::rejection::Rejection;
use crate::principal::Principal;
use crate::proxy::{BridgeUpstreams, BridgedUpstream, InitializeFailure, LISTEN, Reply};
use crate::south::Hello;
use crate::sse;

/// Whether a request belongs to the 2026-07-28 era: its `MCP-Protocol-Version`
/// names that revision or a later one. (A version the gateway does not serve
/// is then refused with the list of those it does; the 2025 revisions, and
/// requests without the header, keep their transport.)
pub(super) fn is_stateless(headers: &HeaderMap) -> bool {
    headers
        .get(HEADER_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !mcp::is_supported(v) && Era::of(v) == Era::Stateless)
}

/// The HTTP status of a JSON-RPC error sent to a client of this era: the
/// transport's rules for a malformed request, a header mismatch, an
/// unsupported version or a missing capability (400) and an unknown method (404).
fn status_of(error_code: i64) -> StatusCode {
    match error_code {
        code::PARSE_ERROR
        | code::INVALID_REQUEST
        | code::INVALID_PARAMS
        | era_code::HEADER_MISMATCH
        | era_code::MISSING_REQUIRED_CLIENT_CAPABILITY
        | era_code::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// A response, with the status its error (if any) calls for.
fn answer(message: &Message) -> http::Response<Body> {
    let mut resp = json_response(message);
    if let Message::Response(Response {
        outcome: Err(error),
        ..
    }) = message
    {
        *resp.status_mut() = status_of(error.code);
    }
    resp
}

fn refuse(id: RequestId, error: ErrorObject) -> http::Response<Body> {
    answer(&Message::Response(Response::error(Some(id), error)))
}

fn mismatch(message: impl Into<String>) -> ErrorObject {
    ErrorObject::new(era_code::HEADER_MISMATCH, message)
}

/// The validation ladder, first failure wins: routing headers given once,
/// the envelope in `_meta`, the headers matching the body, a version served.
/// The envelope is taken out of `params` (a toolkit is sent the gateway's own).
fn check(request: &mut Request, headers: &HeaderMap) -> std::result::Result<Envelope, ErrorObject> {
    // NB: each routing header looked up once: its value, or refused when given twice.
    let [version, method, name] =
        [&HEADER_PROTOCOL_VERSION, &HEADER_METHOD, &HEADER_NAME].map(|name| {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (_, Some(_)) => Err(mismatch(format!(
                    "Header mismatch: {name} is given more than once"
                ))),
                (value, None) => Ok(value.and_then(|v| v.to_str().ok())),
            }
        });
    let (version, method, name) = (version?, method?, name?);
    let envelope = Envelope::take(request.params.as_deref_mut())
        .map_err(|e| ErrorObject::new(code::INVALID_PARAMS, e.to_string()))?;
    if version != Some(envelope.protocol_version.as_str()) {
        return Err(mismatch(
            "Header mismatch: MCP-Protocol-Version does not match the protocol version in params._meta",
        ));
    }
    match method {
        None => return Err(mismatch("Header mismatch: Mcp-Method is required")),
        Some(m) if m != request.method => {
            return Err(mismatch(format!(
                "Header mismatch: Mcp-Method '{m}' does not match the body's method '{}'",
                request.method
            )));
        }
        Some(_) => {}
    }
    if let Some(key) = era::named_param(&request.method)
        && let Some(named) = request.param_str(key)
    {
        let carried = name.and_then(era::decode_header_value);
        if carried.as_deref() != Some(named) {
            return Err(mismatch(format!(
                "Header mismatch: Mcp-Name does not match the body's `{key}`"
            )));
        }
    }
    if !era::is_modern(&envelope.protocol_version) {
        let mut error = ErrorObject::new(
            era_code::UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
        );
        error.data = Some(era::unsupported_version_data(&envelope.protocol_version));
        return Err(error);
    }
    Ok(envelope)
}

/// What the client said of itself, as each toolkit's upstream session (or
/// each request to a 2026-07-28 toolkit) replays it: the toolkit's client
/// declares to each upstream what can cross between the eras (see
/// `south::discover::declared_capabilities`).
fn client_hello(envelope: Envelope) -> Hello {
    Hello {
        protocol_version: era::MODERN_VERSION.to_owned(),
        capabilities: envelope.client_capabilities,
        client_info: envelope
            .client_info
            .unwrap_or_else(|| json!({"name": "unknown", "version": "0"})),
        log_level: envelope.log_level,
    }
}

impl Endpoint {
    /// A request of the 2026-07-28 era (see [`is_stateless`]).
    pub(super) async fn stateless(
        &self,
        req: http::Request<Incoming>,
        principal: &Principal,
    ) -> Result<http::Response<Body>> {
        if req.method() != Method::POST {
            let mut resp = http::Response::new(Body::empty());
            *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Ok(resp);
        }
        // NB: params as values: the revision's envelope is taken out of
        // `params._meta` as values anyway (see `era::Envelope::take`).
        let (parts, message) = self.read_post(req, ParamsAs::Values).await?;
        match message {
            // NB: the revision defines no client notifications over HTTP
            // (closing a response stream is the cancellation): accepted, dropped.
            Message::Notification(_) => Ok(accepted()),
            Message::Response(_) => Err(Rejection::Message(ErrorObject::new(
                code::INVALID_REQUEST,
                "a client of the 2026-07-28 era sends no JSON-RPC responses",
            ))),
            Message::Request(request) => {
                self.stateless_request(request, &parts.headers, principal)
                    .await
            }
        }
    }

    async fn stateless_request(
        &self,
        mut request: Request,
        headers: &HeaderMap,
        principal: &Principal,
    ) -> Result<http::Response<Body>> {
        let envelope = match check(&mut request, headers) {
            Ok(envelope) => envelope,
            Err(error) => return Ok(refuse(request.id, error)),
        };
        if TOOLS_CALL.is(&request.method)
            && let Err(why) = self
                .proxy
                .verify_param_headers(principal, &request, headers)
        {
            let error = mismatch(format!("Header mismatch: {why}"));
            return Ok(refuse(request.id, error));
        }
        let log_level = envelope.log_level.as_deref().and_then(era::log_rank);
        let call = Call::sessionless(
            principal,
            Era::Stateless,
            era::MODERN_VERSION,
            Arc::new(client_hello(envelope)),
        );
        let stamp = Stamp::new(self.proxy.stamps(), &request.method);
        if DISCOVER.is(&request.method) {
            let bound = self.settings.initialize_timeout;
            return match self.proxy.discover(&call, bound).await {
                Ok(mut result) => {
                    stamp.result(&mut result);
                    Ok(answer(&Message::Response(Response::ok(request.id, result))))
                }
                Err(InitializeFailure::Challenge(c)) => Err(self.challenge(c, headers, principal)),
                Err(InitializeFailure::Error(e)) => Ok(refuse(request.id, e)),
            };
        }
        if request.method == LISTEN {
            let reloaded = self.lists_changed.subscribe();
            // NB: boxed: its future would otherwise take room in every
            // request's, which hyper moves into place per request.
            let listening = Box::pin(self.proxy.listen(&call, &request, reloaded));
            return Ok(match listening.await {
                Ok(frames) => event_stream(Body::Stream(frames, None, None)),
                Err(error) => refuse(request.id, error),
            });
        }
        if mcp::Method::find(&request.method).is_some_and(|m| !m.eras.has(Era::Stateless)) {
            let message = format!(
                "Method not found: {} (not part of protocol version {})",
                request.method,
                era::MODERN_VERSION
            );
            let error = ErrorObject::new(code::METHOD_NOT_FOUND, message);
            return Ok(refuse(request.id, error));
        }
        let id = request.id.clone();
        let named = era::named_param(&request.method)
            .and_then(|key| request.param_str(key))
            .map(str::to_owned);
        let bridge = named.is_some().then(|| Bridge {
            bridges: self.bridges.clone(),
            upstreams: self.proxy.bridge_upstreams(&call),
            owner: principal.identity().map(str::to_owned),
            method: request.method.clone(),
            target: named
                .as_deref()
                .and_then(|n| self.proxy.toolkit_named(&request.method, n)),
            name: named.clone(),
            sent_as: id.clone(),
        });
        if let Some(state) = request
            .params
            .as_ref()
            .and_then(|p| p.get("requestState"))
            .and_then(Value::as_str)
            .filter(|s| s.starts_with(STATE_PREFIX))
        {
            let Some(bridge) = bridge else {
                let error = ErrorObject::new(
                    code::INVALID_PARAMS,
                    "requestState of this gateway on a request that cannot carry it",
                );
                return Ok(refuse(id, error));
            };
            let responses = request
                .params
                .as_ref()
                .and_then(|p| p.get("inputResponses"));
            return Ok(self
                .resume(state, responses, id, stamp, log_level, bridge)
                .await);
        }
        match self.proxy.request(&call, request).await {
            Reply::Message(Message::Response(mut response)) => {
                if let Ok(result) = response.outcome.as_mut() {
                    stamp.result(result);
                }
                Ok(answer(&Message::Response(response)))
            }
            Reply::Message(other) => Ok(answer(&other)),
            Reply::Json(bytes, result) => {
                Ok(json_body(stamp.encoded(&bytes, result).unwrap_or(bytes)))
            }
            Reply::Stream(frames) => Ok(event_stream(Body::Stream(
                translate(frames, id, stamp, log_level, bridge),
                None,
                None,
            ))),
            Reply::Challenge(c) => Err(self.challenge(c, headers, principal)),
        }
    }

    /// A client's retry of a request the gateway answered with
    /// `input_required` for a 2025 toolkit: its input response goes to the
    /// toolkit under the toolkit's own id, and the toolkit's exchange carries
    /// on as the answer to this request.
    async fn resume(
        &self,
        state: &str,
        responses: Option<&Value>,
        id: RequestId,
        stamp: Stamp,
        log_level: Option<u8>,
        bridge: Bridge,
    ) -> http::Response<Body> {
        let owner = bridge.owner.as_deref();
        let waiting = match self
            .bridges
            .take(state, owner, &bridge.method, bridge.name.as_deref())
        {
            Ok(waiting) => waiting,
            Err(unknown) => {
                return refuse(
                    id,
                    ErrorObject::new(code::INVALID_PARAMS, unknown.to_string()),
                );
            }
        };
        let Some(response) = responses.and_then(|r| r.get(&waiting.key)).cloned() else {
            // Not answered: asked again (the toolkit still waits).
            let (key, input_request) = (waiting.key.clone(), waiting.input_request.clone());
            let token = self.bridges.hold(waiting);
            let mut result = input_required(&key, input_request, &token);
            stamp.result(&mut result);
            return answer(&Message::Response(Response::ok(id, result)));
        };
        if let Err(error) = waiting
            .upstream
            .answer(waiting.upstream_id.clone(), response)
            .await
        {
            return refuse(id, error);
        }
        let bridge = Bridge {
            upstreams: waiting.upstreams,
            sent_as: waiting.sent_as,
            ..bridge
        };
        event_stream(Body::Stream(
            translate(waiting.frames, id, stamp, log_level, Some(bridge)),
            None,
            None,
        ))
    }
}

/// What a stateless request needs to turn a toolkit's server→client request
/// into an `input_required` result and hold the exchange for the retry.
struct Bridge {
    bridges: Arc<Bridges>,
    upstreams: BridgeUpstreams,
    owner: Option<String>,
    method: String,
    name: Option<String>,
    /// The toolkit the name routes to.
    target: Option<Arc<str>>,
    /// The id the request went to the toolkit with (the first round's).
    sent_as: RequestId,
}

impl Bridge {
    /// The upstream the request went to (the relay sends it up under the
    /// client's own id).
    fn upstream(&self) -> Option<BridgedUpstream> {
        self.upstreams.get(self.target.as_deref()?)
    }
}

/// The `input_required` result asking the client for `request` under `key`.
fn input_required(key: &str, request: Value, token: &str) -> Value {
    json!({
        "resultType": "input_required",
        "inputRequests": { key: request },
        "requestState": token,
    })
}

/// A toolkit's server→client request as a 2026-07-28 input request: its
/// method and params, without what that revision removed (`elicitationId`).
fn input_request(request: &Request) -> Value {
    let mut params = request
        .params
        .clone()
        .map_or_else(|| json!({}), Params::into_value);
    if ELICIT.is(&request.method)
        && let Some(obj) = params.as_object_mut()
    {
        obj.remove("elicitationId");
    }
    json!({"method": request.method, "params": params})
}

/// The frames a toolkit's exchange sends down, as a client of this era may
/// receive them: the response stamped (and answering `id`); progress, and
/// log messages at the level the request asked for (none unless it asked);
/// nothing else. A request from the toolkit to the client (elicitation,
/// sampling, `roots/list`) cannot travel on this stream: with a `bridge` it
/// ends the stream as an `input_required` result and the exchange waits for
/// the client's retry; without one the exchange ends with an error.
fn translate(
    mut frames: mpsc::Receiver<Bytes>,
    id: RequestId,
    stamp: Stamp,
    log_level: Option<u8>,
    mut bridge: Option<Bridge>,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(32);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                next = frames.recv() => next,
                () = tx.closed() => {
                    // The client closed the stream: in this era, the cancellation.
                    if let Some(bridge) = &bridge
                        && let Some(upstream) = bridge.upstream()
                    {
                        upstream.cancel(&bridge.sent_as).await;
                    }
                    return;
                }
            };
            let Some(frame) = next else {
                return;
            };
            let Some(data) = sse::message_data(&frame) else {
                if tx.send(frame).await.is_err() {
                    return;
                }
                continue;
            };
            let (out, last) = match Message::decode(data) {
                Ok(Message::Response(mut response)) => {
                    if let Ok(result) = response.outcome.as_mut() {
                        stamp.result(result);
                    }
                    // NB: after a bridged round the exchange answers the retry.
                    response.id = Some(id.clone());
                    let encoded = Message::Response(response).encode();
                    (Some(sse::message_event(&encoded)), true)
                }
                Ok(Message::Notification(n)) => {
                    let wanted = match n.method.as_str() {
                        "notifications/progress" => true,
                        "notifications/message" => log_level.is_some_and(|floor| {
                            n.params
                                .as_ref()
                                .and_then(|p| p.get("level"))
                                .and_then(Value::as_str)
                                .and_then(era::log_rank)
                                .is_some_and(|rank| rank >= floor)
                        }),
                        _ => false,
                    };
                    (wanted.then_some(frame), false)
                }
                Ok(Message::Request(r)) => {
                    let target = bridge.as_ref().filter(|_| bridgeable(&r)).and_then(|b| {
                        let (toolkit, upstream_id) = ids::parse_client_bound_id(&r.id)?;
                        Some((b.upstreams.get(toolkit)?, upstream_id))
                    });
                    if let Some((upstream, upstream_id)) = target
                        && let Some(bridge) = bridge.take()
                    {
                        let key = match &r.id {
                            RequestId::String(s) => s.clone(),
                            RequestId::Number(n) => n.to_string(),
                        };
                        let request = input_request(&r);
                        let token = bridge.bridges.hold(Waiting {
                            frames,
                            upstream,
                            upstreams: bridge.upstreams,
                            upstream_id,
                            key: key.clone(),
                            input_request: request.clone(),
                            owner: bridge.owner,
                            method: bridge.method,
                            name: bridge.name,
                            sent_as: bridge.sent_as,
                            deadline: Bridges::deadline(),
                        });
                        let mut result = input_required(&key, request, &token);
                        stamp.result(&mut result);
                        let asked = Message::Response(Response::ok(id, result));
                        let _ = tx.send(sse::message_event(&asked.encode())).await;
                        return;
                    }
                    let error = ErrorObject::new(
                        code::INTERNAL_ERROR,
                        format!(
                            "the toolkit sent `{}` to the client mid-request, which the gateway cannot relay to a client of protocol version {}",
                            r.method,
                            era::MODERN_VERSION
                        ),
                    );
                    let refused = Message::Response(Response::error(Some(id.clone()), error));
                    (Some(sse::message_event(&refused.encode())), true)
                }
                Err(_) => (Some(frame), false),
            };
            if let Some(out) = out
                && tx.send(out).await.is_err()
            {
                return;
            }
            if last {
                return;
            }
        }
    });
    rx
}

/// Whether a toolkit's request to the client can cross as an input request.
fn bridgeable(request: &Request) -> bool {
    [&ELICIT, &SAMPLE, &ROOTS_LIST]
        .iter()
        .any(|m| m.is(&request.method))
}

#[cfg(test)]
mod tests;
