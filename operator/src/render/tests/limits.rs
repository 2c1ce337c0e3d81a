//! Rendering of toolkits' `spec.maxConcurrentRequests`, `spec.rateLimit`,
//! `spec.circuitBreaker` and `spec.retries` into
//! their mcp client's options, and the verdict when the config refuses them.

use std::time::Duration;

use mcpgw_config::{CircuitBreakerPlan, RateLimitPlan, RetryPlan, ToolkitPlan};
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

/// The toolkits the data plane compiles from the rendered config.
fn served(r: Rendered) -> Vec<ToolkitPlan> {
    let plan = plan_of(r);
    plan.listeners[0].routes[0].endpoint.proxy.toolkits.clone()
}

fn named<'a>(toolkits: &'a [ToolkitPlan], name: &str) -> &'a ToolkitPlan {
    toolkits.iter().find(|t| t.name == name).expect("served")
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
    let toolkits = served(r);
    let everything = named(&toolkits, "everything");
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
    let time = named(&toolkits, "time");
    assert_eq!(
        (time.max_concurrent_requests, time.circuit_breaker),
        (None, None)
    );
}

#[test]
fn an_empty_circuit_breaker_renders_the_defaults() {
    let r = limited(|t| t.spec.circuit_breaker = Some(CircuitBreaker::default()));
    let everything = named(&served(r), "everything").clone();
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

#[test]
fn client_limits_reach_the_http_server_and_the_mcp_server() {
    let mut gw = gateway("demo");
    gw.spec.client_limits = Some(mcpgw_crds::ClientLimits {
        header_read_timeout: Some("PT5S".into()),
        idle_timeout: Some("PT2M".into()),
        max_sessions_per_caller: Some(50),
        max_streams_per_caller: Some(10),
    });
    let r = run(&gw, &demo_toolkits());
    assert_all_accepted_and_resolved(&r);
    let plan = plan_of(r);
    let listener = &plan.listeners[0];
    assert_eq!(listener.http.header_read_timeout, Duration::from_secs(5));
    assert_eq!(listener.http.idle_timeout, Duration::from_secs(120));
    let server = &listener.routes[0].endpoint.server;
    assert_eq!(
        (
            server.max_sessions_per_caller,
            server.max_streams_per_caller
        ),
        (50, 10)
    );
    // Left out: the data plane's defaults.
    let plan = plan_of(run(&gateway("demo"), &demo_toolkits()));
    assert_eq!(
        plan.listeners[0].http,
        mcpgw_config::HttpServerPlan::default()
    );
}
