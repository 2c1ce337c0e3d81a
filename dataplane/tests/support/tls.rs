//! TLS for the tests: certificates made in the test (rcgen), and a
//! TLS-terminating front of the tests' own that puts a real (plain HTTP) MCP
//! server behind `https`, with the ALPN list and client-certificate policy a
//! test asks for. The front records what each connection negotiated (SNI,
//! ALPN, client certificate) and what HTTP version each request spoke, so
//! tests assert on the upstream side what arrived. It can also misbehave on
//! request: reset one h2 stream, or end its connections with an h2 GOAWAY
//! carrying an error code.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response, Uri, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;

/// A certificate and its key, as PEM files and DER.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A test PKI in a temporary directory: a CA the gateway is told to trust,
/// and everything a test needs signed by it (or not).
pub struct Pki {
    dir: PathBuf,
    /// The trusted CA's certificate (a PEM file).
    pub ca_file: PathBuf,
    pub ca_der: CertificateDer<'static>,
    /// For `localhost` and `127.0.0.1`, by the CA.
    pub server: Issued,
    /// For `localhost`, by the CA, but expired in 2001.
    pub expired: Issued,
    /// For `other.example` only, by the CA.
    pub other_name: Issued,
    /// For `localhost`, by a CA nobody trusts.
    pub untrusted: Issued,
    /// A client certificate by the CA (mTLS).
    pub client: Issued,
    /// A second CA and a client certificate by it (for rotation tests).
    pub ca2_file: PathBuf,
    pub client2: Issued,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("CA");
    Ca { cert, key }
}

impl Pki {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mcpgw-pki-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let trusted = ca("mcpgw test CA");
        let stranger = ca("nobody's CA");
        let second = ca("mcpgw test CA 2");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write pem");
            path
        };
        let issue = |name: &str, sans: &[&str], by: &Ca, tweak: &dyn Fn(&mut CertificateParams)| {
            let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
            let mut params = CertificateParams::new(sans).expect("params");
            params.distinguished_name.push(DnType::CommonName, name);
            tweak(&mut params);
            let key = KeyPair::generate().expect("key");
            let cert = params.signed_by(&key, &by.cert, &by.key).expect("cert");
            Issued {
                cert_file: write(&format!("{name}.crt"), &cert.pem()),
                key_file: write(&format!("{name}.key"), &key.serialize_pem()),
                cert_der: cert.der().clone(),
                key_der: key.serialize_der(),
            }
        };
        let none = |_: &mut CertificateParams| {};
        let client_auth = |p: &mut CertificateParams| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        };
        let server = issue("server", &["localhost", "127.0.0.1"], &trusted, &none);
        let expired = issue("expired", &["localhost"], &trusted, &|p| {
            p.not_before = date_time_ymd(2000, 1, 1);
            p.not_after = date_time_ymd(2001, 1, 1);
        });
        let other_name = issue("other", &["other.example"], &trusted, &none);
        let untrusted = issue("untrusted", &["localhost"], &stranger, &none);
        let client = issue("mcpgw-client", &[], &trusted, &client_auth);
        let client2 = issue("mcpgw-client-2", &[], &second, &client_auth);
        Self {
            ca_file: write("ca.crt", &trusted.cert.pem()),
            ca_der: trusted.cert.der().clone(),
            ca2_file: write("ca2.crt", &second.cert.pem()),
            dir,
            server,
            expired,
            other_name,
            untrusted,
            client,
            client2,
        }
    }

    /// A file in the PKI's directory (for configs that name files).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// How a front terminates TLS.
pub struct FrontTls<'a> {
    /// The certificate it presents.
    pub cert: &'a Issued,
    /// The ALPN protocols it accepts (empty: no ALPN).
    pub alpn: &'a [&'a str],
    /// CA certificates whose client certificates it requires (mTLS).
    pub client_cas: &'a [&'a Path],
}

/// What one connection negotiated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The server name the client sent (SNI).
    pub sni: Option<String>,
    /// The ALPN protocols the client offered, in its order.
    pub offered_alpn: Vec<String>,
    /// The ALPN protocol chosen.
    pub alpn: Option<String>,
    pub client_cert: Option<CertificateDer<'static>>,
}

/// An h2 error code for [`TlsFront::goaway_with_error`]: ENHANCE_YOUR_CALM.
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// A TLS-terminating front for a plain-HTTP upstream, on 127.0.0.1:0.
pub struct TlsFront {
    pub addr: SocketAddr,
    shared: Shared,
    accept: AbortHandle,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept.abort();
        self.abort_connections();
    }
}

type Resets = Arc<Mutex<Vec<(String, oneshot::Sender<()>)>>>;
type Injection = Arc<Mutex<Option<Vec<u8>>>>;

/// What the accept loop shares with the front's handle.
#[derive(Clone)]
struct Shared {
    connections: Arc<Mutex<Vec<Seen>>>,
    versions: Arc<Mutex<Vec<Version>>>,
    methods: Arc<Mutex<Vec<String>>>,
    requests: watch::Sender<usize>,
    resets: Resets,
    /// Methods whose next request is refused with RST_STREAM, unanswered.
    refusals: Arc<Mutex<Vec<String>>>,
    injections: Arc<Mutex<Vec<Injection>>>,
    live: Arc<Mutex<Vec<AbortHandle>>>,
    graceful: Arc<Mutex<hyper_util::server::graceful::GracefulShutdown>>,
}

fn server_config(tls: &FrontTls<'_>) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = if tls.client_cas.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for path in tls.client_cas {
            let pem = std::fs::read(path).expect("ca file");
            use rustls::pki_types::pem::PemObject;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots.add(cert.expect("pem")).expect("ca");
            }
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("verifier");
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(vec![tls.cert.cert_der.clone()], tls.cert.key())
        .expect("server cert");
    config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config
}

impl TlsFront {
    /// Terminate TLS as `tls` says and forward every request to `upstream`
    /// (e.g. `http://127.0.0.1:1234`, or with a path, where every request goes).
    pub async fn start(upstream: &str, tls: FrontTls<'_>) -> Self {
        Self::serve(upstream, Some(Arc::new(server_config(&tls)))).await
    }

    /// A front without TLS: plain HTTP/1.1, or h2 with prior knowledge (h2c).
    pub async fn plain(upstream: &str) -> Self {
        Self::serve(upstream, None).await
    }

    async fn serve(upstream: &str, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let upstream: Uri = upstream.parse().expect("upstream URL");
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let shared = Shared {
            connections: Arc::default(),
            versions: Arc::default(),
            methods: Arc::default(),
            requests: watch::Sender::new(0),
            resets: Arc::default(),
            refusals: Arc::default(),
            injections: Arc::default(),
            live: Arc::default(),
            graceful: Arc::new(Mutex::new(
                hyper_util::server::graceful::GracefulShutdown::new(),
            )),
        };
        let state = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = socket.accept().await else {
                    continue;
                };
                let (tls, client, upstream, state) =
                    (tls.clone(), client.clone(), upstream.clone(), state.clone());
                let live = state.live.clone();
                let task = tokio::spawn(async move {
                    let Some(tls) = tls else {
                        state.connections.lock().unwrap().push(Seen::default());
                        serve_connection(tcp, client, upstream, &state).await;
                        return;
                    };
                    let Some((stream, seen)) = handshake(tcp, tls).await else {
                        // A failed handshake is what some tests want: just close.
                        return;
                    };
                    state.connections.lock().unwrap().push(seen);
                    serve_connection(stream, client, upstream, &state).await;
                });
                live.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            shared,
            accept: accept.abort_handle(),
        }
    }

    /// `http://127.0.0.1:<port><path>` (for a [`TlsFront::plain`] front).
    pub fn plain_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// What every connection so far negotiated, in order.
    pub fn connections(&self) -> Vec<Seen> {
        self.shared.connections.lock().unwrap().clone()
    }

    /// The HTTP version of every request so far.
    pub fn versions(&self) -> Vec<Version> {
        self.shared.versions.lock().unwrap().clone()
    }

    /// The JSON-RPC method of every request so far (`GET`, `DELETE` for those).
    pub fn methods(&self) -> Vec<String> {
        self.shared.methods.lock().unwrap().clone()
    }

    /// Wait until a request of `method` (JSON-RPC, or `GET`/`DELETE`) arrived.
    pub async fn requested(&self, method: &str) {
        let mut requests = self.shared.requests.subscribe();
        let _ = requests
            .wait_for(|_| self.methods().iter().any(|m| m == method))
            .await;
    }

    /// Reset (h2 RST_STREAM, INTERNAL_ERROR) the stream of the oldest response
    /// under way to a `method` request. Returns whether there was one.
    pub fn reset(&self, method: &str) -> bool {
        let mut resets = self.shared.resets.lock().unwrap();
        resets.retain(|(_, trigger)| !trigger.is_closed());
        let Some(at) = resets.iter().position(|(m, _)| m == method) else {
            return false;
        };
        let (_, trigger) = resets.remove(at);
        trigger.send(()).is_ok()
    }

    /// Reset (h2 RST_STREAM, INTERNAL_ERROR) the stream of the next `method`
    /// request before any reply, instead of forwarding it.
    pub fn reset_next(&self, method: &str) {
        self.shared.refusals.lock().unwrap().push(method.to_owned());
    }

    /// End every open connection with an h2 GOAWAY carrying `code` and
    /// `last_stream_id`, written on the wire between two of hyper's frames
    /// (hyper's server only sends graceful ones). The front goes on serving
    /// the streams it has, as a server would that sent it by mistake; it is the
    /// client's side of the contract under test.
    pub fn goaway_with_error(&self, last_stream_id: u32, code: u32) {
        let mut frame = vec![0, 0, 8, 0x7, 0, 0, 0, 0, 0];
        frame.extend_from_slice(&(last_stream_id & 0x7fff_ffff).to_be_bytes());
        frame.extend_from_slice(&code.to_be_bytes());
        for slot in self.shared.injections.lock().unwrap().iter() {
            *slot.lock().unwrap() = Some(frame.clone());
        }
    }

    /// Cut every open connection at once (no GOAWAY, no close_notify).
    pub fn abort_connections(&self) {
        for task in self.shared.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Close the open connections gracefully: HTTP/2 GOAWAY, in-flight
    /// requests finish. New connections are still accepted.
    pub fn goaway(&self) {
        let old = std::mem::replace(
            &mut *self.shared.graceful.lock().unwrap(),
            hyper_util::server::graceful::GracefulShutdown::new(),
        );
        tokio::spawn(old.shutdown());
    }
}

/// The server side of a TLS handshake, recording what the client offered.
async fn handshake(
    tcp: tokio::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> Option<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, Seen)> {
    let acceptor = rustls::server::Acceptor::default();
    let start = tokio_rustls::LazyConfigAcceptor::new(acceptor, tcp)
        .await
        .ok()?;
    let hello = start.client_hello();
    let sni = hello.server_name().map(str::to_owned);
    let offered_alpn = hello
        .alpn()
        .map(|offered| {
            offered
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let stream = start.into_stream(config).await.ok()?;
    let (_, session) = stream.get_ref();
    let seen = Seen {
        sni,
        offered_alpn,
        alpn: session
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        client_cert: session
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.clone().into_owned()),
    };
    Some((stream, seen))
}

/// Serve one connection (HTTP/1.1 or h2) until it ends, forwarding every request.
async fn serve_connection<T>(
    io: T,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    state: &Shared,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slot = Injection::default();
    state.injections.lock().unwrap().push(slot.clone());
    let io = Injecting {
        io,
        slot,
        pending: Vec::new(),
        flushed: false,
    };
    let forwarding = state.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        forwarding.versions.lock().unwrap().push(req.version());
        forward(client.clone(), upstream.clone(), forwarding.clone(), req)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .into_owned();
    let conn = state.graceful.lock().unwrap().watch(conn);
    let _ = conn.await;
}

/// A connection's IO that writes a frame of the test's (an h2 GOAWAY) between
/// two of the server's frames: only after a flush completed is nothing of
/// the server's half-written, so the frame goes out before the next write.
struct Injecting<T> {
    io: T,
    slot: Injection,
    /// What is left to write of the injected frame.
    pending: Vec<u8>,
    /// Whether the last thing done was a completed flush.
    flushed: bool,
}

impl<T: AsyncRead + Unpin> AsyncRead for Injecting<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Injecting<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.flushed
            && this.pending.is_empty()
            && let Some(frame) = this.slot.lock().unwrap().take()
        {
            this.pending = frame;
        }
        while !this.pending.is_empty() {
            let n = ready!(Pin::new(&mut this.io).poll_write(cx, &this.pending))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            this.pending.drain(..n);
        }
        let written = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.flushed = false;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        this.flushed = true;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body whose h2 stream the test can reset: when its trigger
/// fires, the body fails, and hyper answers that with RST_STREAM.
struct Resettable {
    inner: Incoming,
    trigger: Option<oneshot::Receiver<()>>,
}

impl hyper::body::Body for Resettable {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(trigger) = this.trigger.as_mut()
            && let Poll::Ready(fired) = Pin::new(trigger).poll(cx)
        {
            // NB: a oneshot must not be polled again once it is ready.
            this.trigger = None;
            if fired.is_ok() {
                return Poll::Ready(Some(Err("the test reset this stream".into())));
            }
        }
        Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into)
    }
}

/// Hop-by-hop headers, which must not cross a proxy (and are illegal in h2).
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    state: Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, BoxError> {
    let (mut parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let method = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|m| m["method"].as_str().map(str::to_owned))
        .unwrap_or_else(|| parts.method.to_string());
    state.methods.lock().unwrap().push(method.clone());
    state.requests.send_modify(|n| *n += 1);
    {
        let mut refusals = state.refusals.lock().unwrap();
        if let Some(at) = refusals.iter().position(|m| *m == method) {
            refusals.remove(at);
            // hyper answers a service's error with RST_STREAM (over h2).
            return Err("the test refused this request".into());
        }
    }
    let body = Full::new(body);
    // An upstream URL with a path of its own takes every request there.
    let path = match upstream.path() {
        "/" | "" => parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        fixed => fixed,
    }
    .to_owned();
    let authority = upstream.authority().expect("upstream authority").clone();
    parts.uri = Uri::builder()
        .scheme("http")
        .authority(authority.clone())
        .path_and_query(path)
        .build()
        .expect("uri");
    parts.version = Version::HTTP_11;
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    parts.headers.insert(
        http::header::HOST,
        authority.as_str().parse().expect("host"),
    );
    let response = client.request(Request::from_parts(parts, body)).await;
    Ok(match response {
        Ok(mut response) => {
            for name in HOP_BY_HOP {
                response.headers_mut().remove(name);
            }
            let (trigger, fired) = oneshot::channel();
            state.resets.lock().unwrap().push((method, trigger));
            response.map(|inner| {
                Resettable {
                    inner,
                    trigger: Some(fired),
                }
                .boxed()
            })
        }
        Err(e) => {
            let body = Full::new(Bytes::from(format!("the front's upstream failed: {e}")))
                .map_err(|never| match never {})
                .boxed();
            let mut response = Response::new(body);
            *response.status_mut() = http::StatusCode::BAD_GATEWAY;
            response
        }
    })
}

/// A plain-HTTP server answering every request with `body` (JSON), on
/// 127.0.0.1:0, until dropped: e.g. a JWKS document to put behind a front.
pub struct StaticServer {
    pub addr: SocketAddr,
    task: AbortHandle,
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StaticServer {
    pub async fn start(body: String) -> Self {
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let body = Bytes::from(body);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = socket.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req: Request<Incoming>| {
                        let mut response = Response::new(Full::new(body.clone()));
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("application/json"),
                        );
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        Self {
            addr,
            task: task.abort_handle(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
