//! The gateway's HTTP client. The default one (`sys:http_client`) serves
//! every toolkit with default settings and the JWT guard's JWKS fetches; a
//! toolkit with its own `http client` → `tls client` → `tcp client` chain gets
//! one of its own. hyper's connections, kept by origin ([`connections`]), on a
//! connector of our own, which dials TCP (hyper-util's `HttpConnector`) and,
//! for `https` URLs, does the TLS handshake with rustls (`tokio-rustls`):
//! SNI, the configured ALPN list, and HTTP/2 when the server chose `h2`, so
//! the client speaks whatever was negotiated.
//!
//! NB: hyper-rustls does most of this too, but fixes the ALPN list to what
//! it enables (and refuses a list of our own), and cannot dial another
//! address than the URL's; the connector is small enough to own.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http::uri::Scheme;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;
use tower_service::Service;

use mcpgw_config::{ConnectTo, EgressPlan, TlsPlan};

use self::connections::Connections;
use super::error::{TlsFailure, TransportError};
use super::tls::TlsSource;
use crate::body::{ReadError, read_whole};

mod connections;

/// How long establishing a connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// A pooled HTTP/1.1 and HTTP/2 client, plain or over TLS by the URL's
/// scheme. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Connector,
    h2_only: bool,
    /// Whether TLS files are watched (else `fixed` is the pool for good).
    watches_files: bool,
    fixed: Arc<Connections>,
    /// The pool, and the generation of the TLS files it was built for: when
    /// the files change, a new pool makes new connections use them.
    // NB: a std mutex held only to clone or replace the pool.
    pool: Mutex<(u64, Arc<Connections>)>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("h2_only", &self.inner.h2_only)
            .finish_non_exhaustive()
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// The default client (`sys:http_client`): `https` trusts the system's root
    /// certificates (read on the first `https` connection, so a gateway that
    /// never makes one never reads them) and offers ALPN `h2`, `http/1.1`;
    /// `http` speaks HTTP/1.1.
    pub fn new() -> Self {
        Self::build(
            Connector {
                tcp: tcp_connector(),
                tls: Some(Arc::new(TlsSource::new(TlsPlan::system_default(), None))),
                connect_to: None,
                alerts: Alerts::default(),
            },
            false,
        )
    }

    /// The client of one toolkit's egress plan: its HTTP versions (h2 with prior
    /// knowledge for an `http` server when only h2 is allowed), its TLS settings
    /// and where to connect. `toolkit` names whose client it is in its warnings.
    pub fn for_egress(plan: &EgressPlan, toolkit: &str) -> Self {
        let tls = plan
            .tls
            .clone()
            .map(|tls| Arc::new(TlsSource::new(tls, Some(toolkit))));
        Self::build(
            Connector {
                tcp: tcp_connector(),
                tls,
                connect_to: plan.connect.clone(),
                alerts: Alerts::default(),
            },
            plan.versions.h2_only(),
        )
    }

    /// The default client, but trusting these CA bundle files besides the
    /// system's roots (e.g. for a JWKS URL of an issuer with a private CA).
    pub fn trusting(trust_files: &[String]) -> Self {
        let tls = TlsPlan {
            trust_files: trust_files.to_vec(),
            ..TlsPlan::system_default()
        };
        Self::build(
            Connector {
                tcp: tcp_connector(),
                tls: Some(Arc::new(TlsSource::new(tls, None))),
                connect_to: None,
                alerts: Alerts::default(),
            },
            false,
        )
    }

    fn build(connector: Connector, h2_only: bool) -> Self {
        let generation = connector.tls_generation();
        let pool = Connections::new(connector.clone(), h2_only);
        let watches_files = connector
            .tls
            .as_ref()
            .is_some_and(|tls| tls.watches_files());
        Self {
            inner: Arc::new(Inner {
                connector,
                h2_only,
                watches_files,
                fixed: pool.clone(),
                pool: Mutex::new((generation, pool)),
            }),
        }
    }

    /// Send a request and wait for the response head.
    pub async fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<Incoming>, TransportError> {
        let authority = request.uri().authority().cloned();
        // NB: the fixed pool is used where it lies, not cloned per request.
        let sent = if self.inner.watches_files {
            self.pool().send(request).await
        } else {
            self.inner.fixed.send(request).await
        };
        sent.map_err(|error| {
            // NB: with TLS 1.3 a server refuses a client certificate after the
            // client's handshake is done; the refusal (an alert) ends the
            // connection, and the request on it only learns "closed". Say why.
            let connector = &self.inner.connector;
            match (&error, authority) {
                (TransportError::Closed, Some(authority)) => {
                    match connector.alerts.recent(authority.as_str()) {
                        Some(alert) => TransportError::Tls(alert),
                        // NB: the alert lost with the connection (see `TlsSource::asked_for_certificate`).
                        None if connector
                            .tls
                            .as_ref()
                            .is_some_and(|tls| tls.asked_for_certificate(Alerts::FRESH)) =>
                        {
                            TransportError::Tls(TlsFailure::ClientCertificateMissing)
                        }
                        None => error,
                    }
                }
                _ => error,
            }
        })
    }

    /// The pool to send on when TLS files are watched: a new one when they changed.
    fn pool(&self) -> Arc<Connections> {
        let generation = self.inner.connector.tls_generation();
        let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.0 != generation {
            *pool = (
                generation,
                Connections::new(self.inner.connector.clone(), self.inner.h2_only),
            );
        }
        pool.1.clone()
    }
}

/// A response body read whole, failed with [`TransportError::TooLarge`] once
/// it passes `limit` bytes.
pub async fn read_limited(body: Incoming, limit: usize) -> Result<Bytes, TransportError> {
    read_whole(body, limit).await.map_err(|e| match e {
        ReadError::TooLarge => TransportError::TooLarge { limit },
        ReadError::Read(e) => TransportError::classify(e),
    })
}

fn tcp_connector() -> HttpConnector {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    tcp
}

/// Dials TCP (to the URL's authority or the configured address), then TLS
/// for `https` destinations.
#[derive(Clone)]
struct Connector {
    tcp: HttpConnector,
    tls: Option<Arc<TlsSource>>,
    connect_to: Option<ConnectTo>,
    /// TLS failures the server reported on established connections.
    alerts: Alerts,
}

/// The last TLS failure a server reported after the handshake, by authority.
#[derive(Clone, Default)]
struct Alerts(Arc<Mutex<Option<(String, std::time::Instant, TlsFailure)>>>);

impl Alerts {
    /// How long a reported failure explains a closed connection.
    const FRESH: Duration = Duration::from_secs(2);

    fn record(&self, authority: &str, failure: TlsFailure) {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *last = Some((authority.to_owned(), std::time::Instant::now(), failure));
    }

    fn recent(&self, authority: &str) -> Option<TlsFailure> {
        let last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((at, when, failure)) if at == authority && when.elapsed() < Self::FRESH => {
                Some(failure.clone())
            }
            _ => None,
        }
    }
}

impl Connector {
    /// The generation of the TLS files (0 when there are none to watch).
    fn tls_generation(&self) -> u64 {
        self.tls
            .as_ref()
            .filter(|tls| tls.watches_files())
            .map_or(0, |tls| tls.generation())
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let tls = self.tls.clone();
        let dial = dial_uri(&destination, self.connect_to.as_ref());
        let alerts = self.alerts.clone();
        Box::pin(async move {
            let secure = destination.scheme() == Some(&Scheme::HTTPS);
            let io = tcp.call(dial?).await?;
            let tls = match tls {
                Some(tls) if secure => tls,
                // NB: validation pairs `https` with TLS settings; a plain URL never gets TLS.
                _ => return Ok(Stream::plain(io.into_inner())),
            };
            let config = tls.config()?;
            let name = server_name(tls.server_name().or(destination.host()))?;
            let handshake = tokio_rustls::TlsConnector::from(config).connect(name, io.into_inner());
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
                .await
                .map_err(|_| TransportError::ConnectTimeout)??;
            let chose_h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            if !chose_h2 && !tls.http1_allowed() {
                return Err(TransportError::Tls(TlsFailure::H2Required).into());
            }
            let authority = destination
                .authority()
                .map_or_else(String::new, |a| a.to_string());
            Ok(Stream {
                io: TokioIo::new(Either::Right(stream)),
                watch: Some((authority, alerts)),
            })
        })
    }
}

/// Where to dial for `destination`: its own authority, or the configured
/// address (the `tcp client`'s host and port).
fn dial_uri(destination: &Uri, connect_to: Option<&ConnectTo>) -> Result<Uri, TransportError> {
    let Some(to) = connect_to else {
        return Ok(destination.clone());
    };
    let host = if to.host.contains(':') && !to.host.starts_with('[') {
        format!("[{}]", to.host)
    } else {
        to.host.clone()
    };
    format!("http://{host}:{}/", to.port)
        .parse()
        .map_err(|e| TransportError::ConnectAddress(Arc::new(e)))
}

/// The name to send as SNI and to check the certificate against: the
/// configured one or the URL's host (an IP address checks an IP SAN and sends
/// no SNI).
fn server_name(host: Option<&str>) -> Result<ServerName<'static>, TransportError> {
    let host = host.unwrap_or_default();
    // NB: an IPv6 host comes bracketed in a URI.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_owned())
        .map_err(|_| TransportError::Tls(TlsFailure::InvalidServerName))
}

/// A connection: plain TCP, or TLS over TCP (whose read errors are
/// watched for the server's TLS alerts).
struct Stream {
    io: TokioIo<Either<TcpStream, TlsStream<TcpStream>>>,
    watch: Option<(String, Alerts)>,
}

impl Stream {
    fn plain(tcp: TcpStream) -> Self {
        Self {
            io: TokioIo::new(Either::Left(tcp)),
            watch: None,
        }
    }
}

impl Stream {
    /// Whether the server chose h2 in the TLS handshake.
    fn negotiated_h2(&self) -> bool {
        match self.io.inner() {
            Either::Left(_) => false,
            Either::Right(tls) => tls.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Err(e)), Some((authority, alerts))) = (&read, &this.watch)
            && let Some(failure) = TlsFailure::from_io(e)
        {
            alerts.record(authority, failure);
        }
        read
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
