//! The listing cache (`options.cache` on an `mcp proxy`): one toolkit's raw
//! page of `tools/list`, `prompts/list`, `resources/list` or
//! `resources/templates/list`, as the upstream answered it, so that the
//! proxy's merge, naming, role filtering and pagination run on top exactly as
//! when it asks the toolkit.
//!
//! Built on moka's future cache: a size bound with LRU-ish eviction (TinyLFU),
//! and single-flight loading (`try_get_with`: 100 concurrent misses of one key
//! make one upstream call; a failed load is not cached and each waiter sees
//! its error). Freshness is checked against tokio's clock (so tests can pause
//! time); moka's own time-to-live, set to the same value, only reclaims memory.
//!
//! The key ([`ListingKey`]) holds everything that can change an upstream's
//! answer for a caller: the toolkit (a fresh id per toolkit plan, so a reload
//! that changes a toolkit never serves its old pages) and its listing epoch
//! (bumped by the upstream's `list_changed`), the list and the upstream's
//! cursor, the negotiated protocol version, a digest of the client's
//! capabilities, and, for toolkits that get the caller's own token, the
//! caller's identity. What a caller may see is filtered after the cache.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mcpgw_config::CachePlan;
use moka::notification::RemovalCause;
use serde_json::Value;
use tokio::time::Instant;

use crate::metrics::{CacheEvent, Metrics};

/// One page as cached: the upstream's answer and when it was loaded.
#[derive(Clone, Debug)]
struct Page {
    value: Arc<CachedPage>,
    loaded: Instant,
}

/// A toolkit's page: as the upstream answered it, and with its names exposed
/// (what a caller who may see all of it gets, shared without a copy).
#[derive(Debug)]
pub struct CachedPage {
    pub raw: Value,
    pub exposed: Value,
}

/// Which answer of which upstream a page is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListingKey {
    /// The toolkit's name (for metrics) and the id of its current plan.
    pub toolkit: Arc<str>,
    pub toolkit_id: u64,
    /// The toolkit's listing epoch: bumped when it says its lists changed.
    pub epoch: u64,
    /// The list method, e.g. `tools/list`.
    pub list: &'static str,
    /// The upstream's own cursor (`None`: the first page).
    pub cursor: Option<String>,
    /// The protocol version the upstream session runs at.
    pub version: &'static str,
    /// A digest of the client's capabilities (upstreams may list by them).
    pub capabilities: [u8; 16],
    /// The caller, when the toolkit gets the caller's token (its answers may
    /// differ per caller); `None` for toolkits that answer everyone alike.
    pub identity: Option<Arc<str>>,
    /// Whether names are exposed with their toolkit's prefix.
    pub prefixed: bool,
}

/// A toolkit's identity for the cache: a fresh id per toolkit plan, and an
/// epoch its upstream bumps by saying its lists changed.
#[derive(Debug)]
pub struct ListingScope {
    pub id: u64,
    epoch: AtomicU64,
}

impl Default for ListingScope {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
        }
    }
}

impl ListingScope {
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The upstream's lists changed: no page cached before is served again.
    pub fn lists_changed(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// The listing cache of one store (and TTL).
pub struct ListingCache {
    plan: CachePlan,
    pages: moka::future::Cache<ListingKey, Page>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ListingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListingCache")
            .field("plan", &self.plan)
            .field("entries", &self.pages.entry_count())
            .finish()
    }
}

impl ListingCache {
    pub fn new(plan: &CachePlan, metrics: Arc<Metrics>) -> Self {
        let counted = metrics.clone();
        let pages = moka::future::Cache::builder()
            .max_capacity(plan.max_entries)
            // NB: freshness is checked in `page` (tokio's clock); this only frees memory.
            .time_to_live(plan.ttl.max(Duration::from_millis(1)))
            .support_invalidation_closures()
            .eviction_listener(move |key: Arc<ListingKey>, _, cause| {
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    counted.listing_cache(&key.toolkit, key.list, CacheEvent::Eviction);
                }
            })
            .build();
        Self {
            plan: plan.clone(),
            pages,
            metrics,
        }
    }

    /// Whether this cache is the one `plan` asks for.
    pub fn is_for(&self, plan: &CachePlan) -> bool {
        self.plan == *plan
    }

    /// The page of `key`: from the cache while fresh, else loaded by `load`
    /// (once, whoever else asks meanwhile). `Err` is the load's failure, shared
    /// by every caller that waited for it; failures are never cached.
    pub async fn page<E, F>(&self, key: ListingKey, load: F) -> Result<Arc<CachedPage>, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<CachedPage, E>>,
    {
        let (toolkit, list) = (key.toolkit.clone(), key.list);
        if let Some(page) = self.pages.get(&key).await {
            if page.loaded.elapsed() < self.plan.ttl {
                self.metrics.listing_cache(&toolkit, list, CacheEvent::Hit);
                return Ok(page.value);
            }
            self.pages.invalidate(&key).await;
        }
        self.metrics.listing_cache(&toolkit, list, CacheEvent::Miss);
        let metrics = &self.metrics;
        let loaded = self
            .pages
            .try_get_with(key, async {
                metrics.listing_cache(&toolkit, list, CacheEvent::Load);
                let value = load.await?;
                Ok(Page {
                    value: Arc::new(value),
                    loaded: Instant::now(),
                })
            })
            .await?;
        Ok(loaded.value)
    }

    /// Drop every page of the toolkit plan `id` (it changed or went away).
    pub fn forget(&self, id: u64) {
        // NB: only fails when invalidation closures are off, which they are not.
        let _ = self
            .pages
            .invalidate_entries_if(move |key, _| key.toolkit_id == id);
    }

    /// Pages held now (approximate: moka counts lazily).
    pub fn entries(&self) -> u64 {
        self.pages.entry_count()
    }
}

/// A 128-bit digest of a client's capabilities, the same for equal objects
/// (`serde_json` orders object keys).
pub fn capabilities_digest(capabilities: &Value) -> [u8; 16] {
    let digest = ring::digest::digest(&ring::digest::SHA256, capabilities.to_string().as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest.as_ref()[..16]);
    out
}

#[cfg(test)]
mod tests;
