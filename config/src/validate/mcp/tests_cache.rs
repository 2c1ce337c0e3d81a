//! `options.cache` of an mcp proxy and the `memory` store it names.

use std::time::Duration;

use crate::plan::CachePlan;
use crate::testing::{assert_errors, demo_with};

const CACHE: &str = "cache: { store: cache, ttl: PT5M }";
const STORE: &str = "cache: { type: memory }";
const PATH: &str = "bindings.north_mcp_proxy.options.cache";

fn proxy_cache(yaml: &str) -> Option<CachePlan> {
    let plan = crate::compile_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    plan.listeners[0].routes[0].endpoint.proxy.cache.clone()
}

#[test]
fn the_cache_compiles_with_its_store_and_defaults() {
    let plan = proxy_cache(&demo_with(
        STORE,
        "cache: { type: memory, options: { max_entries: 50 } }",
    ));
    let expected = CachePlan {
        store: "cache".into(),
        ttl: Duration::from_secs(300),
        max_entries: 50,
    };
    assert_eq!(plan, Some(expected));
    let without = demo_with(CACHE, "# no cache");
    assert_eq!(proxy_cache(&without), None);
}

#[test]
fn the_store_must_exist_and_the_ttl_be_in_range() {
    assert_errors(
        &demo_with(CACHE, "cache: { store: nowhere, ttl: PT5M }"),
        &[&format!(
            "{PATH}.store: no store named `nowhere` in `stores`"
        )],
    );
    assert_errors(
        &demo_with(CACHE, "cache: { store: cache, ttl: PT0S }"),
        &[&format!("{PATH}.ttl: must be longer than zero")],
    );
    assert_errors(
        &demo_with(CACHE, "cache: { store: cache, ttl: P2D }"),
        &[&format!("{PATH}.ttl: must be at most P1D")],
    );
    assert_errors(
        &demo_with(
            STORE,
            "cache: { type: memory, options: { max_entries: 0 } }",
        ),
        &["stores.cache.options.max_entries: must be between 1 and 10000000"],
    );
}

#[test]
fn unknown_cache_fields_are_named() {
    let yaml = demo_with(
        CACHE,
        "cache: { store: cache, ttl: PT5M, authorization: {} }",
    );
    let errors = crate::compile_yaml(&yaml).expect_err("refused").to_string();
    assert!(
        errors.contains(&format!("{PATH}.authorization")),
        "{errors}"
    );
}
