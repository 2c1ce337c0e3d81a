//! `options.max_concurrent_requests`, `options.rate_limit`, `options.circuit_breaker`
//! and `options.retries` of an mcp client.

use std::time::Duration;

use crate::plan::{CircuitBreakerPlan, RateLimitPlan, RetryPlan, ToolkitPlan};
use crate::testing::{assert_errors, demo_with};

const CLIENT: &str = "options: { server: http://127.0.0.1:3001/mcp, timeout: PT60S }";
const PATH: &str = "bindings.south_mcp_client_everything.options";

/// The demo with `extra` added to the everything toolkit's client options.
fn with_options(extra: &str) -> String {
    demo_with(
        CLIENT,
        &format!("options: {{ server: http://127.0.0.1:3001/mcp, timeout: PT60S, {extra} }}"),
    )
}

fn everything(yaml: &str) -> ToolkitPlan {
    let plan = crate::compile_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    plan.listeners[0].routes[0].endpoint.proxy.toolkits[0].clone()
}

#[test]
fn limits_left_out_mean_no_bound_and_no_breaker() {
    let toolkit = everything(&demo_with(CLIENT, CLIENT));
    assert_eq!(toolkit.max_concurrent_requests, None);
    assert_eq!(toolkit.rate_limit, None);
    assert_eq!(toolkit.circuit_breaker, None);
    assert_eq!(toolkit.retries, None);
}

#[test]
fn limits_written_out_reach_the_plan() {
    let toolkit = everything(&with_options(
        "max_concurrent_requests: 8, circuit_breaker: { failures: 3, cool_down: PT2S }",
    ));
    assert_eq!(toolkit.max_concurrent_requests, Some(8));
    assert_eq!(
        toolkit.circuit_breaker,
        Some(CircuitBreakerPlan {
            failures: 3,
            cool_down: Duration::from_secs(2),
        })
    );
}

#[test]
fn an_empty_circuit_breaker_takes_the_defaults() {
    let toolkit = everything(&with_options("circuit_breaker: {}"));
    assert_eq!(
        toolkit.circuit_breaker,
        Some(CircuitBreakerPlan {
            failures: 5,
            cool_down: Duration::from_secs(30),
        })
    );
}

#[test]
fn limits_out_of_range_are_errors_at_their_paths() {
    let yaml = with_options(
        "max_concurrent_requests: 0, circuit_breaker: { failures: 0, cool_down: PT0S }",
    );
    assert_errors(
        &yaml,
        &[
            &format!("{PATH}.max_concurrent_requests: must be between 1 and 100000"),
            &format!("{PATH}.circuit_breaker.failures: must be between 1 and 1000"),
            &format!("{PATH}.circuit_breaker.cool_down: must be longer than zero"),
        ],
    );
    let yaml = with_options(
        "max_concurrent_requests: 100001, circuit_breaker: { failures: 1001, cool_down: PT61M }",
    );
    assert_errors(
        &yaml,
        &[
            &format!("{PATH}.max_concurrent_requests: must be between 1 and 100000"),
            &format!("{PATH}.circuit_breaker.failures: must be between 1 and 1000"),
            &format!("{PATH}.circuit_breaker.cool_down: must be at most PT1H"),
        ],
    );
}

#[test]
fn an_unknown_circuit_breaker_field_is_an_error() {
    let yaml = with_options("circuit_breaker: { threshold: 3 }");
    let errors = crate::compile_yaml(&yaml).expect_err("refused").errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .path
            .starts_with(&format!("{PATH}.circuit_breaker")),
        "{errors:?}"
    );
}

#[test]
fn a_rate_limit_reaches_the_plan_with_a_period_of_a_second_by_default() {
    let toolkit = everything(&with_options("rate_limit: { requests: 20 }"));
    assert_eq!(
        toolkit.rate_limit,
        Some(RateLimitPlan {
            requests: 20,
            per: Duration::from_secs(1),
        })
    );
    let toolkit = everything(&with_options("rate_limit: { requests: 600, per: PT1M }"));
    assert_eq!(
        toolkit.rate_limit,
        Some(RateLimitPlan {
            requests: 600,
            per: Duration::from_secs(60),
        })
    );
}

#[test]
fn a_rate_limit_out_of_range_is_an_error_at_its_path() {
    assert_errors(
        &with_options("rate_limit: { requests: 0, per: PT0S }"),
        &[
            &format!("{PATH}.rate_limit.requests: must be between 1 and 1000000"),
            &format!("{PATH}.rate_limit.per: must be longer than zero"),
        ],
    );
    assert_errors(
        &with_options("rate_limit: { requests: 1000001, per: PT2H }"),
        &[
            &format!("{PATH}.rate_limit.requests: must be between 1 and 1000000"),
            &format!("{PATH}.rate_limit.per: must be at most PT1H"),
        ],
    );
    let errors = crate::compile_yaml(&with_options("rate_limit: { per: PT1S }"))
        .expect_err("refused")
        .errors;
    assert!(
        errors[0].path.starts_with(&format!("{PATH}.rate_limit")),
        "{errors:?}"
    );
}

#[test]
fn retries_reach_the_plan_with_a_tenth_of_a_second_backoff_by_default() {
    let toolkit = everything(&with_options("retries: { attempts: 2 }"));
    assert_eq!(
        toolkit.retries,
        Some(RetryPlan {
            attempts: 2,
            backoff: Duration::from_millis(100),
        })
    );
}

#[test]
fn retries_out_of_range_are_errors_at_their_paths() {
    assert_errors(
        &with_options("retries: { attempts: 0, backoff: PT0S }"),
        &[
            &format!("{PATH}.retries.attempts: must be between 1 and 5"),
            &format!("{PATH}.retries.backoff: must be longer than zero"),
        ],
    );
    assert_errors(
        &with_options("retries: { attempts: 6, backoff: PT11S }"),
        &[
            &format!("{PATH}.retries.attempts: must be between 1 and 5"),
            &format!("{PATH}.retries.backoff: must be at most PT10S"),
        ],
    );
}
