//! Unit tests of the listing cache: single-flight loading, failures never
//! cached, freshness on tokio's (paused) clock, epochs and forgetting.
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
        cache.page(key(&scope, None), async {
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
        .page(key(&scope, None), async {
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
        .page(key(&scope, None), async { Err::<CachedPage, _>("down") })
        .await;
    assert_eq!(failed.err().map(|e| *e), Some("down"));
    let loaded = cache
        .page(key(&scope, None), async {
            Ok::<_, &str>(page(json!({"tools": []})))
        })
        .await;
    assert!(loaded.is_ok(), "the next ask loads again");
}

#[tokio::test(start_paused = true)]
async fn a_page_older_than_the_ttl_is_loaded_again() {
    let (cache, metrics) = cache(Duration::from_secs(300), 100);
    let scope = ListingScope::default();
    let load = |n: u64| async move { Ok::<_, ()>(page(json!({ "n": n }))) };
    assert_eq!(
        cache.page(key(&scope, None), load(1)).await.unwrap().raw["n"],
        1
    );
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(
        cache.page(key(&scope, None), load(2)).await.unwrap().raw["n"],
        1
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        cache.page(key(&scope, None), load(3)).await.unwrap().raw["n"],
        3
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
    let load = |n: u64| async move { Ok::<_, ()>(page(json!({ "n": n }))) };
    assert_eq!(
        cache.page(key(&scope, None), load(1)).await.unwrap().raw["n"],
        1
    );
    scope.lists_changed();
    assert_eq!(
        cache.page(key(&scope, None), load(2)).await.unwrap().raw["n"],
        2
    );
    // Pages are per cursor.
    assert_eq!(
        cache
            .page(key(&scope, Some("c")), load(3))
            .await
            .unwrap()
            .raw["n"],
        3
    );
    cache.forget(scope.id);
    assert_eq!(
        cache.page(key(&scope, None), load(4)).await.unwrap().raw["n"],
        4
    );
}
