//! The gateway's one HTTP client: every toolkit's requests and the JWT
//! guard's JWKS fetches go through it. hyper-util's pooled client on a
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
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http::uri::Scheme;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;
use tower_service::Service;

use super::error::{TlsFailure, TransportError};

/// How long establishing a connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// ALPN offered by default: HTTP/2 first, HTTP/1.1 as the fallback.
const DEFAULT_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A pooled HTTP/1.1 and HTTP/2 client, plain or over TLS by the URL's
/// scheme. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// The default client: `https` trusts the system's root certificates
    /// (read on the first `https` connection, so a gateway that never makes
    /// one never reads them) and offers `h2` and `http/1.1`; `http` speaks
    /// HTTP/1.1.
    pub fn new() -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = Connector {
            tcp,
            tls: Arc::new(TlsSource::SystemRoots(OnceLock::new())),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector);
        Self { client }
    }

    /// Send a request and wait for the response head.
    pub async fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<Incoming>, TransportError> {
        self.client
            .request(request)
            .await
            .map_err(|e| TransportError::classify(&e))
    }
}

/// Where the TLS settings of `https` connections come from.
enum TlsSource {
    /// The system's roots, loaded once on first use (or why they cannot be).
    SystemRoots(OnceLock<Result<Arc<rustls::ClientConfig>, String>>),
}

impl TlsSource {
    fn config(&self) -> Result<Arc<rustls::ClientConfig>, TransportError> {
        match self {
            Self::SystemRoots(cell) => cell
                .get_or_init(system_roots_config)
                .clone()
                .map_err(|why| TransportError::Tls(TlsFailure::Handshake(why))),
        }
    }
}

/// A client config trusting the system's roots (`rustls-native-certs`, which
/// honours `SSL_CERT_FILE` and `SSL_CERT_DIR`: a private CA can be added to
/// the image or mounted, where a compiled-in root list could not be extended).
fn system_roots_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = loaded
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        tracing::warn!(error = %why, "no system root certificates: https upstreams cannot be verified");
        return Err(format!("no system root certificates ({why})"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Dials TCP, then TLS for `https` destinations.
#[derive(Clone)]
struct Connector {
    tcp: HttpConnector,
    tls: Arc<TlsSource>,
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
        Box::pin(async move {
            let secure = destination.scheme() == Some(&Scheme::HTTPS);
            let name = destination.host().map(str::to_owned);
            let io = tcp.call(destination).await?;
            if !secure {
                return Ok(Stream(TokioIo::new(Either::Left(io.into_inner()))));
            }
            let config = tls.config()?;
            let name = server_name(name.as_deref())?;
            let handshake = tokio_rustls::TlsConnector::from(config).connect(name, io.into_inner());
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
                .await
                .map_err(|_| TransportError::ConnectTimeout)??;
            Ok(Stream(TokioIo::new(Either::Right(stream))))
        })
    }
}

/// The name to send as SNI and to check the certificate against: the URL's
/// host (an IP address checks an IP SAN and sends no SNI).
fn server_name(host: Option<&str>) -> Result<ServerName<'static>, TransportError> {
    let host = host.unwrap_or_default();
    // NB: an IPv6 host comes bracketed in a URI.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_owned())
        .map_err(|e| TransportError::Tls(TlsFailure::Handshake(format!("server name: {e}"))))
}

/// A connection: plain TCP, or TLS over TCP.
struct Stream(TokioIo<Either<TcpStream, TlsStream<TcpStream>>>);

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self.0.inner() {
            Either::Left(tcp) => tcp.connected(),
            Either::Right(tls) => {
                let (tcp, session) = tls.get_ref();
                let connected = tcp.connected();
                if session.alpn_protocol() == Some(b"h2") {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}
