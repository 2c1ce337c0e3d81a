//! Downstream sessions: what the gateway remembers between a client's requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::RequestId;
use crate::south::{Hello, UpstreamSession, UpstreamSlot};

/// One downstream session.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    /// The version negotiated with the downstream client.
    pub protocol_version: &'static str,
    /// The client's initialize params, replayed to every upstream.
    pub hello: Hello,
    /// Cancelled when the session ends: stops its streams.
    pub closed: CancellationToken,
    // NB: std mutexes below are only held for map look-ups, never across an await.
    upstreams: Mutex<HashMap<Arc<str>, Arc<UpstreamSlot>>>,
    inflight: Mutex<HashMap<RequestId, InFlight>>,
    standalone: Mutex<Option<CancellationToken>>,
    last_seen: Mutex<Instant>,
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
    session: Arc<Session>,
    id: RequestId,
    pub cancel: CancellationToken,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        lock(&self.session.inflight).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // NB: no code panics while holding these locks; recover rather than propagate.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    pub fn new(protocol_version: &'static str, hello: Hello) -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let id = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            id,
            protocol_version,
            hello,
            closed: CancellationToken::new(),
            upstreams: Mutex::default(),
            inflight: Mutex::default(),
            standalone: Mutex::default(),
            last_seen: Mutex::new(Instant::now()),
        }
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

    /// Take every open upstream session out, to end them.
    pub fn take_upstreams(&self) -> Vec<(Arc<str>, Arc<UpstreamSession>)> {
        lock(&self.upstreams)
            .iter()
            .filter_map(|(k, slot)| Some((k.clone(), slot.take()?)))
            .collect()
    }

    fn has_open_stream(&self) -> bool {
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
            session: self.clone(),
            id,
            cancel,
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

    pub fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_seen))
    }
}

/// All live sessions of one endpoint.
#[derive(Debug, Default)]
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

impl SessionStore {
    pub fn insert(&self, session: Arc<Session>) {
        lock(&self.sessions).insert(session.id.clone(), session);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let session = lock(&self.sessions).get(id).cloned()?;
        session.touch();
        Some(session)
    }

    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let session = lock(&self.sessions).remove(id)?;
        session.closed.cancel();
        Some(session)
    }

    /// Remove and return the sessions idle for longer than `max_idle`.
    pub fn expire(&self, max_idle: Duration) -> Vec<Arc<Session>> {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        let expired: Vec<String> = sessions
            .iter()
            .filter(|(_, s)| {
                s.idle_for(now) > max_idle && lock(&s.inflight).is_empty() && !s.has_open_stream()
            })
            .map(|(k, _)| k.clone())
            .collect();
        expired
            .iter()
            .filter_map(|id| sessions.remove(id))
            .inspect(|s| s.closed.cancel())
            .collect()
    }

    /// Remove and return every session (at shutdown).
    pub fn drain(&self) -> Vec<Arc<Session>> {
        lock(&self.sessions)
            .drain()
            .map(|(_, s)| s)
            .inspect(|s| s.closed.cancel())
            .collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session() -> Arc<Session> {
        let hello = Hello {
            protocol_version: "2025-11-25".into(),
            capabilities: json!({}),
            client_info: json!({}),
        };
        Arc::new(Session::new("2025-11-25", hello))
    }

    #[test]
    fn idle_sessions_expire_unless_busy_or_streaming() {
        let store = SessionStore::default();
        let (idle, busy, streaming) = (session(), session(), session());
        for s in [&idle, &busy, &streaming] {
            store.insert(s.clone());
        }
        let _in_flight = busy.begin(RequestId::Number(1), None);
        let _stream = streaming.open_standalone().expect("the first stream opens");
        std::thread::sleep(Duration::from_millis(2));
        let expired = store.expire(Duration::from_millis(1));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].id, idle.id);
        assert!(idle.closed.is_cancelled(), "its streams are told to stop");
        assert!(
            store.get(&idle.id).is_none(),
            "an expired session is unknown (404)"
        );
        assert!(store.get(&busy.id).is_some() && store.get(&streaming.id).is_some());
    }

    #[test]
    fn a_session_has_one_standalone_stream_at_a_time() {
        let s = session();
        let first = s.open_standalone().expect("opens");
        assert!(s.open_standalone().is_none());
        first.cancel();
        assert!(
            s.open_standalone().is_some(),
            "reopens once the first one closed"
        );
    }

    #[test]
    fn session_ids_are_random_visible_ascii() {
        let (a, b) = (session(), session());
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 32);
        assert!(a.id.bytes().all(|c| (0x21..=0x7e).contains(&c)));
    }
}
