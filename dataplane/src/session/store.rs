//! The sessions one endpoint holds in memory. With sealed ids this is a
//! cache: a session missing here is rebuilt from its id.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hashbrown::{DefaultHashBuilder, HashMap};

use super::{Session, lock};

/// The sessions one endpoint holds in memory. With sealed ids this is a
/// cache: a session missing here is rebuilt from its id.
#[derive(Debug, Default)]
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Ids of sessions ended here (by hash), so their sealed ids stay dead
    /// on this replica; kept for one idle timeout.
    ended: Mutex<HashMap<u64, Instant>>,
    // NB: foldhash (randomly seeded), as the maps: ids are long and every
    // request checks them.
    hasher: DefaultHashBuilder,
}

impl SessionStore {
    pub fn insert(&self, session: Arc<Session>) {
        lock(&self.sessions).insert(session.id().to_owned(), session);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let session = lock(&self.sessions).get(id).cloned()?;
        session.touch();
        Some(session)
    }

    /// Whether the session with this id was ended on this replica.
    pub fn has_ended(&self, id: &str) -> bool {
        lock(&self.ended).contains_key(&self.hasher.hash_one(id))
    }

    /// End a session: forget it and remember that its id is dead.
    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.ended).insert(self.hasher.hash_one(id), Instant::now());
        let session = lock(&self.sessions).remove(id)?;
        session.closed.cancel();
        Some(session)
    }

    /// Remove and return the sessions idle for longer than `max_idle`.
    pub fn expire(&self, max_idle: Duration) -> Vec<Arc<Session>> {
        let now = Instant::now();
        lock(&self.ended).retain(|_, at| now.saturating_duration_since(*at) <= max_idle);
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

    /// Every session held now.
    pub fn all(&self) -> Vec<Arc<Session>> {
        lock(&self.sessions).values().cloned().collect()
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
