//! The connections of one HTTP client, by origin: HTTP/1.1 connections kept
//! idle for reuse, and one shared HTTP/2 connection.
//!
//! Why not hyper-util's pooled client (`client::legacy`), which the gateway
//! used before: counted with callgrind, its per-request work was 9k of the
//! 82k instructions of a relayed call. Every checkout raced a connect
//! future against the idle list, keyed its pool by SipHash over the scheme
//! and the authority byte by byte, built `Host` anew, and handed the
//! connection back through a guard. Here a request takes a mutex, finds its
//! origin in a map keyed by the URL's own text, and pops or clones a
//! sender; a connection goes back with a push. What the pooled client did
//! that matters here is kept: one connection attempt at a time per origin
//! until it is known whether the origin speaks h2 (so concurrent sessions
//! share one multiplexed connection), a request that never left a stale
//! connection retried once on a new one, and idle connections closed after
//! [`POOL_IDLE`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::Notify;
use tokio::time::Instant;
use tower_service::Service;

use super::{BoxError, Connector, POOL_IDLE};
use crate::south::error::TransportError;

type Body = Full<Bytes>;

/// How often idle connections are looked for while any are kept.
const REAP_EVERY: Duration = Duration::from_secs(30);

/// One client's connections.
pub(super) struct Connections {
    connector: Connector,
    /// Speak h2 to plain `http` origins too (prior knowledge).
    h2_only: bool,
    // NB: a std mutex, held for map operations only, never across an await.
    origins: Mutex<HashMap<OriginKey, Origin>>,
    /// Whether a task closes idle connections (started with the first one kept).
    reaping: AtomicBool,
}

/// An origin as its URL writes it: `https` or not, and the authority.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct OriginKey {
    https: bool,
    authority: Box<str>,
}

impl hashbrown::Equivalent<OriginKey> for (bool, &str) {
    fn equivalent(&self, key: &OriginKey) -> bool {
        self.0 == key.https && self.1 == &*key.authority
    }
}

impl From<&(bool, &str)> for OriginKey {
    fn from(&(https, authority): &(bool, &str)) -> Self {
        Self {
            https,
            authority: authority.into(),
        }
    }
}

/// What is kept for one origin.
struct Origin {
    /// `Host` for HTTP/1.1 requests to it.
    host: HeaderValue,
    /// HTTP/1.1 connections ready for a request, and since when.
    idle: Vec<(http1::SendRequest<Body>, Instant)>,
    /// The multiplexed connection, and when it was last used.
    h2: Option<(http2::SendRequest<Body>, Instant)>,
    /// Whether a connection was found to speak HTTP/1.1 (then connections are
    /// made in parallel; until then one at a time, in case it speaks h2).
    http1: bool,
    /// A connection being made while [`Origin::http1`] is not known; those
    /// who wait for it are told when it is done.
    connecting: Option<Arc<Notify>>,
}

/// A connection to send one request on.
enum Sender {
    Http1(http1::SendRequest<Body>),
    Http2(http2::SendRequest<Body>),
}

/// What to do for a request, decided under the lock.
enum Checkout {
    Use(Sender, HeaderValue),
    /// Wait for the connection being made, then look again.
    Wait(Arc<Notify>),
    /// Make a connection; `first` when others wait for it.
    Connect {
        first: bool,
    },
}

impl Connections {
    pub(super) fn new(connector: Connector, h2_only: bool) -> Arc<Self> {
        Arc::new(Self {
            connector,
            h2_only,
            origins: Mutex::new(HashMap::new()),
            reaping: AtomicBool::new(false),
        })
    }

    /// Send `request` (whose URI is absolute) and wait for the response head.
    pub(super) async fn send(
        self: &Arc<Self>,
        mut request: Request<Body>,
    ) -> Result<Response<Incoming>, TransportError> {
        let uri = request.uri().clone();
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        let Some(authority) = uri.authority().map(|a| a.as_str()) else {
            return Err(TransportError::classify(Unroutable));
        };
        // NB: a request is retried once when it never left a kept connection
        // it was given (one the upstream closed between the check and the
        // send); not when a new connection failed (that is the answer).
        let mut retried = false;
        loop {
            let (sender, host, reused) = self.sender(https, authority, &uri).await?;
            let sent = match sender {
                Sender::Http1(mut tx) => {
                    *request.uri_mut() = origin_form(&uri);
                    request.headers_mut().entry(header::HOST).or_insert(host);
                    let sent = tx.try_send_request(request).await;
                    if sent.is_ok() {
                        self.check_in(https, authority, tx);
                    }
                    sent
                }
                Sender::Http2(mut tx) => {
                    *request.uri_mut() = uri.clone();
                    tx.try_send_request(request).await
                }
            };
            match sent {
                Ok(response) => return Ok(response),
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused && !retried => {
                        retried = true;
                        request = unsent;
                    }
                    _ => return Err(TransportError::classify(error.into_error())),
                },
            }
        }
    }

    /// A connection to `https`/`authority`: one kept (`true`), or a new one.
    async fn sender(
        self: &Arc<Self>,
        https: bool,
        authority: &str,
        uri: &Uri,
    ) -> Result<(Sender, HeaderValue, bool), TransportError> {
        loop {
            let first = match self.check_out(https, authority)? {
                Checkout::Use(sender, host) => return Ok((sender, host, true)),
                Checkout::Wait(done) => {
                    let notified = done.notified();
                    tokio::pin!(notified);
                    // NB: registered before the state is read again, so a
                    // notification in between is not missed.
                    notified.as_mut().enable();
                    if self.still_connecting(https, authority, &done) {
                        notified.await;
                    }
                    continue;
                }
                Checkout::Connect { first } => first,
            };
            let guard = first.then(|| Connecting {
                connections: self,
                key: (https, authority),
            });
            // NB: boxed: rare, and large (the TLS and h2 handshakes) in a
            // future that every request's future would otherwise carry and move.
            let connected = Box::pin(self.connect(uri)).await;
            let host = self.keep_new(https, authority, &connected);
            drop(guard);
            return Ok((connected?, host, false));
        }
    }

    fn origins(&self) -> std::sync::MutexGuard<'_, HashMap<OriginKey, Origin>> {
        self.origins.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_out(&self, https: bool, authority: &str) -> Result<Checkout, TransportError> {
        let mut origins = self.origins();
        let origin = match origins.entry_ref(&(https, authority)) {
            EntryRef::Occupied(known) => known.into_mut(),
            EntryRef::Vacant(new) => {
                let host = HeaderValue::from_str(authority)
                    .map_err(|_| TransportError::classify(Unroutable))?;
                new.insert(Origin {
                    host,
                    idle: Vec::new(),
                    h2: None,
                    http1: false,
                    connecting: None,
                })
            }
        };
        if let Some((tx, used)) = &mut origin.h2 {
            if tx.is_ready() {
                *used = Instant::now();
                return Ok(Checkout::Use(
                    Sender::Http2(tx.clone()),
                    origin.host.clone(),
                ));
            }
            // Closed, or going away: new requests go to a new connection.
            origin.h2 = None;
        }
        while let Some((tx, _)) = origin.idle.pop() {
            if tx.is_ready() {
                return Ok(Checkout::Use(Sender::Http1(tx), origin.host.clone()));
            }
        }
        if origin.http1 {
            return Ok(Checkout::Connect { first: false });
        }
        if let Some(done) = &origin.connecting {
            return Ok(Checkout::Wait(done.clone()));
        }
        origin.connecting = Some(Arc::new(Notify::new()));
        Ok(Checkout::Connect { first: true })
    }

    fn still_connecting(&self, https: bool, authority: &str, done: &Arc<Notify>) -> bool {
        self.origins()
            .get(&(https, authority))
            .and_then(|o| o.connecting.as_ref())
            .is_some_and(|c| Arc::ptr_eq(c, done))
    }

    /// Note what a new connection speaks; keep it when it is h2. The `Host` of the origin.
    fn keep_new(
        &self,
        https: bool,
        authority: &str,
        connected: &Result<Sender, TransportError>,
    ) -> HeaderValue {
        let mut origins = self.origins();
        let Some(origin) = origins.get_mut(&(https, authority)) else {
            return HeaderValue::from_static("");
        };
        match connected {
            Ok(Sender::Http2(tx)) => origin.h2 = Some((tx.clone(), Instant::now())),
            Ok(Sender::Http1(_)) => origin.http1 = true,
            Err(_) => {}
        }
        origin.host.clone()
    }

    /// Keep an HTTP/1.1 connection for the next request once it is ready for one.
    fn check_in(self: &Arc<Self>, https: bool, authority: &str, mut tx: http1::SendRequest<Body>) {
        if tx.is_ready() {
            self.keep_idle(https, authority, tx);
            return;
        }
        if tx.is_closed() {
            return;
        }
        // Its response is still being read (a stream): back when it is done.
        let (connections, authority) = (Arc::downgrade(self), authority.to_owned());
        tokio::spawn(async move {
            if tx.ready().await.is_ok()
                && let Some(connections) = connections.upgrade()
            {
                connections.keep_idle(https, &authority, tx);
            }
        });
    }

    fn keep_idle(self: &Arc<Self>, https: bool, authority: &str, tx: http1::SendRequest<Body>) {
        let mut origins = self.origins();
        let Some(origin) = origins.get_mut(&(https, authority)) else {
            return;
        };
        origin.idle.push((tx, Instant::now()));
        if !self.reaping.swap(true, Ordering::SeqCst) {
            tokio::spawn(reap(Arc::downgrade(self)));
        }
    }

    /// Dial and handshake a connection for `uri`.
    async fn connect(&self, uri: &Uri) -> Result<Sender, TransportError> {
        let stream = self
            .connector
            .clone()
            .call(uri.clone())
            .await
            .map_err(|e| TransportError::classify(Connect(e)))?;
        let h2 = self.h2_only || stream.negotiated_h2();
        if h2 {
            let (mut tx, connection) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(stream)
                .await
                .map_err(TransportError::classify)?;
            drive(connection);
            tx.ready().await.map_err(TransportError::classify)?;
            Ok(Sender::Http2(tx))
        } else {
            let (mut tx, connection) = http1::handshake(stream)
                .await
                .map_err(TransportError::classify)?;
            drive(connection);
            // NB: the connection is polled once before a request is put on
            // it: a server that refused the client certificate (TLS 1.3, after
            // the handshake) and whose alert has arrived has it read then, and
            // the request fails as "refused" instead of being written into a
            // closing connection, whose reset would lose the alert. An alert
            // still on its way is explained by `TlsSource::asked_for_certificate`.
            tx.ready().await.map_err(TransportError::classify)?;
            Ok(Sender::Http1(tx))
        }
    }

    /// Close what has been idle for [`POOL_IDLE`]; `false` when nothing is kept.
    fn close_idle(&self) -> bool {
        let now = Instant::now();
        let mut origins = self.origins();
        let mut kept = false;
        for origin in origins.values_mut() {
            origin
                .idle
                .retain(|(tx, since)| !tx.is_closed() && now.duration_since(*since) < POOL_IDLE);
            if origin
                .h2
                .as_ref()
                .is_some_and(|(tx, used)| tx.is_closed() || now.duration_since(*used) >= POOL_IDLE)
            {
                origin.h2 = None;
            }
            kept |= !origin.idle.is_empty() || origin.h2.is_some();
        }
        if !kept {
            // NB: under the lock, so a connection kept meanwhile starts a new reaper.
            self.reaping.store(false, Ordering::SeqCst);
        }
        kept
    }
}

/// Run a connection (HTTP/1.1 or h2) in a task of its own until it ends.
fn drive(connection: impl Future<Output = hyper::Result<()>> + Send + 'static) {
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "upstream connection ended with an error");
        }
    });
}

/// Closes idle connections while any are kept and the client lives.
async fn reap(connections: Weak<Connections>) {
    loop {
        tokio::time::sleep(REAP_EVERY).await;
        let Some(connections) = connections.upgrade() else {
            return;
        };
        if !connections.close_idle() {
            return;
        }
    }
}

/// Ends the one connection attempt others wait for, however it ends (done,
/// failed, or the request dropped): they are woken to look again.
struct Connecting<'a> {
    connections: &'a Connections,
    key: (bool, &'a str),
}

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        let done = self
            .connections
            .origins()
            .get_mut(&self.key)
            .and_then(|o| o.connecting.take());
        if let Some(done) = done {
            done.notify_waiters();
        }
    }
}

/// The origin-form target of `uri` (its path and query), as HTTP/1.1 sends it.
fn origin_form(uri: &Uri) -> Uri {
    match uri.path_and_query() {
        Some(path) if path.as_str() != "/" => Uri::from(path.clone()),
        _ => Uri::from(PathAndQuery::from_static("/")),
    }
}

/// A connection that could not be made (the error is its source).
#[derive(Debug)]
struct Connect(BoxError);

impl fmt::Display for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connecting failed: {}", self.0)
    }
}

impl StdError for Connect {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

/// A URL without an authority (validation makes every upstream URL absolute).
#[derive(Debug)]
struct Unroutable;

impl fmt::Display for Unroutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the URL has no host to connect to")
    }
}

impl StdError for Unroutable {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::atomic::AtomicUsize;

    use http_body_util::BodyExt;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use super::*;
    use crate::south::HttpClient;

    /// An HTTP/1.1 server on a free port answering `ok` (keeping connections
    /// open or not), and how many connections it accepted.
    async fn server(keep_alive: bool) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(
                            TokioIo::new(stream),
                            service_fn(|_req| async {
                                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok"))))
                            }),
                        ),
                );
            }
        });
        (addr, accepted)
    }

    async fn get(client: &HttpClient, addr: SocketAddr) -> String {
        let request = Request::builder()
            .uri(format!("http://{addr}/mcp"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = client.send(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn requests_one_after_another_share_a_keep_alive_connection_and_not_a_closed_one() {
        // (whether the server keeps connections open, how many it then accepts for 4 requests)
        for (keep_alive, connections) in [(true, 1), (false, 4)] {
            let (addr, accepted) = server(keep_alive).await;
            let client = HttpClient::new();
            for _ in 0..4 {
                assert_eq!(get(&client, addr).await, "ok");
            }
            assert_eq!(accepted.load(Ordering::SeqCst), connections, "{keep_alive}");
        }
    }

    #[tokio::test]
    async fn concurrent_requests_to_an_origin_of_unknown_protocol_wait_for_its_first_connection() {
        let (addr, accepted) = server(true).await;
        let client = HttpClient::new();
        let calls: Vec<_> = (0..8).map(|_| get(&client, addr)).collect();
        for answer in futures_util::future::join_all(calls).await {
            assert_eq!(answer, "ok");
        }
        // The first connection is made alone; once it is known to be HTTP/1.1,
        // the others connect in parallel (each request needs its own then).
        let n = accepted.load(Ordering::SeqCst);
        assert!((1..=8).contains(&n), "{n} connections");
        // And afterwards they are all reused.
        for _ in 0..8 {
            get(&client, addr).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), n);
    }

    #[tokio::test]
    async fn an_unreachable_origin_fails_and_lets_the_next_request_try_again() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = HttpClient::new();
        let request = || {
            Request::builder()
                .uri(format!("http://{addr}/mcp"))
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let error = client.send(request()).await.unwrap_err();
        assert!(matches!(error, TransportError::Refused), "{error:?}");
        let error = client.send(request()).await.unwrap_err();
        assert!(matches!(error, TransportError::Refused), "{error:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_connections_are_closed_after_the_idle_time() {
        let (addr, _) = server(true).await;
        let connections = Connections::new(HttpClient::new().inner.connector.clone(), false);
        let request = Request::builder()
            .uri(format!("http://{addr}/mcp"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = connections.send(request).await.unwrap();
        response.into_body().collect().await.unwrap();
        let kept = || {
            connections
                .origins()
                .values()
                .map(|o| o.idle.len())
                .sum::<usize>()
        };
        assert_eq!(kept(), 1);
        tokio::time::sleep(POOL_IDLE + REAP_EVERY * 2).await;
        assert_eq!(kept(), 0);
        assert!(
            !connections.reaping.load(Ordering::SeqCst),
            "the reaper ended"
        );
    }
}
