//! The upstream session one downstream session holds with one toolkit:
//! opened with the downstream client's own capabilities (what an upstream
//! offers depends on them), re-opened once when the upstream forgets it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::HeaderValue;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::client::ToolkitClient;
use super::discover::{self, UpstreamEra};
use super::error::{ClientError, ProtocolError};
use super::policy::{self, Step};
use super::upstream::{PostReply, SessionHeaders};
use crate::guard::Token;
use crate::ids;
use crate::jsonrpc::{ErrorObject, Message, Notification, Request};
use crate::mcp::LATEST_VERSION;
use crate::mcp::method::{INITIALIZE, INITIALIZED};

/// What the downstream client said in `initialize`, replayed to each upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    pub protocol_version: String,
    pub capabilities: Value,
    pub client_info: Value,
    /// The lowest level of log messages the client wants (a 2026-07-28
    /// client's `_meta` `logLevel`, a 2025 client's `logging/setLevel`): a
    /// 2026-07-28 upstream gets it in each request's `_meta`.
    pub log_level: Option<String>,
}

/// An initialized upstream session.
#[derive(Debug)]
pub struct UpstreamSession {
    /// `None` when the upstream runs without sessions.
    pub id: Option<String>,
    /// The version the upstream chose.
    pub protocol_version: String,
    /// The upstream's `InitializeResult`.
    pub init: Value,
    /// `id` as a header value, built once: every request in the session sends it.
    id_header: Option<HeaderValue>,
}

impl UpstreamSession {
    pub fn new(id: Option<String>, protocol_version: String, init: Value) -> Self {
        let id_header = id.as_deref().and_then(|id| HeaderValue::from_str(id).ok());
        Self {
            id,
            protocol_version,
            init,
            id_header,
        }
    }

    /// The headers of a request in this session made for `caller`.
    pub fn headers<'a>(&'a self, caller: Option<&'a Token>) -> SessionHeaders<'a> {
        SessionHeaders {
            session_id: self.id.as_deref(),
            session_header: self.id_header.as_ref(),
            protocol_version: Some(&self.protocol_version),
            caller,
        }
    }

    pub fn capabilities(&self) -> &Value {
        self.init.get("capabilities").unwrap_or(&Value::Null)
    }

    /// Whether the upstream speaks the 2026-07-28 era (no session, an
    /// envelope on every request).
    pub fn is_modern(&self) -> bool {
        crate::era::is_modern(&self.protocol_version)
    }
}

/// The slot for one toolkit's upstream session. Initialization is single-flight;
/// a failed one leaves the slot empty so the next use tries again.
#[derive(Debug, Default)]
pub struct UpstreamSlot {
    // NB: a std lock, only ever held to clone or swap the cell, never across an await.
    cell: RwLock<Arc<OnceCell<Arc<UpstreamSession>>>>,
}

impl UpstreamSlot {
    /// A slot holding an upstream session that was opened elsewhere.
    pub fn open_with(session: UpstreamSession) -> Self {
        Self {
            cell: RwLock::new(Arc::new(OnceCell::new_with(Some(Arc::new(session))))),
        }
    }

    /// The current session if one is open.
    pub fn current(&self) -> Option<Arc<UpstreamSession>> {
        self.cell().get().cloned()
    }

    /// The session, opening it first if needed (for `caller`).
    pub async fn get(
        &self,
        client: &ToolkitClient,
        hello: &Hello,
        caller: Option<&Token>,
    ) -> Result<Arc<UpstreamSession>, ClientError> {
        let cell = self.cell();
        if let Some(open) = cell.get() {
            return Ok(open.clone());
        }
        // NB: the handshake is boxed: inline, its state (several posts and
        // stream reads) would make every caller's future kilobytes larger and
        // be copied on each request, though a session opens once.
        cell.get_or_try_init(|| Box::pin(async { open(client, hello, caller).await.map(Arc::new) }))
            .await
            .cloned()
    }

    /// The session, opened for `caller` if needed, waited for at most
    /// `bound`: past it the handshake carries on in the background (and the
    /// session joins when ready) while the caller gets
    /// [`ClientError::Timeout`] with `bound`.
    pub async fn open_within(
        self: Arc<Self>,
        client: ToolkitClient,
        hello: Arc<Hello>,
        caller: Option<Token>,
        bound: Duration,
    ) -> Result<Arc<UpstreamSession>, ClientError> {
        let open = async move { self.get(&client, &hello, caller.as_ref()).await };
        policy::detached(bound, open).await
    }

    /// Forget `stale` (if it is still the current one) so the next `get` re-opens.
    pub fn invalidate(&self, stale: &Arc<UpstreamSession>) {
        let mut cell = self.cell.write().unwrap_or_else(|p| p.into_inner());
        if cell.get().is_some_and(|s| Arc::ptr_eq(s, stale)) {
            *cell = Arc::default();
        }
    }

    /// Take the session out (for DELETE at the end of the downstream session).
    pub fn take(&self) -> Option<Arc<UpstreamSession>> {
        let mut cell = self.cell.write().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *cell).get().cloned()
    }

    fn cell(&self) -> Arc<OnceCell<Arc<UpstreamSession>>> {
        self.cell.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// POST `message` in this session; if the upstream says the session
    /// expired, re-initialize once and send it again.
    pub async fn post(
        &self,
        client: &ToolkitClient,
        hello: &Hello,
        caller: Option<&Token>,
        message: &Message,
    ) -> Result<(Arc<UpstreamSession>, PostReply), ClientError> {
        // NB: one await of each future, in a loop, rather than a second
        // copy for the retry: each await site of a future type takes room
        // in this future, which the relay holds and moves.
        let mut renewed = false;
        loop {
            let session = self.get(client, hello, caller).await?;
            let modern;
            let sent = if session.is_modern() {
                // No session to expire: the request carries the client's envelope.
                match discover::for_modern(message, hello) {
                    Some(m) => {
                        modern = m;
                        &modern
                    }
                    None => return Ok((session, PostReply::Accepted)),
                }
            } else {
                message
            };
            match client.post(session.headers(caller), sent).await {
                Err(ClientError::SessionExpired) if !renewed => {
                    tracing::info!("upstream session expired; re-initializing");
                    self.invalidate(&session);
                    renewed = true;
                }
                Err(e) => return Err(e),
                Ok(reply) => return Ok((session, reply)),
            }
        }
    }

    /// One request/response, nothing relayed, if the upstream declares the
    /// `capability` path (`Ok(None)` when it does not): the session opened
    /// first if needed. The whole ask is bounded by the toolkit's policy.
    pub async fn ask(
        &self,
        client: &ToolkitClient,
        hello: &Hello,
        caller: Option<&Token>,
        capability: &[&str],
        request: Request,
    ) -> Result<Option<Result<Value, ErrorObject>>, ClientError> {
        let ask = async {
            let upstream = self.get(client, hello, caller).await?;
            let declared = capability
                .iter()
                .try_fold(upstream.capabilities(), |v, k| v.get(k))
                .is_some();
            if !declared {
                return Ok(None);
            }
            self.exchange(client, hello, caller, request)
                .await
                .map(Some)
        };
        client.policy().run(Step::Ask, ask).await
    }

    /// One request/response in this session, nothing relayed: the final
    /// response's outcome (for fan-outs, where interleaved messages are not
    /// relayed). Each step is bounded by the toolkit's policy.
    pub async fn exchange(
        &self,
        client: &ToolkitClient,
        hello: &Hello,
        caller: Option<&Token>,
        request: Request,
    ) -> Result<Result<Value, ErrorObject>, ClientError> {
        let id = request.id.clone();
        let message = Message::Request(request);
        let (_, reply) = self.post(client, hello, caller, &message).await?;
        let mut stream = match reply {
            PostReply::Json { reply, .. } => return final_outcome(reply.into_message()?),
            PostReply::Accepted => return Err(ProtocolError::RequestAccepted.into()),
            PostReply::Stream { stream, .. } => stream,
        };
        loop {
            match client.next_within(&mut stream, false).await? {
                Some(Message::Response(r)) if r.id.as_ref() == Some(&id) => return Ok(r.outcome),
                Some(_) => {}
                None => return Err(ProtocolError::NoResponse.into()),
            }
        }
    }
}

fn final_outcome(message: Message) -> Result<Result<Value, ErrorObject>, ClientError> {
    match message {
        Message::Response(r) => Ok(r.outcome),
        _ => Err(ProtocolError::NotAResponse.into()),
    }
}

/// The toolkit's upstream session for `hello`'s client, in the client's own
/// era when the upstream speaks it: a 2026-07-28 client's is discovered
/// (initialized when the upstream turns out to be a 2025 server), a 2025
/// client's initialized (discovered when the upstream refuses the handshake
/// and turns out to speak 2026-07-28 only). NB: so a dual-era upstream
/// serves each client in its own era, a 2025 client with its GET stream and
/// server→client requests, which the 2026-07-28 era has not.
async fn open(
    client: &ToolkitClient,
    hello: &Hello,
    caller: Option<&Token>,
) -> Result<UpstreamSession, ClientError> {
    if crate::era::is_modern(&hello.protocol_version) {
        if let Some(modern) = discover::open_modern(client, hello, caller).await? {
            return Ok(modern);
        }
        return initialize(client, hello, caller).await;
    }
    let refused = match initialize(client, hello, caller).await {
        Ok(session) => return Ok(session),
        Err(e) => e,
    };
    let refusal = matches!(
        refused,
        ClientError::Initialize(_) | ClientError::Status { .. } | ClientError::Protocol(_)
    );
    if !refusal || refused.challenge().is_some() {
        return Err(refused);
    }
    match discover::open_modern(client, hello, caller).await {
        Ok(Some(modern)) => Ok(modern),
        _ => Err(refused),
    }
}

/// The initialize handshake: request, response, `notifications/initialized`,
/// at the client's version (the latest 2025 one for a 2026-07-28 client).
async fn initialize(
    client: &ToolkitClient,
    hello: &Hello,
    caller: Option<&Token>,
) -> Result<UpstreamSession, ClientError> {
    let asked = if crate::era::is_modern(&hello.protocol_version) {
        LATEST_VERSION
    } else {
        hello.protocol_version.as_str()
    };
    let id = ids::gateway_to_upstream(INITIALIZE.name);
    let request = Message::Request(Request::new(
        id.clone(),
        INITIALIZE.name,
        Some(json!({
            "protocolVersion": asked,
            "capabilities": discover::declared_capabilities(hello, UpstreamEra::Legacy),
            "clientInfo": hello.client_info,
        })),
    ));
    let handshake = async {
        let first = SessionHeaders {
            caller,
            ..SessionHeaders::default()
        };
        let (session_id, response) = match client.post(first, &request).await? {
            PostReply::Json { session_id, reply } => (session_id, reply.into_message()?),
            PostReply::Stream {
                session_id,
                mut stream,
            } => loop {
                match client.next(&mut stream).await {
                    Some(Ok(m @ Message::Response(_))) => break (session_id, m),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e),
                    None => return Err(ProtocolError::NoResponse.into()),
                }
            },
            PostReply::Accepted => return Err(ProtocolError::RequestAccepted.into()),
        };
        let Message::Response(response) = response else {
            return Err(ProtocolError::NotAResponse.into());
        };
        let init = response.outcome.map_err(ClientError::Initialize)?;
        let protocol_version = init
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or(asked)
            .to_owned();
        let session = UpstreamSession::new(session_id, protocol_version, init);
        let initialized = Message::Notification(Notification::new(INITIALIZED.name, None));
        client.post(session.headers(caller), &initialized).await?;
        client.remember_era(UpstreamEra::Legacy, true);
        Ok(session)
    };
    client.policy().run(Step::Handshake, handshake).await
}
