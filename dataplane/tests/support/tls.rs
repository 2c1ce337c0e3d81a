//! TLS for the tests: certificates made in the test (rcgen), and a
//! TLS-terminating front of the tests' own that puts a real (plain HTTP) MCP
//! server behind `https`, with the ALPN list and client-certificate policy a
//! test asks for. The front records what each connection negotiated (ALPN,
//! client certificate) and what HTTP version each request spoke, so tests
//! assert on the upstream side what arrived.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
use tokio::net::TcpListener;
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub alpn: Option<String>,
    pub client_cert: Option<CertificateDer<'static>>,
}

/// A TLS-terminating front for a plain-HTTP upstream, on 127.0.0.1:0.
pub struct TlsFront {
    pub addr: SocketAddr,
    connections: Arc<Mutex<Vec<Seen>>>,
    versions: Arc<Mutex<Vec<Version>>>,
    /// The JSON-RPC method of every request (the HTTP method for GET and DELETE).
    methods: Arc<Mutex<Vec<String>>>,
    /// The tasks of the open connections, to cut them.
    live: Arc<Mutex<Vec<AbortHandle>>>,
    /// Graceful shutdown of the open connections (HTTP/2 GOAWAY).
    graceful: Arc<Mutex<hyper_util::server::graceful::GracefulShutdown>>,
    accept: AbortHandle,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept.abort();
        self.abort_connections();
    }
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
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&tls)));
        Self::serve(upstream, Some(acceptor)).await
    }

    /// A front without TLS: plain HTTP/1.1, or h2 with prior knowledge (h2c).
    pub async fn plain(upstream: &str) -> Self {
        Self::serve(upstream, None).await
    }

    async fn serve(upstream: &str, acceptor: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let upstream: Uri = upstream.parse().expect("upstream URL");
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let methods = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let versions = Arc::new(Mutex::new(Vec::new()));
        let live = Arc::new(Mutex::new(Vec::new()));
        let graceful = Arc::new(Mutex::new(
            hyper_util::server::graceful::GracefulShutdown::new(),
        ));
        let state = (
            connections.clone(),
            versions.clone(),
            live.clone(),
            graceful.clone(),
            methods.clone(),
        );
        let accept = tokio::spawn(async move {
            let (connections, versions, live, graceful, methods) = state;
            loop {
                let Ok((tcp, _)) = socket.accept().await else {
                    continue;
                };
                let (acceptor, client, upstream) =
                    (acceptor.clone(), client.clone(), upstream.clone());
                let (connections, versions, graceful, methods) = (
                    connections.clone(),
                    versions.clone(),
                    graceful.clone(),
                    methods.clone(),
                );
                let task = tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        versions.lock().unwrap().push(req.version());
                        forward(client.clone(), upstream.clone(), methods.clone(), req)
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let Some(acceptor) = acceptor else {
                        connections.lock().unwrap().push(Seen {
                            alpn: None,
                            client_cert: None,
                        });
                        let conn = builder.serve_connection(TokioIo::new(tcp), service);
                        let conn = graceful.lock().unwrap().watch(conn.into_owned());
                        let _ = conn.await;
                        return;
                    };
                    // A failed handshake is what some tests want: just close.
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let (_, session) = stream.get_ref();
                    connections.lock().unwrap().push(Seen {
                        alpn: session
                            .alpn_protocol()
                            .map(|p| String::from_utf8_lossy(p).into_owned()),
                        client_cert: session
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| c.clone().into_owned()),
                    });
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    let conn = graceful.lock().unwrap().watch(conn);
                    let _ = conn.await;
                });
                live.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            connections,
            versions,
            methods,
            live,
            graceful,
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
        self.connections.lock().unwrap().clone()
    }

    /// The HTTP version of every request so far.
    pub fn versions(&self) -> Vec<Version> {
        self.versions.lock().unwrap().clone()
    }

    /// The JSON-RPC method of every request so far (`GET`, `DELETE` for those).
    pub fn methods(&self) -> Vec<String> {
        self.methods.lock().unwrap().clone()
    }

    /// Cut every open connection at once (no GOAWAY, no close_notify).
    pub fn abort_connections(&self) {
        for task in self.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Close the open connections gracefully: HTTP/2 GOAWAY, in-flight
    /// requests finish. New connections are still accepted.
    pub fn goaway(&self) {
        let old = std::mem::replace(
            &mut *self.graceful.lock().unwrap(),
            hyper_util::server::graceful::GracefulShutdown::new(),
        );
        tokio::spawn(old.shutdown());
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

type Body = BoxBody<Bytes, hyper::Error>;

async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    methods: Arc<Mutex<Vec<String>>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
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
    methods.lock().unwrap().push(method);
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
            response.map(BodyExt::boxed)
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
