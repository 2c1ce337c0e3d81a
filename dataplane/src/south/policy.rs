//! The per-toolkit policy every exchange with an upstream runs under, in one
//! place: how long the upstream may take (the toolkit's `timeout`), and how
//! long it may wait on the client. Retries and the circuit breaker join here.

use std::future::Future;
use std::time::Duration;

use super::error::ClientError;

/// How long the gateway waits on an upstream that is itself waiting for the
/// client (an elicitation or sampling request is out): people take time.
const CLIENT_ANSWER_WAIT: Duration = Duration::from_secs(600);

/// How one toolkit's exchanges are bounded.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// How long any step may take: a response head, the next message of a
    /// stream, the handshake, a list ask.
    timeout: Duration,
}

impl Policy {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `step`, failed with [`ClientError::Timeout`] when it takes too long.
    pub async fn bound<T>(
        &self,
        step: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        self.bound_by(self.timeout, step).await
    }

    /// `step` within `limit`.
    pub async fn bound_by<T>(
        &self,
        limit: Duration,
        step: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        tokio::time::timeout(limit, step)
            .await
            .unwrap_or(Err(ClientError::Timeout(limit)))
    }

    /// How long to wait for a stream's next message: the timeout, or longer
    /// while the upstream waits for the client's answer to its request.
    pub fn idle(&self, awaiting_client: bool) -> Duration {
        if awaiting_client {
            CLIENT_ANSWER_WAIT.max(self.timeout)
        } else {
            self.timeout
        }
    }
}
