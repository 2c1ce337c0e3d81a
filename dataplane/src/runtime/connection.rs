//! The time bounds of one accepted connection (`http server` options): a
//! connection that has not sent a request head in `header_read_timeout`, or
//! that has had no request in flight for `idle_timeout`, is closed.
//!
//! hyper bounds the head of every HTTP/1.1 request once it waits for one
//! (`header_read_timeout`, with a timer); what it does not see is the time
//! before it knows the protocol (the auto builder sniffs for the h2 preface
//! with no deadline) and HTTP/2 connections that sit idle. A request is in
//! flight from when the service is called until its response body is dropped
//! (sent or abandoned), so an open SSE stream keeps its connection.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use mcpgw_config::HttpServerPlan;
use tokio::time::Instant;

/// The `auto` (HTTP/1.1 and h2c) server builder for these settings.
pub(super) fn builder(settings: &HttpServerPlan) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    builder
}

/// What a connection is doing, as its requests report it.
#[derive(Debug)]
pub(super) struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds from `started` to when the last request in flight ended;
    /// `u64::MAX` until a first request arrives.
    quiet_since: AtomicU64,
}

/// Counts one request in flight until it drops (with the response body).
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(u64::MAX),
        })
    }

    /// A request arrived.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Resolves when the connection should be closed: no request head within
    /// `header_read_timeout` of accepting it, or nothing in flight for `idle_timeout`.
    pub(super) async fn expired(&self, settings: &HttpServerPlan) {
        loop {
            let deadline = if self.in_flight.load(Ordering::SeqCst) > 0 {
                // Busy: look again after a while (a request may take long).
                Instant::now() + settings.idle_timeout
            } else {
                match self.quiet_since.load(Ordering::SeqCst) {
                    u64::MAX => self.started + settings.header_read_timeout,
                    ms => self.started + Duration::from_millis(ms) + settings.idle_timeout,
                }
            };
            tokio::time::sleep_until(deadline).await;
            if self.in_flight.load(Ordering::SeqCst) == 0 && self.deadline_passed(settings) {
                return;
            }
        }
    }

    fn deadline_passed(&self, settings: &HttpServerPlan) -> bool {
        let end = match self.quiet_since.load(Ordering::SeqCst) {
            u64::MAX => self.started + settings.header_read_timeout,
            ms => self.started + Duration::from_millis(ms) + settings.idle_timeout,
        };
        Instant::now() >= end
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let ms = u64::try_from(activity.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        // NB: store before the decrement, so a watcher that sees zero sees this time.
        activity.quiet_since.store(ms, Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request in flight until it is dropped.
#[derive(Debug)]
pub(super) struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub(super) fn new(body: B, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B> http_body::Body for Tracked<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings() -> HttpServerPlan {
        HttpServerPlan {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_without_a_request_expires_after_the_header_read_timeout() {
        let activity = Activity::new();
        let start = Instant::now();
        activity.expired(&settings()).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_does_not_expire_and_an_idle_one_does_after_the_idle_timeout() {
        let activity = Activity::new();
        let request = activity.begin();
        let watcher = tokio::spawn({
            let activity = activity.clone();
            async move { activity.expired(&settings()).await }
        });
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert!(!watcher.is_finished(), "a request is in flight");
        drop(request);
        let quiet = Instant::now();
        watcher.await.unwrap();
        assert!(quiet.elapsed() >= Duration::from_secs(60));
        assert!(quiet.elapsed() < Duration::from_secs(61));
    }
}
