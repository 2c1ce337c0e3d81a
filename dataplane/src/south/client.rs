//! One toolkit's client: its upstream ([`super::upstream`]) and the policy
//! every exchange runs under; it also resumes response streams the upstream
//! closed early. Everything the proxy sends a toolkit goes through here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Uri;
use prometheus_client::metrics::histogram::Histogram;
use tracing::Instrument;

use super::credentials::UpstreamCredentials;
use super::error::ClientError;
use super::http::HttpClient;
use super::policy::{Policy, Step};
use super::stream::{MessageStream, Read};
use super::transport::HttpUpstream;
use super::upstream::{PostReply, SessionHeaders, Upstream};
use crate::jsonrpc::Message;
use crate::telemetry;

/// The client of one toolkit.
#[derive(Clone, Debug)]
pub struct ToolkitClient {
    upstream: Upstream,
    policy: Policy,
    /// The toolkit's name and where the time until each reply starts is
    /// observed, when it is observed.
    observed: Option<(Arc<str>, Histogram)>,
}

impl ToolkitClient {
    /// The client of a Streamable HTTP upstream at `endpoint`.
    pub fn new(
        endpoint: Uri,
        timeout: Duration,
        http: HttpClient,
        credentials: UpstreamCredentials,
    ) -> Self {
        Self {
            upstream: Upstream::Http(HttpUpstream::new(endpoint, http, credentials)),
            policy: Policy::new(timeout),
            observed: None,
        }
    }

    /// Observe the time until each reply starts in `round_trips`, and trace
    /// each exchange (when tracing is on) as one with toolkit `name`.
    pub fn observed_as(mut self, name: Arc<str>, round_trips: Histogram) -> Self {
        self.observed = Some((name, round_trips));
        self
    }

    /// Whether requests carry the caller's own token.
    pub fn forwards_caller_token(&self) -> bool {
        self.upstream.forwards_caller_token()
    }

    /// The policy the toolkit's exchanges run under (for the upstream
    /// session, whose handshake and asks it bounds as a whole).
    pub(super) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Send one message; bounded until the reply starts. For a request, the
    /// reply carries its response (or a stream that ends with it).
    pub async fn post(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        let started = Instant::now();
        let sent = self
            .policy
            .run(Step::Reply, self.upstream.send(session, message));
        let reply = match &self.observed {
            Some((name, _)) if telemetry::enabled() => {
                let method = match message {
                    Message::Request(r) => Some(r.method.as_str()),
                    Message::Notification(n) => Some(n.method.as_str()),
                    Message::Response(_) => None,
                };
                sent.instrument(telemetry::upstream_span(name, method))
                    .await
            }
            _ => sent.await,
        };
        if let Some((_, histogram)) = &self.observed {
            histogram.observe(started.elapsed().as_secs_f64());
        }
        reply
    }

    /// Open the standalone stream. `Ok(None)` when the upstream offers none.
    pub async fn get_stream(
        &self,
        session: SessionHeaders<'_>,
    ) -> Result<Option<MessageStream>, ClientError> {
        let opened = self.upstream.open_stream(session);
        self.policy.run(Step::Reply, opened).await
    }

    /// End an upstream session (best effort: 405 and errors are fine).
    pub async fn delete(&self, session: SessionHeaders<'_>) -> Result<(), ClientError> {
        let ended = self.upstream.end(session);
        self.policy.run(Step::Reply, ended).await
    }

    /// The next message of `stream`, resuming it when the upstream closed it
    /// before the response came; `None` when the stream is over. Unbounded:
    /// for standalone streams, which are quiet for as long as they like.
    pub async fn next(&self, stream: &mut MessageStream) -> Option<Result<Message, ClientError>> {
        loop {
            match stream.read().await {
                Read::Message(m) => return Some(Ok(m)),
                Read::Failed(e) => return Some(Err(e)),
                Read::Ended => {}
            }
            let (session, last_id, delay) = stream.resumption()?;
            let (session, last_id) = (session.clone(), last_id.to_owned());
            tokio::time::sleep(delay).await;
            let resumed = self.upstream.resume(session.headers(), &last_id);
            match self.policy.run(Step::Reply, resumed).await {
                Ok(Some(body)) => stream.resumed(body),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// [`Self::next`] within the policy's bound. With `relaying`, the
    /// upstream's requests reach the client, so while one is out the wait is
    /// the longer one for people.
    pub async fn next_within(
        &self,
        stream: &mut MessageStream,
        relaying: bool,
    ) -> Result<Option<Message>, ClientError> {
        let step = Step::Next {
            awaiting_client: relaying && stream.awaiting_client(),
        };
        let next = async { self.next(stream).await.transpose() };
        self.policy.run(step, next).await
    }
}
