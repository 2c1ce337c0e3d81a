use std::time::Duration;

use mcpgw_config::{CircuitBreakerPlan, RateLimitPlan};

use super::*;
use crate::south::error::TransportError;

const COOL_DOWN: Duration = Duration::from_secs(10);

fn breaker(failures: u32) -> Arc<Limits> {
    let plan = CircuitBreakerPlan {
        failures,
        cool_down: COOL_DOWN,
    };
    Limits::new("t", None, None, Some(plan)).expect("a breaker")
}

/// `requests` per minute.
fn rate(requests: u32) -> RateLimitPlan {
    RateLimitPlan {
        requests,
        per: Duration::from_secs(60),
    }
}

fn refused_for(limits: &Limits) -> Option<Duration> {
    match limits.admit(true) {
        Err(ClientError::CircuitOpen { retry_after }) => Some(retry_after),
        Ok(_) => None,
        Err(other) => panic!("unexpected refusal: {other}"),
    }
}

fn down() -> ClientError {
    ClientError::Transport(TransportError::Refused)
}

#[test]
fn no_limits_configured_means_no_limits_at_all() {
    assert!(Limits::new("t", None, None, None).is_none());
}

#[test]
fn requests_over_the_bound_are_refused_until_one_ends() {
    let limits = Limits::new("t", Some(2), None, None).expect("a bound");
    let first = limits.admit(true).expect("first");
    let _second = limits.admit(true).expect("second");
    assert!(matches!(
        limits.admit(true),
        Err(ClientError::Overloaded { max: 2, retry_after }) if retry_after == OVERLOADED_RETRY_AFTER
    ));
    drop(first);
    assert!(limits.admit(true).is_ok(), "a place came free");
}

#[test]
fn a_subscription_takes_no_place_but_still_spends_the_rate() {
    let limits = Limits::new("t", Some(1), Some(rate(2)), None).expect("limits");
    let call = limits.admit(true).expect("the one place");
    // The bound is full, and a subscription still goes: it is not in flight.
    let listen = limits.admit(false).expect("a subscription");
    assert!(listen.is_none(), "no place held");
    assert!(matches!(
        limits.admit(true),
        Err(ClientError::Overloaded { .. })
    ));
    drop(call);
    // Two requests of the rate of 2 were spent (the call and the subscription).
    assert!(matches!(
        limits.admit(true),
        Err(ClientError::RateLimited { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_open_the_breaker_and_a_success_in_between_resets_them() {
    let limits = breaker(3);
    limits.ended_with(&down());
    limits.ended_with(&down());
    limits.succeeded();
    limits.ended_with(&down());
    limits.ended_with(&down());
    assert_eq!(refused_for(&limits), None, "two in a row: still closed");
    limits.ended_with(&ClientError::Timeout(Duration::from_secs(1)));
    assert_eq!(refused_for(&limits), Some(COOL_DOWN));
}

#[tokio::test(start_paused = true)]
async fn answers_that_refuse_the_caller_are_not_failures_but_show_the_toolkit_is_up() {
    let limits = breaker(2);
    limits.ended_with(&down());
    limits.ended_with(&ClientError::SessionExpired);
    limits.ended_with(&down());
    limits.ended_with(&ClientError::Status {
        status: http::StatusCode::UNAUTHORIZED,
        www_authenticate: None,
    });
    assert_eq!(refused_for(&limits), None, "each answer reset the count");
    limits.ended_with(&ClientError::Overloaded {
        max: 1,
        retry_after: Duration::from_secs(1),
    });
    limits.ended_with(&down());
    assert_eq!(
        refused_for(&limits),
        None,
        "the gateway's own refusal counts for nothing"
    );
    limits.ended_with(&ClientError::Status {
        status: http::StatusCode::BAD_GATEWAY,
        www_authenticate: None,
    });
    assert_eq!(refused_for(&limits), Some(COOL_DOWN), "a 5xx is a failure");
}

#[tokio::test(start_paused = true)]
async fn after_the_cool_down_one_probe_goes_and_its_success_closes_the_breaker() {
    let limits = breaker(1);
    limits.ended_with(&down());
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(refused_for(&limits), Some(Duration::from_secs(6)));
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(refused_for(&limits), None, "the probe");
    assert_eq!(refused_for(&limits), Some(COOL_DOWN), "one probe at a time");
    limits.succeeded();
    assert_eq!(refused_for(&limits), None);
    assert_eq!(refused_for(&limits), None);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_opens_the_breaker_again() {
    let limits = breaker(2);
    limits.ended_with(&down());
    limits.ended_with(&down());
    tokio::time::advance(COOL_DOWN).await;
    assert_eq!(refused_for(&limits), None, "the probe");
    limits.ended_with(&down());
    assert_eq!(refused_for(&limits), Some(COOL_DOWN));
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_never_ends_only_delays_the_next_one() {
    let limits = breaker(1);
    limits.ended_with(&down());
    tokio::time::advance(COOL_DOWN).await;
    assert_eq!(
        refused_for(&limits),
        None,
        "the probe, whose caller goes away"
    );
    tokio::time::advance(COOL_DOWN).await;
    assert_eq!(refused_for(&limits), None, "the next probe");
}

#[test]
fn requests_over_the_rate_are_refused_with_the_wait_for_the_next() {
    let limits = Limits::new("t", None, Some(rate(3)), None).expect("a rate");
    for _ in 0..3 {
        assert!(limits.admit(true).is_ok(), "a burst of `requests` goes");
    }
    match limits.admit(true) {
        Err(ClientError::RateLimited { retry_after }) => {
            assert!(
                retry_after > Duration::from_secs(15) && retry_after <= Duration::from_secs(20),
                "one request comes back every 20 s: {retry_after:?}"
            );
        }
        other => panic!("expected a rate refusal, got {other:?}"),
    }
}
