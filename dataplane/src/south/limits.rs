//! Admission of requests to one toolkit (`max_concurrent_requests`,
//! `rate_limit`, `circuit_breaker`): a request over the bound or the rate, or
//! sent while the breaker is open, is refused at once with the time after which
//! trying again makes sense, instead of queueing or waiting for the toolkit's
//! timeout. The rate is `governor`'s GCRA (a token bucket of `requests`
//! refilled evenly over `per`).
//!
//! The breaker counts consecutive failed exchanges (see [`health`]); at
//! `failures` it opens for `cool_down`. After that one request is let through
//! as a probe, and the breaker stays shut to every other request for another
//! `cool_down`: the probe's success closes it, its failure opens it again, and
//! a probe that never ends (its caller went away) only delays the next one.
//!
//! Only requests are admitted here: notifications and responses (a
//! cancellation, a client's answer to an elicitation) always go through.
//! A toolkit with no limit has no [`Limits`] at all, so that a disabled limit
//! costs nothing per request.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use mcpgw_config::{CircuitBreakerPlan, RateLimitPlan};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error::ClientError;

/// What a client is told to wait before trying a full toolkit again: requests
/// in flight end in about that time, and it keeps retries from spinning.
const OVERLOADED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The limits of one toolkit, shared by every request to it.
#[derive(Debug)]
pub(super) struct Limits {
    /// The toolkit's name, for the log.
    toolkit: Arc<str>,
    in_flight: Option<(Arc<Semaphore>, u32)>,
    rate: Option<DefaultDirectRateLimiter>,
    breaker: Option<Breaker>,
}

impl Limits {
    /// The limits configured; `None` when there are none.
    pub(super) fn new(
        toolkit: &str,
        max_concurrent_requests: Option<u32>,
        rate: Option<RateLimitPlan>,
        breaker: Option<CircuitBreakerPlan>,
    ) -> Option<Arc<Self>> {
        if max_concurrent_requests.is_none() && rate.is_none() && breaker.is_none() {
            return None;
        }
        Some(Arc::new(Self {
            toolkit: toolkit.into(),
            in_flight: max_concurrent_requests
                .map(|max| (Arc::new(Semaphore::new(max as usize)), max)),
            rate: rate.map(|rate| DefaultDirectRateLimiter::direct(quota(rate))),
            breaker: breaker.map(Breaker::new),
        }))
    }

    /// Lets a request go now, or refuses it. The permit, if any, is the
    /// request's place among those in flight: hold it until the exchange ends.
    /// A request that is not `in_flight` (a subscription, which lasts as long
    /// as its client listens) takes no place, but the breaker and the rate apply.
    pub(super) fn admit(
        &self,
        in_flight: bool,
    ) -> Result<Option<OwnedSemaphorePermit>, ClientError> {
        if let Some(breaker) = &self.breaker {
            breaker.admit(&self.toolkit, Instant::now())?;
        }
        // NB: the place first, so that a request refused for it spends none of the rate.
        let permit = match &self.in_flight {
            Some((slots, max)) if in_flight => {
                Some(Arc::clone(slots).try_acquire_owned().map_err(|_| {
                    ClientError::Overloaded {
                        max: *max,
                        retry_after: OVERLOADED_RETRY_AFTER,
                    }
                })?)
            }
            _ => None,
        };
        if let Some(rate) = &self.rate
            && let Err(not_until) = rate.check()
        {
            let retry_after = not_until.wait_time_from(DefaultClock::default().now());
            return Err(ClientError::RateLimited { retry_after });
        }
        Ok(permit)
    }

    /// The toolkit answered a request.
    pub(super) fn succeeded(&self) {
        if let Some(breaker) = &self.breaker {
            breaker.succeeded(&self.toolkit);
        }
    }

    /// An exchange ended with `error`: a failure of the toolkit's counts
    /// towards opening the breaker; an answer of the toolkit's (an expired
    /// session, a refused credential, an error to `initialize`) shows it is up.
    pub(super) fn ended_with(&self, error: &ClientError) {
        let Some(breaker) = &self.breaker else {
            return;
        };
        match health(error) {
            Some(Health::Failing) => breaker.failed(&self.toolkit, Instant::now()),
            Some(Health::Answering) => breaker.succeeded(&self.toolkit),
            None => {}
        }
    }
}

/// What an error says of the toolkit's health.
enum Health {
    /// Unreachable, too slow, broken replies, a 5xx.
    Failing,
    /// It answered, if not what was hoped for.
    Answering,
}

/// What `error` says of the toolkit's health; `None`: nothing (the gateway's
/// own refusals and problems).
fn health(error: &ClientError) -> Option<Health> {
    match error {
        ClientError::Transport(_) | ClientError::Timeout(_) | ClientError::Protocol(_) => {
            Some(Health::Failing)
        }
        ClientError::Status { status, .. } if status.is_server_error() => Some(Health::Failing),
        ClientError::Status { .. } | ClientError::SessionExpired | ClientError::Initialize(_) => {
            Some(Health::Answering)
        }
        ClientError::Credentials(_)
        | ClientError::Aborted
        | ClientError::Overloaded { .. }
        | ClientError::RateLimited { .. }
        | ClientError::CircuitOpen { .. } => None,
    }
}

/// The quota of `rate`: `requests` in a burst, one more every `per / requests`.
fn quota(rate: RateLimitPlan) -> Quota {
    let burst = NonZeroU32::new(rate.requests).unwrap_or(NonZeroU32::MIN);
    // NB: a period too short to divide (under a nanosecond per request) gets the
    // shortest one governor takes.
    let every = (rate.per / burst.get()).max(Duration::from_nanos(1));
    Quota::with_period(every)
        .unwrap_or_else(|| unreachable!("the period is at least a nanosecond"))
        .allow_burst(burst)
}

/// A circuit breaker: closed, open until an instant, or probing.
#[derive(Debug)]
struct Breaker {
    plan: CircuitBreakerPlan,
    // NB: a std mutex, held only to read or write the state, never across an await.
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Requests go through; this many failed in a row.
    Closed { failures: u32 },
    /// Requests are refused until the instant.
    Open { until: Instant },
    /// One probe went through; others are refused until the instant, when the
    /// next probe may go.
    Probing { until: Instant },
}

impl Breaker {
    fn new(plan: CircuitBreakerPlan) -> Self {
        Self {
            plan,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // NB: the state is one small value, consistent whatever a panicking holder did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn admit(&self, toolkit: &str, now: Instant) -> Result<(), ClientError> {
        let mut state = self.state();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } | State::Probing { until } if now < until => {
                Err(ClientError::CircuitOpen {
                    retry_after: until - now,
                })
            }
            State::Open { .. } | State::Probing { .. } => {
                tracing::info!(
                    toolkit,
                    "circuit breaker half-open: one probe request goes through"
                );
                *state = State::Probing {
                    until: now + self.plan.cool_down,
                };
                Ok(())
            }
        }
    }

    fn succeeded(&self, toolkit: &str) {
        let mut state = self.state();
        if !matches!(*state, State::Closed { failures: 0 }) {
            if !matches!(*state, State::Closed { .. }) {
                tracing::info!(toolkit, "circuit breaker closed: the toolkit answered");
            }
            *state = State::Closed { failures: 0 };
        }
    }

    fn failed(&self, toolkit: &str, now: Instant) {
        let mut state = self.state();
        let open = State::Open {
            until: now + self.plan.cool_down,
        };
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.plan.failures => State::Closed {
                failures: failures + 1,
            },
            State::Closed { .. } | State::Probing { .. } => {
                tracing::warn!(
                    toolkit,
                    cool_down = ?self.plan.cool_down,
                    "circuit breaker open: the toolkit keeps failing"
                );
                open
            }
            // Failures of requests admitted before it opened change nothing.
            State::Open { .. } => return,
        };
    }
}

#[cfg(test)]
mod tests;
