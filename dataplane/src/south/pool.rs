//! The upstream sessions a toolkit of the 2025 era keeps for clients of the
//! 2026-07-28 era, which have no session of their own: one per caller and
//! set of client capabilities (what an upstream offers depends on them), so
//! that a stateless request does not pay a handshake, and one caller's
//! upstream session never serves another.
//!
//! NB: a cache, not state: any replica opens its own when it has none, and
//! an upstream that forgets one is re-initialized as in any session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::client::ToolkitClient;
use super::session::UpstreamSlot;

/// Whose upstream session it is: the caller's identity (none when
/// anonymous) and a digest of the client capabilities it was opened with.
pub type PoolKey = (Option<Arc<str>>, [u8; 16]);

/// Most upstream sessions kept per toolkit.
const CAPACITY: usize = 1024;
/// How long an unused upstream session is kept.
const IDLE: Duration = Duration::from_secs(300);
/// How often idle sessions are looked for (on use, not on a timer).
const SWEEP_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Entry {
    slot: Arc<UpstreamSlot>,
    used: Instant,
}

#[derive(Debug)]
struct Pooled {
    entries: HashMap<PoolKey, Entry>,
    swept: Instant,
}

/// One toolkit's pool of upstream sessions for stateless clients.
#[derive(Debug)]
pub struct UpstreamPool {
    // NB: a std lock, held for map operations only, never across an await.
    inner: Mutex<Pooled>,
}

impl Default for UpstreamPool {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Pooled {
                entries: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }
}

impl UpstreamPool {
    /// The slot of `key`'s upstream session (opened on first use by whoever
    /// uses it). Sessions dropped to make room or for idleness are ended
    /// with `client` in the background.
    pub fn slot(&self, key: PoolKey, client: &ToolkitClient) -> Arc<UpstreamSlot> {
        let now = Instant::now();
        let (slot, dropped) = {
            let mut pool = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let mut dropped = Vec::new();
            if now.duration_since(pool.swept) >= SWEEP_EVERY {
                pool.swept = now;
                let idle: Vec<PoolKey> = pool
                    .entries
                    .iter()
                    .filter(|(_, e)| now.duration_since(e.used) >= IDLE && unused(&e.slot))
                    .map(|(k, _)| k.clone())
                    .collect();
                dropped.extend(idle.iter().filter_map(|k| pool.entries.remove(k)));
            }
            if !pool.entries.contains_key(&key)
                && pool.entries.len() >= CAPACITY
                && let Some(oldest) = pool
                    .entries
                    .iter()
                    .filter(|(_, e)| unused(&e.slot))
                    .min_by_key(|(_, e)| e.used)
                    .map(|(k, _)| k.clone())
            {
                dropped.extend(pool.entries.remove(&oldest));
            }
            let entry = pool.entries.entry(key).or_insert_with(|| Entry {
                slot: Arc::default(),
                used: now,
            });
            entry.used = now;
            (entry.slot.clone(), dropped)
        };
        for entry in dropped {
            end(entry.slot, client.clone());
        }
        slot
    }

    /// How many upstream sessions the pool holds (opened or not).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether nobody but the pool holds the slot (no request is using it).
fn unused(slot: &Arc<UpstreamSlot>) -> bool {
    Arc::strong_count(slot) == 1
}

/// DELETE a dropped upstream session in the background (best effort).
fn end(slot: Arc<UpstreamSlot>, client: ToolkitClient) {
    // NB: an upstream of the 2026-07-28 era (no session id) has nothing to end.
    let Some(session) = slot.take().filter(|s| s.id.is_some()) else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let headers = session.headers(None);
        if let Err(e) = client.delete(headers).await {
            tracing::debug!(error = %e, "DELETE of a pooled upstream session failed");
        }
    });
}
