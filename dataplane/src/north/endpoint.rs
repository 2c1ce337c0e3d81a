//! One MCP endpoint (an `mcp server` binding): the Streamable HTTP transport
//! rules and sessions, in front of its proxy. Clients of the 2026-07-28 era
//! (no session) are served by [`stateless`] on the same endpoint.

mod bridge;
mod stateless;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use hyper::body::Incoming;
use mcpgw_config::{EndpointPlan, McpServerPlan};
use serde_json::Value;

use super::auth::{Authenticator, GuardBuildError};
use super::body::Body;
use super::headers::{accepts, is_json, origin_allowed};
use super::limits::{Bounded, CallerKey, ClientAddr, Quota};
use super::rejection::Rejection;
use crate::body::ReadError;
use crate::call::Call;
use crate::jsonrpc::{ErrorObject, Message, Params, ParamsAs, Request, Response, code};
use crate::mcp::method::INITIALIZE;
use crate::mcp::{self, Era, HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID};
use crate::principal::Principal;
use crate::proxy::{Challenge, InitializeFailure, Proxy, Reply};
use crate::session::{KeyError, Sealer, Session, SessionStore};
use crate::south::{Hello, HttpClient};

/// An endpoint as one applied plan has it. A reload builds a new one for
/// the same path that shares the sessions (and key) of the one it replaces.
#[derive(Debug)]
pub struct Endpoint {
    proxy: Proxy,
    sessions: Arc<SessionStore>,
    sealer: Arc<Sealer>,
    settings: McpServerPlan,
    /// The guard, when the endpoint has one (`options.authorization`).
    auth: Option<Authenticator>,
    /// Exchanges of 2026-07-28 clients with 2025 toolkits waiting for the client.
    bridges: Arc<bridge::Bridges>,
    /// Sessions and standalone streams per caller; kept over reloads, like the sessions.
    quotas: Arc<Quotas>,
    /// Bumped by each reload that changes what clients can list: open
    /// `subscriptions/listen` streams hear it (kept over reloads).
    lists_changed: Arc<tokio::sync::watch::Sender<u64>>,
}

#[derive(Debug, Default)]
struct Quotas {
    sessions: Arc<Quota>,
    streams: Arc<Quota>,
}

/// Why an endpoint could not be built from its plan.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Guard(#[from] GuardBuildError),
}

type Result<T, E = Rejection> = std::result::Result<T, E>;

/// Most bytes of client capabilities and info a session id carries (sealed,
/// base64: the id grows by about 4/3 of this, and proxies cap headers at 8 KiB).
const MAX_CARRIED_HELLO: usize = 4096;

impl Endpoint {
    /// An endpoint sealing session ids with the configured key file, or with
    /// a key generated now when none is configured. With `previous` (the
    /// endpoint this one replaces on reload) the sessions carry over, and so
    /// does the key unless the key file changed.
    pub fn new(
        proxy: Proxy,
        plan: &EndpointPlan,
        path: &str,
        previous: Option<&Endpoint>,
        http: &HttpClient,
    ) -> Result<Self, EndpointError> {
        let settings = plan.server.clone();
        let before = previous.and_then(|p| p.auth.as_ref());
        let auth = Authenticator::new(plan, path, before, proxy.metrics().clone(), http)?;
        let sealer = match previous {
            Some(p) if p.settings.session_key_file == settings.session_key_file => p.sealer.clone(),
            _ => Arc::new(match &settings.session_key_file {
                Some(path) => Sealer::from_file(path)?,
                None => Sealer::generate()?,
            }),
        };
        Ok(Self {
            proxy,
            sessions: previous.map_or_else(Arc::default, |p| p.sessions.clone()),
            bridges: previous.map_or_else(Arc::default, |p| p.bridges.clone()),
            sealer,
            settings,
            auth,
            quotas: previous.map_or_else(Arc::default, |p| p.quotas.clone()),
            lists_changed: previous.map_or_else(
                || Arc::new(tokio::sync::watch::Sender::new(0)),
                |p| p.lists_changed.clone(),
            ),
        })
    }

    /// The endpoint's proxy.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The endpoint's guard, if it has one (its metadata is served beside it).
    pub fn authenticator(&self) -> Option<&Authenticator> {
        self.auth.as_ref()
    }

    /// After a reload published this endpoint in place of `before`: bring
    /// the sessions in line with the new toolkits.
    pub fn reconcile(&self, before: &Endpoint) {
        let changes = self.proxy.changes_since(&before.proxy);
        if changes.is_empty() {
            return;
        }
        self.proxy.forget_pages(&changes);
        let sessions = self.sessions.all();
        tracing::info!(
            sessions = sessions.len(),
            lists_changed = changes.lists_changed,
            "toolkits changed"
        );
        for session in &sessions {
            changes.apply_to(session);
        }
        if changes.lists_changed {
            self.lists_changed
                .send_modify(|generation| *generation += 1);
        }
    }

    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }

    pub async fn handle(
        &self,
        req: http::Request<Incoming>,
        client: ClientAddr,
    ) -> http::Response<Body> {
        let outcome = if !origin_allowed(req.headers(), &self.settings.allowed_origins) {
            Err(Rejection::Origin)
        } else if !matches!(*req.method(), Method::POST | Method::GET | Method::DELETE) {
            Err(Rejection::Method)
        } else {
            match self.principal(req.headers()).await {
                Err(rejection) => Err(rejection),
                // NB: boxed: the stateless path's future is the larger, and
                // hyper moves a request's whole future into place per request
                // (past 8 KiB, through a slower copy).
                Ok(principal) if stateless::is_stateless(req.headers()) => {
                    Box::pin(self.stateless(req, &principal)).await
                }
                Ok(principal) => match *req.method() {
                    Method::POST => self.post(req, &principal, client).await,
                    Method::GET => self.get(req.headers(), &principal, Some(client)).await,
                    _ => self.delete(req.headers(), &principal),
                },
            }
        };
        outcome.unwrap_or_else(Rejection::into_response)
    }

    /// Who makes the request: the guard decides, before anything else is read.
    async fn principal(&self, headers: &HeaderMap) -> Result<Principal> {
        match &self.auth {
            None => Ok(Principal::Anonymous),
            Some(auth) => auth.authenticate(headers).await,
        }
    }

    async fn post(
        &self,
        req: http::Request<Incoming>,
        principal: &Principal,
        client: ClientAddr,
    ) -> Result<http::Response<Body>> {
        // NB: a session's messages go to toolkits mostly as they came (a
        // renamed `name` or `uri` at most): their params stay text.
        let (parts, message) = self.read_post(req, ParamsAs::Text).await?;
        if let Message::Request(r) = message {
            if INITIALIZE.is(&r.method) {
                return self
                    .initialize(r, &parts.headers, principal, Some(client))
                    .await;
            }
            let call = call_in(&self.session(&parts.headers, principal)?, principal);
            let answer = self.proxy.request(&call, r).await;
            return self.reply(answer, &parts.headers, principal);
        }
        let call = call_in(&self.session(&parts.headers, principal)?, principal);
        match message {
            Message::Notification(notification) => {
                self.proxy.notification(&call, notification).await
            }
            Message::Response(response) => self
                .proxy
                .client_response(&call, response)
                .await
                .map_err(Rejection::Message)?,
            Message::Request(_) => {}
        }
        Ok(accepted())
    }

    /// A POST's message, after the transport's rules of both eras: the client
    /// accepts JSON and SSE, sends JSON, within the body limit.
    async fn read_post(
        &self,
        req: http::Request<Incoming>,
        params_as: ParamsAs,
    ) -> Result<(http::request::Parts, Message)> {
        let wanted = accepts(req.headers());
        if !(wanted.json && wanted.event_stream) {
            return Err(Rejection::Accept(
                "both application/json and text/event-stream",
            ));
        }
        if !is_json(req.headers()) {
            return Err(Rejection::ContentType);
        }
        let (parts, body) = req.into_parts();
        let body = self.read_body(&parts.headers, body).await?;
        Ok((parts, Message::decode_with(&body, params_as)?))
    }

    /// The body, refused with 413 once it passes the limit (declared or actual).
    async fn read_body(&self, headers: &HeaderMap, body: Incoming) -> Result<Bytes> {
        let limit = self.settings.max_request_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Rejection::TooLarge(limit));
        }
        crate::body::read_whole(body, limit)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => Rejection::TooLarge(limit),
                ReadError::Read(_) => Rejection::BodyRead,
            })
    }

    async fn initialize(
        &self,
        request: Request,
        headers: &HeaderMap,
        principal: &Principal,
        client: Option<ClientAddr>,
    ) -> Result<http::Response<Body>> {
        let permit = self.quotas.sessions.acquire(
            &CallerKey::of(principal, client),
            self.settings.max_sessions_per_caller,
            Bounded::Sessions,
        )?;
        let params = request.params.map_or(Value::Null, Params::into_value);
        let requested = params.get("protocolVersion").and_then(Value::as_str);
        let version = mcp::negotiate(requested);
        let hello = Hello {
            protocol_version: version.to_owned(),
            capabilities: params
                .get("capabilities")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({})),
            client_info: params
                .get("clientInfo")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"name": "unknown", "version": "0"})),
            log_level: None,
        };
        // NB: the session id carries these, and must stay a reasonable header.
        let carried = hello.capabilities.to_string().len() + hello.client_info.to_string().len();
        if carried > MAX_CARRIED_HELLO {
            let error = ErrorObject::new(
                code::INVALID_PARAMS,
                format!(
                    "capabilities and clientInfo take {carried} bytes; at most {MAX_CARRIED_HELLO} are accepted"
                ),
            );
            let error = Response::error(Some(request.id), error);
            return Ok(json_response(&Message::Response(error)));
        }
        let owner = principal.identity().map(str::to_owned);
        let session = Arc::new(Session::new(version, hello, owner));
        session.hold(permit);
        let call = call_in(&session, principal);
        let initialized = self
            .proxy
            .initialize(&call, self.settings.initialize_timeout)
            .await;
        Ok(match initialized {
            Ok(result) => {
                session.set_id(self.sealer.seal(&session.sealed_state()));
                self.sessions.insert(session.clone());
                tracing::info!(session = %session.log_id(), version, "session started");
                let mut resp = json_response(&Message::Response(Response::ok(request.id, result)));
                if let Ok(id) = HeaderValue::from_str(session.id()) {
                    resp.headers_mut().insert(HEADER_SESSION_ID, id);
                }
                resp
            }
            Err(InitializeFailure::Challenge(challenge)) => {
                return Err(self.challenge(challenge, headers, principal));
            }
            Err(InitializeFailure::Error(e)) => {
                json_response(&Message::Response(Response::error(Some(request.id), e)))
            }
        })
    }

    async fn get(
        &self,
        headers: &HeaderMap,
        principal: &Principal,
        client: Option<ClientAddr>,
    ) -> Result<http::Response<Body>> {
        if !accepts(headers).event_stream {
            return Err(Rejection::Accept("text/event-stream"));
        }
        let session = self.session(headers, principal)?;
        let permit = self.quotas.streams.acquire(
            &CallerKey::of(principal, client),
            self.settings.max_streams_per_caller,
            Bounded::Streams,
        )?;
        let stop = session.open_standalone().ok_or(Rejection::StreamOpen)?;
        // The stream counts until it stops: the client left, or the session ended.
        let done = stop.clone();
        tokio::spawn(async move {
            done.cancelled().await;
            drop(permit);
        });
        let call = call_in(&session, principal);
        match self.proxy.standalone(&call, stop.clone()).await {
            Ok(frames) => Ok(event_stream(Body::Stream(
                frames,
                Some(stop.drop_guard()),
                None,
            ))),
            Err(challenge) => {
                stop.cancel();
                Err(self.challenge(challenge, headers, principal))
            }
        }
    }

    fn delete(&self, headers: &HeaderMap, principal: &Principal) -> Result<http::Response<Body>> {
        let session = self.session(headers, principal)?;
        self.end(&session, principal);
        tracing::info!(session = %session.log_id(), "session ended by the client");
        Ok(http::Response::new(Body::empty()))
    }

    /// Forget a session and end its upstream sessions in the background.
    fn end(&self, session: &Arc<Session>, principal: &Principal) {
        self.sessions.remove(session.id());
        self.proxy.close(session, principal);
    }

    /// The answer to a request, or its refusal with a challenge.
    fn reply(
        &self,
        reply: Reply,
        headers: &HeaderMap,
        principal: &Principal,
    ) -> Result<http::Response<Body>> {
        match reply {
            Reply::Message(message) => Ok(json_response(&message)),
            Reply::Json(bytes, _) => Ok(json_body(bytes)),
            Reply::Stream(frames) => Ok(event_stream(Body::Stream(frames, None, None))),
            Reply::Challenge(challenge) => Err(self.challenge(challenge, headers, principal)),
        }
    }

    fn challenge(
        &self,
        challenge: Challenge,
        headers: &HeaderMap,
        principal: &Principal,
    ) -> Rejection {
        match (challenge, &self.auth) {
            (Challenge::NeedsRoles(roles), Some(auth)) => {
                auth.needs_roles(headers, principal, &roles)
            }
            // NB: only a guarded endpoint has routes that need roles.
            (Challenge::NeedsRoles(_), None) => {
                Rejection::Message(crate::jsonrpc::ErrorObject::new(
                    code::INVALID_REQUEST,
                    "this route needs roles but the endpoint has no guard",
                ))
            }
            (
                Challenge::Upstream {
                    status,
                    www_authenticate,
                    error,
                },
                _,
            ) => Rejection::Challenge {
                status,
                challenge: www_authenticate,
                message: error.message,
            },
            (
                Challenge::Limited {
                    status,
                    retry_after,
                    id,
                    error,
                },
                _,
            ) => Rejection::Limited {
                status,
                retry_after,
                id: Some(id),
                error,
            },
        }
    }

    /// End the sessions idle for longer than the configured timeout.
    pub fn expire_idle(&self) {
        for session in self.sessions.expire(self.settings.session_idle_timeout) {
            tracing::debug!(session = %session.log_id(), "idle session dropped");
            // NB: a session opened from its sealed id may be in use on the
            // replica that created it; only that one ends the upstream sessions.
            if session.issued_here {
                self.proxy.close(&session, &Principal::Anonymous);
            }
        }
    }

    /// The request's session: 400 without the header, 404 when unknown or
    /// opened by another caller, 400 when the protocol version header names an
    /// unsupported version.
    fn session(&self, headers: &HeaderMap, principal: &Principal) -> Result<Arc<Session>> {
        let id = headers
            .get(HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .ok_or(Rejection::MissingSession)?;
        let session = match self.sessions.get(id) {
            Some(session) => session,
            None => self.reopen(id).ok_or(Rejection::UnknownSession)?,
        };
        // NB: a session is bound to who opened it; to anyone else it does not exist.
        if session.owner.as_deref() != principal.identity() {
            tracing::debug!(session = %session.log_id(), "session used by another caller");
            return Err(Rejection::UnknownSession);
        }
        if let Some(version) = headers.get(HEADER_PROTOCOL_VERSION) {
            let version = version.to_str().unwrap_or_default();
            if !mcp::is_supported(version) {
                return Err(Rejection::ProtocolVersion(
                    version.to_owned(),
                    mcp::SUPPORTED_VERSIONS.join(", "),
                ));
            }
        }
        Ok(session)
    }

    /// A session this process does not hold: open its sealed id (a foreign,
    /// tampered or ended id is unknown).
    fn reopen(&self, id: &str) -> Option<Arc<Session>> {
        if self.sessions.has_ended(id) {
            return None;
        }
        let session = Arc::new(Session::from_sealed(id, self.sealer.open(id)?)?);
        tracing::debug!(session = %session.log_id(), "session opened from its sealed id");
        self.sessions.insert(session.clone());
        Some(session)
    }

    /// End every session (at shutdown).
    pub fn close_all(&self) {
        for session in self.sessions.drain() {
            self.proxy.close(&session, &Principal::Anonymous);
        }
    }
}

fn json_response(message: &Message) -> http::Response<Body> {
    json_body(message.encode())
}

fn json_body(bytes: Bytes) -> http::Response<Body> {
    let mut resp = http::Response::new(Body::full(bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn event_stream(body: Body) -> http::Response<Body> {
    let mut resp = http::Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

/// The call a message in `session` makes. The protocol era is decided here,
/// at the edge, once per message, and the proxy takes it as given: every
/// message that reaches here belongs to a session, so its era is the one of
/// the version the session negotiated. (The 2026-07-28 era has no session and
/// is told apart before, in `handle`: see [`stateless`].)
fn call_in(session: &Arc<Session>, principal: &Principal) -> Call {
    Call::in_session(session, principal, Era::of(session.protocol_version))
}

fn accepted() -> http::Response<Body> {
    let mut resp = http::Response::new(Body::empty());
    *resp.status_mut() = StatusCode::ACCEPTED;
    resp
}
