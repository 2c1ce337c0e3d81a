//! The listing cache (`options.cache` on an `mcp proxy`): one toolkit's raw
//! page of `tools/list`, `prompts/list`, `resources/list` or
//! `resources/templates/list`, as the upstream answered it, so that the
//! proxy's merge, naming, role filtering and pagination run on top exactly as
//! when it asks the toolkit.
//!
//! Built on moka's future cache: a size bound with LRU-ish eviction (TinyLFU),
//! and single-flight loading (`try_get_with`: 100 concurrent misses of one key
//! make one upstream call, at expiry too; a failed load is not cached and each
//! waiter sees its error). Freshness is checked against tokio's clock (so tests
//! can pause time); moka's per-entry expiry, set to the same time, only
//! reclaims memory. A page is fresh for the configured TTL or the upstream's
//! `ttlMs` hint, whichever is shorter, and a `cacheScope: private` page is
//! kept per caller, never shared.
//!
//! The key ([`ListingKey`]) holds everything that can change an upstream's
//! answer for a caller: the toolkit (a fresh id per toolkit plan, so a reload
//! that changes a toolkit never serves its old pages) and its listing epoch
//! (bumped by the upstream's `list_changed`), the list and the upstream's
//! cursor, the client's negotiated protocol version, a digest of the client's
//! capabilities, and, for toolkits that get the caller's own token (or pages
//! their upstream marks private), the caller's identity. What a caller may see is filtered after the cache.

use std::hash::Hash;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mcpgw_config::CachePlan;
use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use serde_json::Value;
use tokio::time::Instant;

use crate::mcp::Method;
use crate::mcp::method::Handling;
use crate::metrics::{CacheEvent, Metrics};

/// One entry of the cache: a page, or a note that the upstream answers this
/// list per caller (`cacheScope: private`), whose pages are then kept under
/// each caller's identity.
#[derive(Clone, Debug)]
struct Slot {
    /// `None`: the answer is private; look under the caller's identity.
    page: Option<Arc<CachedPage>>,
    /// Fresh until then, on tokio's clock.
    until: Instant,
    /// How long it is fresh (what moka's expiry frees its memory after).
    ttl: Duration,
}

/// moka's per-entry expiry: a slot's memory is reclaimed when it goes stale.
/// NB: freshness itself is checked in `lookup` on tokio's clock (so tests can
/// pause time); this only frees memory and counts the drop as an eviction.
struct Freshness;

impl moka::Expiry<ListingKey, Slot> for Freshness {
    fn expire_after_create(
        &self,
        _: &ListingKey,
        slot: &Slot,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(slot.ttl)
    }

    fn expire_after_update(
        &self,
        _: &ListingKey,
        slot: &Slot,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        // NB: a slot replacing an expired one gets its own time, not what was left.
        Some(slot.ttl)
    }
}

/// A toolkit's page: as the upstream answered it, and with its names exposed
/// (what a caller who may see all of it gets, shared without a copy).
#[derive(Debug)]
pub struct CachedPage {
    pub raw: Value,
    pub exposed: Value,
}

/// What an upstream's answer says about keeping it (the 2026-07-28 caching
/// hints, honoured whatever the version, and the result's own shape).
#[derive(Debug, PartialEq, Eq)]
struct Hints {
    /// `ttlMs`: `None` when absent (the configured TTL applies alone); a
    /// negative or non-integer value counts as 0, as the spec asks.
    ttl: Option<Duration>,
    /// `cacheScope: private`: not to be shared across callers.
    private: bool,
    /// A complete result with its items array; anything else (an interim
    /// `resultType`, a result without its items) is served but never kept.
    keepable: bool,
}

impl Hints {
    fn of(list: &str, raw: &Value) -> Self {
        let items = Method::find(list).and_then(|m| match &m.handling {
            Handling::List(kind) => Some(kind.items),
            _ => None,
        });
        let complete = raw
            .get("resultType")
            .is_none_or(|t| t.as_str() == Some("complete"));
        Self {
            ttl: raw
                .get("ttlMs")
                .map(|ms| Duration::from_millis(ms.as_u64().unwrap_or(0))),
            private: raw.get("cacheScope").and_then(Value::as_str) == Some("private"),
            keepable: complete
                && items.is_some_and(|items| raw.get(items).is_some_and(Value::is_array)),
        }
    }
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
    /// The protocol version the client negotiated with the gateway (the
    /// upstream session is opened for the client's hello, so answers may
    /// differ by it).
    pub version: &'static str,
    /// A digest of the client's capabilities (upstreams may list by them).
    pub capabilities: [u8; 16],
    /// The caller, when the toolkit gets the caller's token (its answers may
    /// differ per caller) or answered `cacheScope: private`; `None` for pages
    /// shared by everyone.
    pub identity: Option<Arc<str>>,
    /// Whether names are exposed with their toolkit's prefix.
    pub prefixed: bool,
}

impl ListingKey {
    /// The same page kept under `caller`'s identity (a private answer).
    fn for_caller(&self, caller: &str) -> Self {
        Self {
            identity: Some(Arc::from(caller)),
            ..self.clone()
        }
    }
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

/// What a lookup of one key came to.
enum Looked<E> {
    Page(Arc<CachedPage>),
    /// The upstream answers this list per caller: ask under the caller's identity.
    Private,
    Failed(E),
}

/// Why a load's answer was not kept; shared by every caller that waited for it.
enum Unkept<E> {
    Failed(E),
    /// Public but not to be kept (fresh for no time, interim, no items):
    /// callers that asked at the same time share it all the same.
    Uncached(Arc<CachedPage>),
    /// Private and not to be kept: only the caller that loaded it sees it.
    Private,
}

/// A private page its loader got, and how long it may keep it.
struct Own {
    page: Arc<CachedPage>,
    keep: Option<Duration>,
}

/// The listing cache of one store (and TTL).
pub struct ListingCache {
    plan: CachePlan,
    pages: moka::future::Cache<ListingKey, Slot>,
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
            .expire_after(Freshness)
            .support_invalidation_closures()
            .eviction_listener(move |key: Arc<ListingKey>, slot: Slot, cause| {
                // NB: moka reports a slot past its per-entry expiry as
                // `Replaced` when a reload overwrites it, and as `Explicit`
                // when `drop_stale` removes it: dropped for age all the same.
                let evicted = match cause {
                    RemovalCause::Size | RemovalCause::Expired => true,
                    RemovalCause::Replaced | RemovalCause::Explicit => slot.until <= Instant::now(),
                };
                if evicted {
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
    ///
    /// A page is fresh for the configured TTL or the upstream's `ttlMs`,
    /// whichever is shorter (`ttlMs: 0`: not kept). A page the upstream marks
    /// `cacheScope: private` is never shared: it is kept under `caller`'s
    /// identity, and not at all for an anonymous caller.
    pub async fn page<E, F>(
        &self,
        key: ListingKey,
        caller: Option<&str>,
        load: F,
    ) -> Result<Arc<CachedPage>, E>
    where
        E: Clone + Send + Sync + 'static,
        F: Future<Output = Result<CachedPage, E>>,
    {
        // NB: pinned here and lent to each lookup: a lookup polls it only when
        // it runs the load itself, and a caller whose load ran gets its page
        // from that lookup (or `own`), so it is never polled again.
        let mut load = pin!(load);
        let mut own = None;
        let mut looked = self.lookup(&key, load.as_mut(), &mut own).await;
        if let (Looked::Private, None, Some(caller)) = (&looked, &own, caller) {
            looked = self
                .lookup(&key.for_caller(caller), load.as_mut(), &mut own)
                .await;
        }
        match looked {
            Looked::Page(page) => Ok(page),
            Looked::Failed(e) => Err(e),
            Looked::Private => match (own, caller) {
                (Some(own), Some(caller)) => {
                    if let Some(ttl) = own.keep {
                        let slot = Slot {
                            page: Some(own.page.clone()),
                            until: Instant::now() + ttl,
                            ttl,
                        };
                        self.pages.insert(key.for_caller(caller), slot).await;
                    }
                    Ok(own.page)
                }
                (Some(own), None) => Ok(own.page),
                // An anonymous caller of a private list: asked every time.
                (None, _) => {
                    self.metrics
                        .listing_cache(&key.toolkit, key.list, CacheEvent::Load);
                    load.await.map(Arc::new)
                }
            },
        }
    }

    /// One key's page: fresh from the cache, or loaded once for everyone
    /// asking it meanwhile. `own` gets the page when this caller loaded a
    /// private one under a shared key (which no other caller may see).
    async fn lookup<E, F>(
        &self,
        key: &ListingKey,
        load: Pin<&mut F>,
        own: &mut Option<Own>,
    ) -> Looked<E>
    where
        E: Clone + Send + Sync + 'static,
        F: Future<Output = Result<CachedPage, E>>,
    {
        let (toolkit, list) = (&key.toolkit, key.list);
        if let Some(slot) = self.pages.get(key).await {
            if Instant::now() < slot.until {
                let Some(page) = slot.page else {
                    return Looked::Private;
                };
                self.metrics.listing_cache(toolkit, list, CacheEvent::Hit);
                return Looked::Page(page);
            }
            self.drop_stale(key).await;
        }
        self.metrics.listing_cache(toolkit, list, CacheEvent::Miss);
        let shared = key.identity.is_none();
        let loaded = self
            .pages
            .try_get_with(key.clone(), async {
                self.metrics.listing_cache(toolkit, list, CacheEvent::Load);
                let page = Arc::new(load.await.map_err(Unkept::Failed)?);
                let hints = Hints::of(list, &page.raw);
                let ttl = hints.ttl.map_or(self.plan.ttl, |t| t.min(self.plan.ttl));
                let keep = (hints.keepable && !ttl.is_zero()).then_some(ttl);
                let private = hints.private && shared;
                if private {
                    *own = Some(Own {
                        page: page.clone(),
                        keep,
                    });
                }
                let Some(ttl) = keep else {
                    return Err(if private {
                        Unkept::Private
                    } else {
                        Unkept::Uncached(page)
                    });
                };
                Ok(Slot {
                    page: (!private).then_some(page),
                    until: Instant::now() + ttl,
                    ttl,
                })
            })
            .await;
        match loaded {
            Ok(Slot {
                page: Some(page), ..
            }) => Looked::Page(page),
            Ok(Slot { page: None, .. }) => Looked::Private,
            Err(unkept) => match &*unkept {
                Unkept::Failed(e) => Looked::Failed(e.clone()),
                Unkept::Uncached(page) => Looked::Page(page.clone()),
                Unkept::Private => Looked::Private,
            },
        }
    }

    /// Drop `key`'s slot if it is (still) stale (the eviction listener counts it).
    /// NB: only if stale: another caller that saw the same stale slot may
    /// have replaced it with a fresh page meanwhile, which must stay (else
    /// concurrent misses at expiry would each load again).
    async fn drop_stale(&self, key: &ListingKey) {
        self.pages
            .entry_by_ref(key)
            .and_compute_with(|slot| {
                std::future::ready(match slot {
                    Some(slot) if slot.value().until <= Instant::now() => Op::Remove,
                    _ => Op::Nop,
                })
            })
            .await;
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
    /// The JSON text written straight into the hash, not into a string first.
    struct Hashing(ring::digest::Context);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(ring::digest::Context::new(&ring::digest::SHA256));
    // NB: writing a `Value` into a writer that cannot fail cannot fail.
    let _ = serde_json::to_writer(&mut hashing, capabilities);
    let digest = hashing.0.finish();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest.as_ref()[..16]);
    out
}

#[cfg(test)]
mod tests;
