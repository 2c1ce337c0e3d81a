//! Rendering of toolkits' `spec.maxConcurrentRequests`, `spec.rateLimit`,
//! `spec.circuitBreaker` and `spec.retries` into
//! their mcp client's options, and the verdict when the config refuses them.

use std::time::Duration;

use mcpgw_config::{CircuitBreakerPlan, RateLimitPlan, RetryPlan};
use mcpgw_crds::{CircuitBreaker, RateLimit, Retries};

use super::*;

/// The demo with `everything` limited as `limit` says.
fn limited(limit: impl Fn(&mut McpToolkit)) -> Rendered {
    let mut toolkits = demo_toolkits();
    for toolkit in &mut toolkits {
        if toolkit.spec.toolkit == "everything" {
            limit(toolkit);
        }
    }
    run(&gateway("demo"), &toolkits)
}

#[test]
fn limits_reach_the_toolkits_mcp_client() {
    let r = limited(|t| {
        t.spec.max_concurrent_requests = Some(8);
        t.spec.rate_limit = Some(RateLimit {
            requests: 600,
            per: Some("PT1M".into()),
        });
        t.spec.retries = Some(Retries {
            attempts: 2,
            backoff: Some("PT0.2S".into()),
        });
        t.spec.circuit_breaker = Some(CircuitBreaker {
            failures: Some(3),
            cool_down: Some("PT10S".into()),
        });
    });
    assert_all_accepted_and_resolved(&r);
    let plan = mcpgw_config::compile_yaml(&r.config.expect("a config").yaml).expect("compiles");
    let toolkits = &plan.listeners[0].routes[0].endpoint.proxy.toolkits;
    let everything = toolkits
        .iter()
        .find(|t| t.name == "everything")
        .expect("served");
    assert_eq!(everything.max_concurrent_requests, Some(8));
    assert_eq!(
        everything.rate_limit,
        Some(RateLimitPlan {
            requests: 600,
            per: Duration::from_secs(60),
        })
    );
    assert_eq!(
        everything.circuit_breaker,
        Some(CircuitBreakerPlan {
            failures: 3,
            cool_down: Duration::from_secs(10),
        })
    );
    assert_eq!(
        everything.retries,
        Some(RetryPlan {
            attempts: 2,
            backoff: Duration::from_millis(200),
        })
    );
    let time = toolkits.iter().find(|t| t.name == "time").expect("served");
    assert_eq!(
        (time.max_concurrent_requests, time.circuit_breaker),
        (None, None)
    );
}

#[test]
fn an_empty_circuit_breaker_renders_the_defaults() {
    let r = limited(|t| t.spec.circuit_breaker = Some(CircuitBreaker::default()));
    let plan = mcpgw_config::compile_yaml(&r.config.expect("a config").yaml).expect("compiles");
    let toolkits = &plan.listeners[0].routes[0].endpoint.proxy.toolkits;
    let everything = toolkits
        .iter()
        .find(|t| t.name == "everything")
        .expect("served");
    assert_eq!(
        everything.circuit_breaker,
        Some(CircuitBreakerPlan {
            failures: 5,
            cool_down: Duration::from_secs(30),
        })
    );
}

#[test]
fn a_cool_down_over_an_hour_refuses_the_toolkit_in_the_configs_words() {
    let r = limited(|t| {
        t.spec.circuit_breaker = Some(CircuitBreaker {
            failures: None,
            cool_down: Some("PT2H".into()),
        });
    });
    assert_eq!(r.served, ["time"]);
    let everything = &r.toolkits["everything"];
    assert!(!everything.accepted.status);
    assert_eq!(everything.accepted.reason, reason::INVALID);
    assert!(
        everything.accepted.message.contains("must be at most PT1H"),
        "{}",
        everything.accepted.message
    );
}
