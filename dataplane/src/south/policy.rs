//! The per-toolkit policy every exchange with an upstream runs under, in one
//! place: how long each step may take (the toolkit's `timeout`), and how long
//! the gateway waits on an upstream that itself waits for the client.
//! [`Policy::run`] is the only place a step is bounded: retries and the
//! circuit breaker join there, keyed by the same [`Step`]s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use super::error::ClientError;
use super::limits::Limits;

/// How long the gateway waits on an upstream that is itself waiting for the
/// client (an elicitation or sampling request is out): people take time.
const CLIENT_ANSWER_WAIT: Duration = Duration::from_secs(600);

/// What an exchange with an upstream is doing, as the policy tells steps apart.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step {
    /// A POST, GET or DELETE, until the reply starts.
    Reply,
    /// The next message of a stream; `awaiting_client` while the upstream
    /// waits for the client's answer to a request it sent.
    Next { awaiting_client: bool },
    /// Opening an upstream session: the whole `initialize` handshake.
    Handshake,
    /// One ask of a fan-out: opening the session if needed, the request and
    /// its response.
    Ask,
}

/// How one toolkit's exchanges are bounded.
#[derive(Clone, Debug)]
pub(super) struct Policy {
    /// How long any step may take: a response head, the next message of a
    /// stream, the handshake, a list ask.
    timeout: Duration,
    /// The toolkit's concurrency bound and circuit breaker; `None` when it has
    /// neither.
    limits: Option<Arc<Limits>>,
}

impl Policy {
    pub(super) fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            limits: None,
        }
    }

    /// This policy with the toolkit's limits (`None`: none).
    pub(super) fn with_limits(mut self, limits: Option<Arc<Limits>>) -> Self {
        self.limits = limits;
        self
    }

    /// The toolkit's limits, if it has any.
    pub(super) fn limits(&self) -> Option<&Limits> {
        self.limits.as_deref()
    }

    /// `work`, doing `step`, under the policy: failed with
    /// [`ClientError::Timeout`] when it takes longer than the step may.
    // NB: not an async fn: one would hold `work` twice (its argument and
    // the timeout around it), and this wraps every exchange with a toolkit.
    pub(super) fn run<T>(
        &self,
        step: Step,
        work: impl Future<Output = Result<T, ClientError>>,
    ) -> impl Future<Output = Result<T, ClientError>> {
        let limit = self.limit(step);
        let limits = self.limits.as_deref();
        tokio::time::timeout(limit, work).map(move |outcome| match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                let timeout = ClientError::Timeout(limit);
                // NB: counted here, where this step's own bound expired: a
                // timeout of an inner step reaches here as the work's error
                // and was counted where it expired.
                if let Some(limits) = limits {
                    limits.ended_with(&timeout);
                }
                Err(timeout)
            }
        })
    }

    /// How long `step` may take.
    fn limit(&self, step: Step) -> Duration {
        match step {
            Step::Next {
                awaiting_client: true,
            } => CLIENT_ANSWER_WAIT.max(self.timeout),
            Step::Next { .. } | Step::Reply | Step::Handshake | Step::Ask => self.timeout,
        }
    }
}

/// `work` in a task of its own, waited for at most `limit` (a bound of the
/// caller's, not the toolkit's): past it the caller goes on with
/// [`ClientError::Timeout`] while the work carries on in the background.
pub(super) async fn detached<T: Send + 'static>(
    limit: Duration,
    work: impl Future<Output = Result<T, ClientError>> + Send + 'static,
) -> Result<T, ClientError> {
    match tokio::time::timeout(limit, tokio::spawn(work)).await {
        Ok(Ok(outcome)) => outcome,
        // The task panicked or the runtime is shutting down.
        Ok(Err(_)) => Err(ClientError::Aborted),
        Err(_) => Err(ClientError::Timeout(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_step_past_the_toolkit_timeout_fails_with_that_timeout() {
        let policy = Policy::new(Duration::from_secs(2));
        let slow = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(())
        };
        let outcome = policy.run(Step::Reply, slow).await;
        assert!(matches!(outcome, Err(ClientError::Timeout(d)) if d == Duration::from_secs(2)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_awaiting_the_client_waits_longer_than_the_timeout() {
        let policy = Policy::new(Duration::from_secs(2));
        let answered_late = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(7)
        };
        let step = Step::Next {
            awaiting_client: true,
        };
        assert_eq!(policy.run(step, answered_late).await.ok(), Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn detached_work_goes_on_after_the_wait_for_it_ends() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let work = async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let _ = tx.send(());
            Ok(())
        };
        let waited = detached(Duration::from_secs(1), work).await;
        assert!(matches!(waited, Err(ClientError::Timeout(_))));
        assert!(rx.await.is_ok(), "the work finished in the background");
    }
}
