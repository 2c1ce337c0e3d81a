//! One toolkit's client: its upstream ([`super::upstream`]) and the policy
//! every exchange runs under; it also resumes response streams the upstream
//! closed early. Everything the proxy sends a toolkit goes through here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Uri;
use mcpgw_config::{CircuitBreakerPlan, RateLimitPlan, RetryPlan};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::credentials::UpstreamCredentials;
use super::discover::{EraMemory, UpstreamEra};
use super::error::{ClientError, ProtocolError};
use super::http::HttpClient;
use super::limits::Limits;
use super::policy::{Policy, Step};
use super::retry;
use super::stream::{MessageStream, Read};
use super::transport::HttpUpstream;
use super::upstream::{PostReply, SessionHeaders, Upstream};
use crate::jsonrpc::Message;
use crate::mcp::method::LISTEN;
use crate::telemetry;

/// The client of one toolkit.
#[derive(Clone, Debug)]
pub struct ToolkitClient {
    upstream: Upstream,
    policy: Policy,
    /// Retries of requests that are safe to repeat; `None`: none.
    retries: Option<RetryPlan>,
    /// The toolkit's name and where the time until each reply starts is
    /// observed, when it is observed.
    observed: Option<(Arc<str>, Histogram)>,
    /// The protocol era the upstream was found to speak.
    era: Arc<EraMemory>,
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
            retries: None,
            observed: None,
            era: Arc::default(),
        }
    }

    /// Report the era found on `gauges` (legacy, modern).
    pub fn reporting_era(mut self, gauges: [Gauge; 2]) -> Self {
        self.era = Arc::new(EraMemory::reporting(gauges));
        self
    }

    /// Whether the upstream was found to speak `era`; `None` until it was tried.
    pub fn speaks(&self, era: UpstreamEra) -> Option<bool> {
        self.era.speaks(era)
    }

    pub(super) fn remember_era(&self, era: UpstreamEra, speaks: bool) {
        let name = self.observed.as_ref().map_or("", |(n, _)| &**n);
        self.era.remember(era, speaks, name);
    }

    /// Observe the time until each reply starts in `round_trips`, and trace
    /// each exchange (when tracing is on) as one with toolkit `name`.
    pub fn observed_as(mut self, name: Arc<str>, round_trips: Histogram) -> Self {
        self.observed = Some((name, round_trips));
        self
    }

    /// This client retrying the requests that are safe to repeat (`None`: no retries).
    pub fn with_retries(mut self, retries: Option<RetryPlan>) -> Self {
        self.retries = retries;
        self
    }

    /// This client with a bound on its requests in flight, a rate limit and a
    /// circuit breaker, as configured (`None` each: that limit is off).
    pub fn with_limits(
        mut self,
        toolkit: &str,
        max_concurrent_requests: Option<u32>,
        rate_limit: Option<RateLimitPlan>,
        circuit_breaker: Option<CircuitBreakerPlan>,
    ) -> Self {
        let limits = Limits::new(
            toolkit,
            max_concurrent_requests,
            rate_limit,
            circuit_breaker,
        );
        self.policy = self.policy.with_limits(limits);
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
    /// reply carries its response (or a stream that ends with it). A request
    /// that is safe to repeat is sent again as `options.retries` says.
    pub async fn post(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        let attempts = retry::attempts(self.retries, message);
        let mut retry = 0;
        loop {
            match self.post_once(session, message).await {
                Err(e) if retry < attempts && retry::retryable(&e) => {
                    let plan = self.retries.unwrap_or_else(|| unreachable!("attempts > 0"));
                    let wait = retry::wait(plan, retry);
                    tracing::debug!(error = %e, ?wait, "retrying a request that is safe to repeat");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// [`Self::post`], one try: admitted by the toolkit's limits (requests
    /// only), then observed and traced as one exchange.
    async fn post_once(
        &self,
        session: SessionHeaders<'_>,
        message: &Message,
    ) -> Result<PostReply, ClientError> {
        // NB: one await, of futures built in place: a future held in a local
        // (or passed to an async fn) and then awaited inside another takes
        // room twice in this future, and callers move this future whole.
        let limits = self
            .policy
            .limits()
            .filter(|_| matches!(message, Message::Request(_)));
        // NB: a subscription's stream lasts as long as its client listens: like
        // the GET stream it is not a request in flight, or a few listeners
        // would hold the toolkit's `max_concurrent_requests` for good. Looked
        // at only for a toolkit with limits.
        let permit = limits
            .map(|l| l.admit(!matches!(message, Message::Request(r) if r.method == LISTEN)))
            .transpose()?
            .flatten();
        let span = match &self.observed {
            Some((name, _)) if telemetry::enabled() => {
                let method = match message {
                    Message::Request(r) => Some(r.method.as_str()),
                    Message::Notification(n) => Some(n.method.as_str()),
                    Message::Response(_) => None,
                };
                telemetry::upstream_span(name, method)
            }
            _ => tracing::Span::none(),
        };
        let started = Instant::now();
        // NB: the exchange boxed: its future (the HTTP client's, ~2.6 KiB) would
        // otherwise sit inside every future above it, each of which is built
        // and moved per request; one allocation costs less than those copies.
        let mut reply = self
            .policy
            .run(Step::Reply, Box::pin(self.upstream.send(session, message)))
            .instrument(span)
            .await;
        if let Some((_, histogram)) = &self.observed {
            histogram.observe(started.elapsed().as_secs_f64());
        }
        if let Some(limits) = limits {
            settle(limits, permit, &mut reply);
        }
        reply
    }

    /// The tools' `x-mcp-header` arguments, learnt from this toolkit's
    /// `tools/list` pages.
    pub fn param_headers(&self) -> &crate::era::params::ParamHeaders {
        self.upstream.param_headers()
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
        let next = self.policy.run(step, next).await;
        if let Some(limits) = self.policy.limits() {
            match &next {
                Ok(Some(Message::Response(_))) => limits.succeeded(),
                // NB: callers stop at their response, so a stream that ends
                // here was cut short of it: a broken reply, as the caller says.
                Ok(None) => limits.ended_with(&ProtocolError::NoResponse.into()),
                // NB: a timeout was counted by the policy.
                Err(e) if !matches!(e, ClientError::Timeout(_)) => limits.ended_with(e),
                _ => {}
            }
        }
        next
    }
}

/// Tell the toolkit's `limits` how a request admitted with `permit` ended:
/// its place among those in flight is held until its reply is read (with a
/// stream reply, until the stream is dropped), and its outcome goes to the
/// breaker.
fn settle(
    limits: &Limits,
    permit: Option<OwnedSemaphorePermit>,
    reply: &mut Result<PostReply, ClientError>,
) {
    match reply {
        Ok(PostReply::Json { .. } | PostReply::Accepted) => limits.succeeded(),
        // The response on the stream tells (see `next_within`).
        Ok(PostReply::Stream { stream, .. }) => {
            if let Some(permit) = permit {
                stream.hold(permit);
            }
        }
        // NB: a timeout was counted by the policy.
        Err(ClientError::Timeout(_)) => {}
        Err(e) => limits.ended_with(e),
    }
}
