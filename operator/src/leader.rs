//! Leader election with a `coordination.k8s.io/v1` Lease, so that only one
//! operator replica reconciles at a time.
//!
//! kube-runtime 5 ships no lease-based election, so this is our own, shaped
//! like client-go's: read the Lease, then create, renew or take it over with
//! the `resourceVersion` read, so that of two candidates writing at once the
//! API server lets exactly one win (the other gets a 409 and tries later).
//!
//! NB: clocks. Whether another holder's lease has expired is judged by its
//! `renewTime` against *our* wall clock. This assumes the clocks of the
//! replicas agree to well within the lease duration (NTP): a candidate whose
//! clock runs ahead by Δ takes over Δ early, and a holder that lost the API
//! server only steps down (by its own monotonic clock) a lease duration after
//! its last successful renewal. Keep the skew small against the 15 s default.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Default time a lease stays valid after its last renewal.
const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// Default time between renewals (and between attempts to acquire).
const DEFAULT_RENEW_PERIOD: Duration = Duration::from_secs(5);
/// What a released lease says, so that other candidates take it at once.
const RELEASED_LEASE_SECONDS: i32 = 1;

/// Why leadership could not be acquired.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// Shutdown was requested before the lease was ours.
    #[error("shut down before the lease `{lease}` was acquired")]
    Cancelled {
        /// The Lease's name.
        lease: String,
    },
    /// The timing cannot work: the lease would expire between renewals.
    #[error(
        "lease duration {lease_duration:?} must be whole seconds (at least 1 s) and longer than \
         the non-zero renew period {renew_period:?}"
    )]
    InvalidTiming {
        /// The configured lease duration.
        lease_duration: Duration,
        /// The configured renew period.
        renew_period: Duration,
    },
}

/// Campaigns for one Lease under one identity.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    api: Api<Lease>,
    lease_name: String,
    identity: String,
    lease_duration: Duration,
    renew_period: Duration,
    clock: Clock,
}

/// Holding the lease: renewed in the background until released or lost.
///
/// Dropping it stops renewing (the lease then expires on its own) and
/// cancels [`Leadership::lost`].
#[derive(Debug)]
pub struct Leadership {
    election: LeaderElection,
    lost: CancellationToken,
    /// Stops the renewal task when cancelled, including on drop.
    stop: DropGuard,
    renewing: JoinHandle<()>,
}

/// The outcome of one read-then-write round.
#[derive(Debug)]
enum Attempt {
    /// We hold the lease (created, taken over or renewed).
    Held,
    /// Someone else holds an unexpired lease.
    HeldBy(String),
}

/// What to do with the lease as read.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Write this spec (it makes us the holder).
    Write(LeaseSpec),
    /// Leave it: another holder's lease is still valid.
    HeldBy(String),
}

/// Where "now" comes from when writing and judging `renewTime`.
#[derive(Clone, Copy, Debug)]
enum Clock {
    System,
    /// Wall time that moves with tokio's clock, so tests can pause and
    /// advance it.
    #[cfg(test)]
    Tokio {
        wall: Timestamp,
        start: Instant,
    },
}

impl Clock {
    fn now(self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            #[cfg(test)]
            Clock::Tokio { wall, start } => SignedDuration::try_from(start.elapsed())
                .ok()
                .and_then(|elapsed| wall.checked_add(elapsed).ok())
                .unwrap_or(wall),
        }
    }
}

impl LeaderElection {
    /// Campaign for the Lease `namespace/lease_name` as `identity` (typically
    /// the pod name), with a 15 s lease renewed every 5 s.
    pub fn new(client: Client, namespace: &str, lease_name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            lease_name: lease_name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_period: DEFAULT_RENEW_PERIOD,
            clock: Clock::System,
        }
    }

    /// Set how long a lease stays valid after a renewal (whole seconds) and
    /// how often it is renewed; the renew period must be shorter.
    pub fn with_timing(self, lease_duration: Duration, renew_period: Duration) -> Self {
        Self {
            lease_duration,
            renew_period,
            ..self
        }
    }

    /// Wait until this process holds the lease; then keep renewing it in the
    /// background until the returned [`Leadership`] is released or dropped.
    ///
    /// API errors are logged and retried every renew period; only
    /// `shutdown` ends the wait without the lease.
    ///
    /// NB: if `shutdown` fires while a write is in flight, that write may
    /// still have made us the holder; the lease then expires unrenewed.
    pub async fn acquire(&self, shutdown: CancellationToken) -> Result<Leadership, LeaderError> {
        let lease_seconds = self.lease_seconds()?;
        loop {
            let started = Instant::now();
            let attempt = tokio::select! {
                attempt = self.try_hold(lease_seconds) => attempt,
                () = shutdown.cancelled() => return Err(self.cancelled()),
            };
            match attempt {
                Ok(Attempt::Held) => {
                    tracing::info!(lease = %self.lease_name, identity = %self.identity, "acquired leadership");
                    return Ok(self.lead(started, lease_seconds));
                }
                Ok(Attempt::HeldBy(holder)) => {
                    tracing::debug!(lease = %self.lease_name, %holder, "lease held by another");
                }
                Err(e) => self.log_failure(&e),
            }
            tokio::select! {
                () = tokio::time::sleep(self.renew_period) => {}
                () = shutdown.cancelled() => return Err(self.cancelled()),
            }
        }
    }

    fn cancelled(&self) -> LeaderError {
        LeaderError::Cancelled {
            lease: self.lease_name.clone(),
        }
    }

    /// The lease duration as the Lease spells it, once the timing is checked.
    fn lease_seconds(&self) -> Result<i32, LeaderError> {
        let invalid = || LeaderError::InvalidTiming {
            lease_duration: self.lease_duration,
            renew_period: self.renew_period,
        };
        if self.lease_duration.subsec_nanos() != 0
            || self.renew_period.is_zero()
            || self.renew_period >= self.lease_duration
        {
            return Err(invalid());
        }
        i32::try_from(self.lease_duration.as_secs()).map_err(|_| invalid())
    }

    /// Start renewing a lease we got in a round that began at `renewed_at`.
    fn lead(&self, renewed_at: Instant, lease_seconds: i32) -> Leadership {
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let renewing =
            tokio::spawn(
                self.clone()
                    .keep(renewed_at, lease_seconds, lost.clone(), stop.clone()),
            );
        Leadership {
            election: self.clone(),
            lost,
            stop: stop.drop_guard(),
            renewing,
        }
    }

    /// Renew every renew period until stopped, until another holder shows
    /// up, or until a lease duration has passed since the last round that
    /// renewed (counted from its start, so we step down no later than others
    /// may take over). Cancels `lost` however it ends.
    async fn keep(
        self,
        mut renewed_at: Instant,
        lease_seconds: i32,
        lost: CancellationToken,
        stop: CancellationToken,
    ) {
        let _lost_on_exit = lost.drop_guard();
        loop {
            let deadline = renewed_at + self.lease_duration;
            let next = (Instant::now() + self.renew_period).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = stop.cancelled() => return,
            }
            let started = Instant::now();
            let attempt = tokio::select! {
                attempt = self.try_hold(lease_seconds) => Some(attempt),
                () = tokio::time::sleep_until(deadline) => None,
                () = stop.cancelled() => return,
            };
            match attempt {
                Some(Ok(Attempt::Held)) => renewed_at = started,
                Some(Ok(Attempt::HeldBy(holder))) => {
                    tracing::warn!(lease = %self.lease_name, %holder, "lost leadership: lease taken by another");
                    return;
                }
                Some(Err(e)) => self.log_failure(&e),
                None => {}
            }
            if Instant::now() >= renewed_at + self.lease_duration {
                tracing::warn!(
                    lease = %self.lease_name,
                    "lost leadership: could not renew the lease within its duration"
                );
                return;
            }
        }
    }

    /// One round: read the lease, then create, renew or take it over if we may.
    async fn try_hold(&self, lease_seconds: i32) -> Result<Attempt, kube::Error> {
        let current = self.api.get_opt(&self.lease_name).await?;
        let spec = current.as_ref().and_then(|lease| lease.spec.as_ref());
        let spec = match decide(spec, &self.identity, lease_seconds, self.clock.now()) {
            Decision::HeldBy(holder) => return Ok(Attempt::HeldBy(holder)),
            Decision::Write(spec) => spec,
        };
        let pp = PostParams::default();
        match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.lease_name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&pp, &lease).await?;
            }
            // `lease` keeps the `resourceVersion` we read: the API server
            // rejects the write with a 409 if anyone wrote in between.
            Some(mut lease) => {
                lease.spec = Some(spec);
                self.api.replace(&self.lease_name, &pp, &lease).await?;
            }
        }
        Ok(Attempt::Held)
    }

    /// Mark the lease free if it is still ours. `Ok(false)`: it was not.
    async fn give_up(&self) -> Result<bool, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.lease_name).await? else {
            return Ok(false);
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(RELEASED_LEASE_SECONDS);
        spec.renew_time = Some(MicroTime(self.clock.now()));
        self.api
            .replace(&self.lease_name, &PostParams::default(), &lease)
            .await?;
        Ok(true)
    }

    fn log_failure(&self, error: &kube::Error) {
        match error {
            // Someone else wrote first (409 Conflict or AlreadyExists).
            kube::Error::Api(status) if status.code == 409 => {
                tracing::debug!(lease = %self.lease_name, "lost a race for the lease; retrying")
            }
            _ => tracing::warn!(lease = %self.lease_name, %error, "lease round failed; retrying"),
        }
    }
}

impl Leadership {
    /// Cancelled when the lease is lost: renewal failed for longer than the
    /// lease duration, or another holder took it. Also cancelled once this
    /// `Leadership` is released or dropped, since nothing renews it then.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Give the lease up so others can take it at once (no holder, 1 s
    /// duration) — call at graceful shutdown, after the work it guards has
    /// stopped. Failures are logged: the lease then simply expires.
    pub async fn release(self) {
        let Leadership {
            election,
            lost,
            stop,
            renewing,
        } = self;
        drop(stop);
        if let Err(e) = renewing.await {
            tracing::warn!(error = %e, "lease renewal task failed");
        }
        lost.cancel();
        // Past the lease duration the lease has expired anyway: don't hold
        // shutdown up any longer than that.
        match tokio::time::timeout(election.lease_duration, election.give_up()).await {
            Ok(Ok(true)) => tracing::info!(lease = %election.lease_name, "released leadership"),
            Ok(Ok(false)) => {
                tracing::debug!(lease = %election.lease_name, "lease no longer ours; nothing to release")
            }
            Ok(Err(error)) => {
                tracing::warn!(lease = %election.lease_name, %error, "could not release the lease")
            }
            Err(_) => tracing::warn!(lease = %election.lease_name, "timed out releasing the lease"),
        }
    }
}

/// Decide, from the lease as read (`None`: there is none), what to write so
/// that `identity` holds it at `now`, or who holds it if we may not.
fn decide(
    current: Option<&LeaseSpec>,
    identity: &str,
    lease_seconds: i32,
    now: Timestamp,
) -> Decision {
    let now_micro = MicroTime(now);
    let Some(current) = current else {
        return Decision::Write(LeaseSpec {
            holder_identity: Some(identity.to_owned()),
            acquire_time: Some(now_micro.clone()),
            renew_time: Some(now_micro),
            lease_duration_seconds: Some(lease_seconds),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        });
    };
    match current.holder_identity.as_deref() {
        Some(holder) if holder == identity => Decision::Write(LeaseSpec {
            acquire_time: current.acquire_time.clone().or(Some(now_micro.clone())),
            renew_time: Some(now_micro),
            lease_duration_seconds: Some(lease_seconds),
            ..current.clone()
        }),
        Some(holder) if !holder.is_empty() && !expired(current, lease_seconds, now) => {
            Decision::HeldBy(holder.to_owned())
        }
        // Expired, released or never held: take it over.
        _ => Decision::Write(LeaseSpec {
            holder_identity: Some(identity.to_owned()),
            acquire_time: Some(now_micro.clone()),
            renew_time: Some(now_micro),
            lease_duration_seconds: Some(lease_seconds),
            lease_transitions: Some(current.lease_transitions.unwrap_or(0).saturating_add(1)),
            ..current.clone()
        }),
    }
}

/// Whether the holder's last renewal is at least its lease duration ago (by
/// our clock; see the module docs). A lease with no times at all counts as
/// expired: nothing says it is being renewed.
fn expired(spec: &LeaseSpec, default_seconds: i32, now: Timestamp) -> bool {
    let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let seconds = spec.lease_duration_seconds.unwrap_or(default_seconds);
    now.duration_since(renewed.0) >= SignedDuration::from_secs(i64::from(seconds))
}

#[cfg(test)]
mod tests;
