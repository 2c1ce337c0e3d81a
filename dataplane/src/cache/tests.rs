//! Unit tests of the listing cache: single-flight loading (at expiry too),
//! failures never cached, freshness on tokio's (paused) clock, evictions,
//! the upstream's caching hints, epochs and forgetting.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use super::*;

fn cache(ttl: Duration, max_entries: u64) -> (ListingCache, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let plan = CachePlan {
        store: "cache".into(),
        ttl,
        max_entries,
    };
    (ListingCache::new(&plan, metrics.clone()), metrics)
}

fn key(scope: &ListingScope, cursor: Option<&str>) -> ListingKey {
    ListingKey {
        toolkit: "kit".into(),
        toolkit_id: scope.id,
        epoch: scope.epoch(),
        list: "tools/list",
        cursor: cursor.map(str::to_owned),
        version: "2025-11-25",
        capabilities: capabilities_digest(&json!({})),
        identity: None,
        prefixed: true,
    }
}

/// A page whose raw and exposed forms are both `value`.
fn page(value: Value) -> CachedPage {
    CachedPage {
        raw: value.clone(),
        exposed: value,
    }
}

#[tokio::test]
async fn a_hundred_concurrent_misses_make_one_load() {
    let (cache, metrics) = cache(Duration::from_secs(60), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let asks = (0..100).map(|_| {
        cache.page(key(&scope, None), None, async {
            loads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(page(json!({"tools": [{"name": "a"}]})))
        })
    });
    let pages = futures_util::future::join_all(asks).await;
    assert!(
        pages
            .iter()
            .all(|p| p.as_ref().is_ok_and(|v| v.raw["tools"][0]["name"] == "a"))
    );
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(
        metrics.listing_cache_count("kit", "tools/list", CacheEvent::Load),
        1
    );
    assert_eq!(
        metrics.listing_cache_count("kit", "tools/list", CacheEvent::Miss),
        100
    );
    let again = cache
        .page(key(&scope, None), None, async {
            Err::<CachedPage, _>("not called")
        })
        .await;
    assert!(again.is_ok());
    assert_eq!(
        metrics.listing_cache_count("kit", "tools/list", CacheEvent::Hit),
        1
    );
}

#[tokio::test]
async fn a_failed_load_is_not_cached() {
    let (cache, _) = cache(Duration::from_secs(60), 100);
    let scope = ListingScope::default();
    let failed = cache
        .page(key(&scope, None), None, async {
            Err::<CachedPage, _>("down")
        })
        .await;
    assert_eq!(failed.err(), Some("down"));
    let loaded = cache
        .page(key(&scope, None), None, async {
            Ok::<_, &str>(page(json!({"tools": []})))
        })
        .await;
    assert!(loaded.is_ok(), "the next ask loads again");
}

/// The `n` of the page the cache serves for `key`, loading `{n: load}` on a miss.
async fn served_n(cache: &ListingCache, key: ListingKey, load: u64) -> Value {
    let page = async move { Ok::<_, ()>(page(json!({ "tools": [], "n": load }))) };
    cache.page(key, None, page).await.unwrap().raw["n"].clone()
}

#[tokio::test(start_paused = true)]
async fn a_page_older_than_the_ttl_is_loaded_again() {
    let (cache, metrics) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    assert_eq!(served_n(&cache, key(&scope, None), 1).await, 1);
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(
        served_n(&cache, key(&scope, None), 2).await,
        1,
        "still fresh"
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        served_n(&cache, key(&scope, None), 3).await,
        3,
        "loaded again"
    );
    assert_eq!(
        metrics.listing_cache_count("kit", "tools/list", CacheEvent::Load),
        2
    );
}

#[tokio::test]
async fn list_changed_and_forgetting_make_cached_pages_unreachable() {
    let (cache, _) = cache(Duration::from_secs(60), 100);
    let scope = ListingScope::default();
    let load = |n: u64| async move { Ok::<_, ()>(page(json!({ "tools": [], "n": n }))) };
    assert_eq!(
        cache
            .page(key(&scope, None), None, load(1))
            .await
            .unwrap()
            .raw["n"],
        1
    );
    scope.lists_changed();
    assert_eq!(
        cache
            .page(key(&scope, None), None, load(2))
            .await
            .unwrap()
            .raw["n"],
        2
    );
    // Pages are per cursor.
    assert_eq!(
        cache
            .page(key(&scope, Some("c")), None, load(3))
            .await
            .unwrap()
            .raw["n"],
        3
    );
    cache.forget(scope.id);
    assert_eq!(
        cache
            .page(key(&scope, None), None, load(4))
            .await
            .unwrap()
            .raw["n"],
        4
    );
}

/// A load that counts itself and answers `value` after a (paused-clock) while.
async fn counted(loads: &AtomicUsize, value: Value) -> Result<CachedPage, ()> {
    loads.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(page(value))
}

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_lookups_at_expiry_make_one_load() {
    let (cache, metrics) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let first = cache
        .page(
            key(&scope, None),
            None,
            counted(&loads, json!({"tools": [], "n": 1})),
        )
        .await;
    assert_eq!(first.unwrap().raw["n"], 1);
    tokio::time::advance(Duration::from_secs(301)).await;
    let asks = (0..100).map(|_| {
        cache.page(
            key(&scope, None),
            None,
            counted(&loads, json!({"tools": [], "n": 2})),
        )
    });
    let pages = futures_util::future::join_all(asks).await;
    assert!(pages.iter().all(|p| p.as_ref().unwrap().raw["n"] == 2));
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "one load, then one at expiry"
    );
    assert_eq!(
        metrics.listing_cache_count("kit", "tools/list", CacheEvent::Eviction),
        1,
        "the stale page is dropped once"
    );
}

/// Load `scope`'s first page with `load(1)`, let it go stale (past a TTL of
/// 300 s) and load it again with `load(2)`.
async fn load_expire_and_reload<F, E>(
    cache: &ListingCache,
    scope: &ListingScope,
    load: impl Fn(u64) -> F,
) where
    F: Future<Output = Result<CachedPage, E>>,
    E: Clone + Send + Sync + std::fmt::Debug + 'static,
{
    cache.page(key(scope, None), None, load(1)).await.unwrap();
    tokio::time::advance(Duration::from_secs(301)).await;
    cache.page(key(scope, None), None, load(2)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_late_caller_that_saw_the_stale_page_leaves_the_fresh_one_in_place() {
    let (cache, _) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let load = |n: u64| counted(&loads, json!({ "tools": [], "n": n }));
    // Another caller reloads first; this one then drops what it saw as stale.
    load_expire_and_reload(&cache, &scope, load).await;
    cache.drop_stale(&key(&scope, None)).await;
    let kept = cache.page(key(&scope, None), None, load(3)).await.unwrap();
    assert_eq!(kept.raw["n"], 2);
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn pages_dropped_for_age_or_space_are_counted_as_evictions() {
    let (cache, metrics) = cache(Duration::from_secs(300), 1);
    let scope = ListingScope::default();
    let load = |n: u64| async move { Ok::<_, ()>(page(json!({ "tools": [], "n": n }))) };
    let evictions = || metrics.listing_cache_count("kit", "tools/list", CacheEvent::Eviction);
    load_expire_and_reload(&cache, &scope, load).await;
    assert_eq!(evictions(), 1, "dropped for age");

    // A size bound of 1: a second page makes room by dropping one of the two.
    cache
        .page(key(&scope, Some("c")), None, load(3))
        .await
        .unwrap();
    cache.pages.run_pending_tasks().await;
    assert_eq!(cache.entries(), 1);
    assert_eq!(evictions(), 2, "dropped for space");
    let text = metrics.render(0);
    assert!(
        text.contains(
            "mcpgw_listing_cache_total{toolkit=\"kit\",list=\"tools/list\",event=\"eviction\"} 2\n"
        ),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_shorter_of_the_configured_ttl_and_the_upstreams_ttl_ms_wins() {
    let (cache, _) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let short = json!({"tools": [], "ttlMs": 10_000});
    let long = json!({"tools": [], "ttlMs": 3_600_000});
    // (seconds waited first, the upstream's answer, upstream loads by then)
    let steps = [
        (0, &short, 1, "loaded"),
        (9, &short, 1, "fresh for ttlMs"),
        (2, &long, 2, "stale after ttlMs"),
        (299, &long, 2, "fresh for the configured ttl"),
        (2, &long, 3, "never longer than the configured ttl"),
    ];
    for (wait, value, expected, why) in steps {
        tokio::time::advance(Duration::from_secs(wait)).await;
        let asked = cache.page(key(&scope, None), None, counted(&loads, value.clone()));
        asked.await.unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), expected, "{why}");
    }
}

#[tokio::test(start_paused = true)]
async fn pages_stale_at_once_interim_or_without_items_are_served_but_not_kept() {
    let unkept = [
        json!({"tools": [], "ttlMs": 0}),
        json!({"tools": [], "ttlMs": -5}),
        json!({"tools": [], "resultType": "input_required"}),
        json!({"nextCursor": "x"}),
        json!({"tools": {}}),
    ];
    for value in unkept {
        let (cache, _) = cache(Duration::from_secs(300), 100);
        let scope = ListingScope::default();
        let loads = AtomicUsize::new(0);
        for _ in 0..2 {
            let served = cache.page(key(&scope, None), None, counted(&loads, value.clone()));
            assert_eq!(served.await.unwrap().raw, value);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 2, "{value}");
    }
    // Callers asking at the same time still share the one load.
    let (cache, _) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let zero = json!({"tools": [], "ttlMs": 0});
    let asks = (0..10).map(|_| cache.page(key(&scope, None), None, counted(&loads, zero.clone())));
    let pages = futures_util::future::join_all(asks).await;
    assert!(pages.iter().all(|p| p.as_ref().unwrap().raw == zero));
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

/// A private page naming whose it is.
fn private(whose: &str) -> Value {
    json!({"tools": [{"name": whose}], "cacheScope": "private"})
}

fn whose(page: &Arc<CachedPage>) -> &str {
    page.raw["tools"][0]["name"].as_str().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_private_page_is_kept_per_caller_and_never_shared() {
    let (cache, _) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let ask = |caller: Option<&'static str>| {
        cache.page(
            key(&scope, None),
            caller,
            counted(&loads, private(caller.unwrap_or("anonymous"))),
        )
    };
    assert_eq!(whose(&ask(Some("alice")).await.unwrap()), "alice");
    assert_eq!(whose(&ask(Some("bob")).await.unwrap()), "bob");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
    assert_eq!(whose(&ask(Some("alice")).await.unwrap()), "alice");
    assert_eq!(whose(&ask(Some("bob")).await.unwrap()), "bob");
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "each kept under its caller"
    );
    for _ in 0..2 {
        assert_eq!(whose(&ask(None).await.unwrap()), "anonymous");
    }
    assert_eq!(loads.load(Ordering::SeqCst), 4, "never kept for no one");
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_of_a_private_list_each_get_their_own_page() {
    let (cache, _) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let loads = AtomicUsize::new(0);
    let callers = ["alice", "bob", "carol", "alice", "bob"];
    let asks = callers.map(|caller| {
        cache.page(
            key(&scope, None),
            Some(caller),
            counted(&loads, private(caller)),
        )
    });
    let pages = futures_util::future::join_all(asks).await;
    for (caller, page) in callers.iter().zip(&pages) {
        assert_eq!(whose(page.as_ref().unwrap()), *caller);
    }
    // Also when private pages are not kept at all.
    let unkept =
        |whose: &str| json!({"tools": [{"name": whose}], "cacheScope": "private", "ttlMs": 0});
    let asks = callers.map(|caller| {
        cache.page(
            key(&scope, Some("c")),
            Some(caller),
            counted(&loads, unkept(caller)),
        )
    });
    let pages = futures_util::future::join_all(asks).await;
    for (caller, page) in callers.iter().zip(&pages) {
        assert_eq!(whose(page.as_ref().unwrap()), *caller);
    }
}
