//! How a toolkit's upstream is reached: the south chain of its `mcp client`,
//! compiled. `sys:http_client` compiles to [`EgressPlan::for_server`]; an
//! explicit `http client` → (`tls client` →) `tcp client` chain sets each part.

use url::Url;

/// The HTTP, TLS and TCP settings of one toolkit's upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressPlan {
    /// The HTTP versions the client may speak (`http client` `options.versions`).
    pub versions: HttpVersions,
    /// TLS towards an `https` server; `None` for `http`.
    pub tls: Option<TlsPlan>,
    /// Where to connect (`tcp client` `options.host`/`port`); `None`: the host and
    /// port of the server URL (its `:authority`), as Zilla's tcp client does.
    pub connect: Option<ConnectTo>,
    /// The bindings of the explicit chain, for messages; empty for `sys:http_client`.
    pub bindings: Vec<String>,
}

/// Which HTTP versions may be spoken. At least one is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpVersions {
    pub http1: bool,
    pub h2: bool,
}

impl HttpVersions {
    /// HTTP/1.1 and h2.
    pub const BOTH: Self = Self {
        http1: true,
        h2: true,
    };

    /// Whether only h2 may be spoken: for `http` servers, h2 with prior knowledge (h2c).
    pub fn h2_only(self) -> bool {
        self.h2 && !self.http1
    }
}

/// An ALPN protocol the client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alpn {
    /// `h2`.
    H2,
    /// `http/1.1`.
    Http11,
}

impl Alpn {
    /// The protocol id on the wire.
    pub fn id(self) -> &'static str {
        match self {
            Self::H2 => "h2",
            Self::Http11 => "http/1.1",
        }
    }
}

/// TLS towards one upstream (`tls client` options, or the defaults of
/// `sys:http_client`). Secrets are files: the plan names them, never holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsPlan {
    /// The name sent as SNI and checked against the certificate (`sni`); `None`:
    /// the server URL's host.
    pub server_name: Option<String>,
    /// The ALPN protocols offered, in order of preference (`alpn`); the client
    /// speaks what the server chose. Empty: none offered (HTTP/1.1 is spoken).
    pub alpn: Vec<Alpn>,
    /// Trust the system's root certificates (`trustcacerts`).
    pub trust_system_roots: bool,
    /// PEM files of further CA certificates to trust (`trust`).
    pub trust_files: Vec<String>,
    /// A client certificate to present (mTLS).
    pub client_certificate: Option<ClientCertificatePlan>,
    /// Do not verify the server's certificate at all
    /// (`dangerously_skip_verification: true`).
    pub skip_verification: bool,
}

impl TlsPlan {
    /// What `sys:http_client` does for an `https` URL: SNI from the URL's host,
    /// the system's roots, ALPN `h2` then `http/1.1`.
    pub fn system_default() -> Self {
        Self {
            server_name: None,
            alpn: vec![Alpn::H2, Alpn::Http11],
            trust_system_roots: true,
            trust_files: Vec::new(),
            client_certificate: None,
            skip_verification: false,
        }
    }
}

/// A client certificate chain and its private key, both PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificatePlan {
    pub certificate_file: String,
    pub key_file: String,
}

/// An address to connect to instead of the URL's authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: String,
    pub port: u16,
}

impl EgressPlan {
    /// `sys:http_client` towards `server`: TLS with the system defaults for
    /// `https`; HTTP/1.1 for `http`, h2 when ALPN chooses it.
    pub fn for_server(server: &Url) -> Self {
        let tls = (server.scheme() == "https").then(TlsPlan::system_default);
        Self {
            versions: HttpVersions::BOTH,
            tls,
            connect: None,
            bindings: Vec::new(),
        }
    }
}
