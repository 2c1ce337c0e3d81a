//! Downstream sessions (the 2025 protocol era): what the gateway remembers
//! between a client's requests — its hello, its upstream sessions, the
//! requests in flight and the gateway's own requests waiting for answers.
//! Held in a [`SessionStore`] per endpoint and sealed into the session id
//! ([`seal`]) so that any replica can serve any session.

mod seal;
mod store;

pub use seal::{KeyError, SealedState, SealedUpstream, Sealer};
pub use store::SessionStore;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
// NB: hashbrown's maps (foldhash, randomly seeded) rather than std's SipHash:
// a relayed call looks up several of them, and their keys are bounded per session.
use hashbrown::HashMap;
use rand::RngCore;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{RequestId, Response};
use crate::north::Permit;
use crate::south::{Hello, UpstreamSession, UpstreamSlot};
use crate::{ids, mcp};

/// One downstream session.
#[derive(Debug)]
pub struct Session {
    /// The sealed session id, set once the upstreams are open.
    id: OnceLock<String>,
    /// Whether this process created the session (rather than opening its sealed id).
    pub issued_here: bool,
    /// The version negotiated with the downstream client.
    pub protocol_version: &'static str,
    /// The client's initialize params, replayed to every upstream.
    pub hello: Arc<Hello>,
    /// `hello` with the level of the client's last `logging/setLevel`, once
    /// it sent one (see [`Session::hello_now`]).
    leveled: Mutex<Option<Arc<Hello>>>,
    /// A digest of the client's capabilities, for the listing cache's key.
    pub capabilities_digest: [u8; 16],
    /// Who opened the session (`None`: an anonymous caller). Requests by anyone
    /// else are refused as if the session did not exist.
    pub owner: Option<String>,
    /// Cancelled when the session ends: stops its streams.
    pub closed: CancellationToken,
    // NB: std mutexes below are only held for map look-ups, never across an await.
    upstreams: Mutex<HashMap<Arc<str>, Arc<UpstreamSlot>>>,
    pub(crate) inflight: Mutex<HashMap<RequestId, InFlight>>,
    standalone: Mutex<Option<CancellationToken>>,
    /// The open standalone stream, for notifications the gateway itself sends.
    notifier: Mutex<Option<mpsc::Sender<Bytes>>>,
    /// Resources the client subscribed to at toolkits of the 2026-07-28 era
    /// (keyed by toolkit and URI), each watched by a subscription of the
    /// gateway's until cancelled.
    resource_watches: Mutex<HashMap<String, CancellationToken>>,
    /// Requests the gateway itself sent the client (authorization elicitations),
    /// waiting for their answers.
    gateway_requests: Mutex<HashMap<RequestId, oneshot::Sender<Response>>>,
    last_seen: Mutex<Instant>,
    /// What the session counts against its caller's bound; released when it drops.
    quota: OnceLock<Permit>,
}

/// A client request the gateway is still working on.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Where it went: one toolkit, or `None` for a fan-out to all.
    pub toolkit: Option<Arc<str>>,
    /// Cancelling it stops the relay and closes the client's stream.
    pub cancel: CancellationToken,
}

/// Removes an in-flight entry when the relay is done.
#[derive(Debug)]
pub struct InFlightGuard {
    /// The session tracking the request; `None` when nothing tracks it.
    session: Option<Arc<Session>>,
    id: RequestId,
    pub cancel: CancellationToken,
}

impl InFlightGuard {
    /// A guard for a request that no session tracks: nobody can cancel it by
    /// id (the stateless era cancels by closing the request's stream).
    pub fn untracked(id: RequestId) -> Self {
        Self {
            session: None,
            id,
            cancel: CancellationToken::new(),
        }
    }

    /// The id of the tracked request.
    pub fn id(&self) -> &RequestId {
        &self.id
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            lock(&session.inflight).remove(&self.id);
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // NB: no code panics while holding these locks; recover rather than propagate.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    /// A new session, before `initialize` completes (it has no id yet).
    pub fn new(protocol_version: &'static str, hello: Hello, owner: Option<String>) -> Self {
        Self {
            id: OnceLock::new(),
            issued_here: true,
            protocol_version,
            capabilities_digest: crate::cache::capabilities_digest(&hello.capabilities),
            hello: Arc::new(hello),
            owner,
            closed: CancellationToken::new(),
            upstreams: Mutex::default(),
            inflight: Mutex::default(),
            standalone: Mutex::default(),
            notifier: Mutex::default(),
            resource_watches: Mutex::default(),
            gateway_requests: Mutex::default(),
            last_seen: Mutex::new(Instant::now()),
            quota: OnceLock::new(),
            leveled: Mutex::default(),
        }
    }

    /// What the client said of itself as upstreams hear it now: its
    /// initialize params, with the log level it set last (2026-07-28
    /// upstreams get it in each request's `_meta`).
    pub fn hello_now(&self) -> Arc<Hello> {
        let leveled = self.leveled.lock().unwrap_or_else(|p| p.into_inner());
        leveled.as_ref().unwrap_or(&self.hello).clone()
    }

    /// Remember the level of the client's `logging/setLevel`.
    pub fn set_log_level(&self, level: &str) {
        let hello = Hello {
            log_level: Some(level.to_owned()),
            ..(*self.hello).clone()
        };
        *self.leveled.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(hello));
    }

    /// Rebuild a session from its sealed id (it was created by another
    /// replica, or by this one before its local state was dropped).
    pub fn from_sealed(id: &str, state: SealedState) -> Option<Self> {
        let protocol_version = mcp::SUPPORTED_VERSIONS
            .iter()
            .find(|v| **v == state.protocol_version)?;
        let hello = Hello {
            protocol_version: protocol_version.to_string(),
            capabilities: state.capabilities,
            client_info: state.client_info,
            // NB: a level set by `logging/setLevel` stays with the replica
            // that was told (the id was sealed before).
            log_level: None,
        };
        let upstreams = state
            .upstreams
            .into_iter()
            .map(|(toolkit, u)| {
                let session = UpstreamSession::new(
                    u.session_id,
                    u.protocol_version,
                    serde_json::json!({ "capabilities": u.capabilities }),
                );
                (
                    Arc::from(toolkit),
                    Arc::new(UpstreamSlot::open_with(session)),
                )
            })
            .collect();
        let session = Self {
            id: OnceLock::from(id.to_owned()),
            issued_here: false,
            upstreams: Mutex::new(upstreams),
            ..Self::new(protocol_version, hello, state.owner)
        };
        Some(session)
    }

    /// What the sealed id carries: enough for any replica to serve the session.
    pub fn sealed_state(&self) -> SealedState {
        let upstreams = lock(&self.upstreams)
            .iter()
            .filter_map(|(toolkit, slot)| {
                let u = slot.current()?;
                Some((
                    toolkit.to_string(),
                    SealedUpstream {
                        session_id: u.id.clone(),
                        protocol_version: u.protocol_version.clone(),
                        capabilities: u.capabilities().clone(),
                    },
                ))
            })
            .collect::<BTreeMap<_, _>>();
        SealedState {
            protocol_version: self.protocol_version.to_owned(),
            capabilities: self.hello.capabilities.clone(),
            client_info: self.hello.client_info.clone(),
            upstreams,
            owner: self.owner.clone(),
            nonce: rand::rng().next_u64(),
        }
    }

    /// The session id (empty until `initialize` completed).
    pub fn id(&self) -> &str {
        self.id.get().map_or("", String::as_str)
    }

    /// A short, stable tag for logs: the start of the id, which is random
    /// nonce bytes (the full id is a bearer credential for the session).
    pub fn log_id(&self) -> &str {
        let id = self.id();
        &id[..id.len().min(16)]
    }

    /// Give the session its id, once.
    pub fn set_id(&self, id: String) {
        let _ = self.id.set(id);
    }

    /// The upstream slot of a toolkit, created on first use.
    pub fn upstream(&self, toolkit: &Arc<str>) -> Arc<UpstreamSlot> {
        lock(&self.upstreams)
            .entry(toolkit.clone())
            .or_default()
            .clone()
    }

    /// The toolkit's upstream session, if one is open (never opens one).
    pub fn open_upstream(&self, toolkit: &str) -> Option<Arc<UpstreamSession>> {
        lock(&self.upstreams).get(toolkit)?.current()
    }

    /// Forget a toolkit's upstream session (it changed or went away); the
    /// session that was open, to end it.
    pub fn drop_upstream(&self, toolkit: &str) -> Option<Arc<UpstreamSession>> {
        lock(&self.upstreams).remove(toolkit)?.take()
    }

    /// Where notifications the gateway itself sends go: the standalone stream.
    pub fn set_notifier(&self, stream: mpsc::Sender<Bytes>) {
        *lock(&self.notifier) = Some(stream);
    }

    /// Send an SSE frame on the standalone stream, if one is open and keeps
    /// up (a notification the client cannot take now is dropped, not queued).
    pub fn notify(&self, frame: Bytes) -> bool {
        lock(&self.notifier)
            .as_ref()
            .is_some_and(|tx| tx.try_send(frame).is_ok())
    }

    /// Watch the resource `key` (again): the token that ends this watch; a
    /// watch of it already running ends.
    pub fn watch_resource(&self, key: String) -> CancellationToken {
        let token = self.closed.child_token();
        if let Some(before) = lock(&self.resource_watches).insert(key, token.clone()) {
            before.cancel();
        }
        token
    }

    /// Stop watching the resource `key`.
    pub fn unwatch_resource(&self, key: &str) {
        if let Some(watch) = lock(&self.resource_watches).remove(key) {
            watch.cancel();
        }
    }

    /// Take every open upstream session out, to end them.
    pub fn take_upstreams(&self) -> Vec<(Arc<str>, Arc<UpstreamSession>)> {
        lock(&self.upstreams)
            .iter()
            .filter_map(|(k, slot)| Some((k.clone(), slot.take()?)))
            .collect()
    }

    pub(crate) fn has_open_stream(&self) -> bool {
        lock(&self.standalone)
            .as_ref()
            .is_some_and(|t| !t.is_cancelled())
    }

    /// Track a client request until the returned guard drops.
    pub fn begin(self: &Arc<Self>, id: RequestId, toolkit: Option<Arc<str>>) -> InFlightGuard {
        let cancel = self.closed.child_token();
        lock(&self.inflight).insert(
            id.clone(),
            InFlight {
                toolkit,
                cancel: cancel.clone(),
            },
        );
        InFlightGuard {
            session: Some(self.clone()),
            id,
            cancel,
        }
    }

    /// An id for a request the gateway itself sends the client, and where its
    /// answer arrives. The `_mcpgw/` prefix cannot collide with the ids of
    /// toolkits' requests (`<toolkit>/…`: toolkit names have no `_`).
    pub fn gateway_request(&self) -> (RequestId, oneshot::Receiver<Response>) {
        let id = ids::gateway_to_client();
        let (tx, rx) = oneshot::channel();
        lock(&self.gateway_requests).insert(id.clone(), tx);
        (id, rx)
    }

    /// Stop waiting for the answer to a request the gateway sent (it timed out,
    /// or the client left); a late answer is still accepted, and dropped.
    pub fn forget_gateway_request(&self, id: &RequestId) {
        lock(&self.gateway_requests).remove(id);
    }

    /// Deliver the client's answer to a request the gateway sent; `false` when
    /// the response answers no such request.
    pub fn answer_gateway_request(&self, response: &Response) -> bool {
        let Some(id) = response.id.as_ref() else {
            return false;
        };
        let waiting = lock(&self.gateway_requests).remove(id);
        match waiting {
            Some(tx) => {
                let _ = tx.send(response.clone());
                true
            }
            // An answer for this gateway that nobody waits for any more (timed out).
            None => ids::is_gateway_to_client(id),
        }
    }

    pub fn in_flight(&self, id: &RequestId) -> Option<InFlight> {
        lock(&self.inflight).get(id).cloned()
    }

    /// Claim the session's one standalone (GET) stream; `None` when one is open.
    pub fn open_standalone(&self) -> Option<CancellationToken> {
        let mut slot = lock(&self.standalone);
        if slot.as_ref().is_some_and(|t| !t.is_cancelled()) {
            return None;
        }
        let token = self.closed.child_token();
        *slot = Some(token.clone());
        Some(token)
    }

    /// Count the session against its caller's bound for as long as it lives.
    pub fn hold(&self, permit: Permit) {
        let _ = self.quota.set(permit);
    }

    pub fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    pub(crate) fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_seen))
    }
}

#[cfg(test)]
mod tests;
