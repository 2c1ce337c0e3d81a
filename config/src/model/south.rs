//! The south bindings an `mcp client` may exit to instead of `sys:http_client`:
//! `http client` → (`tls client` →) `tcp client`, Zilla's explicit chain.
//!
//! Field names are Zilla's; where Zilla names vault entries (`trust`, `keys`),
//! mcpgw names files, mounted from Kubernetes Secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::is_default;

/// `type: http, kind: client`: the HTTP versions spoken towards the upstream. Exits to
/// a `tls client` (for an `https` server) or a `tcp client` (for an `http` server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpClient {
    /// The HTTP versions; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: HttpClientOptions,
    /// Name of the `tls client` (for an `https` server) or `tcp client` (for an `http`
    /// server) binding that carries the requests.
    pub exit: String,
}

impl HttpClient {
    /// An http client speaking HTTP/1.1 and h2, exiting to the binding named `exit`.
    pub fn new(exit: impl Into<String>) -> Self {
        Self {
            options: HttpClientOptions::default(),
            exit: exit.into(),
        }
    }
}

/// Options of an `http client`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpClientOptions {
    /// The HTTP versions the client may speak, at least one, each once. Default both.
    /// Over TLS, ALPN picks one of them (see the `tls client`'s `alpn`); towards an
    /// `http` server, `[h2]` alone means h2 with prior knowledge (h2c) and anything
    /// with `http/1.1` means HTTP/1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("default" = ["http/1.1", "h2"]))]
    pub versions: Option<Vec<HttpVersion>>,
}

/// An HTTP version, written as its ALPN protocol id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum HttpVersion {
    /// HTTP/1.1.
    #[serde(rename = "http/1.1")]
    Http11,
    /// HTTP/2.
    #[serde(rename = "h2")]
    H2,
}

impl HttpVersion {
    /// The ALPN protocol id: `http/1.1` or `h2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http11 => "http/1.1",
            Self::H2 => "h2",
        }
    }
}

/// `type: tls, kind: client`: TLS towards an `https` server (rustls). Exits to a
/// `tcp client`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsClient {
    /// Whom to trust, what to offer; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: TlsClientOptions,
    /// Name of the `tcp client` binding that carries the connection.
    pub exit: String,
}

impl TlsClient {
    /// A tls client with the defaults (the system's roots, SNI from the server URL, ALPN
    /// from the http client's versions), exiting to the tcp client named `exit`.
    pub fn new(exit: impl Into<String>) -> Self {
        Self {
            options: TlsClientOptions::default(),
            exit: exit.into(),
        }
    }
}

/// Options of a `tls client`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsClientOptions {
    /// Trust the system's root certificates. Default `true` when `trust` is left out or
    /// empty, `false` when it names files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustcacerts: Option<bool>,
    /// PEM files of CA certificates to trust, e.g. `/etc/mcpgw/tls/github/ca.crt` (mounted
    /// from a Secret or ConfigMap; Zilla names vault entries here). Re-read when they
    /// change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1)))]
    pub trust: Vec<String>,
    /// The server name, a list of exactly one host name or IP address (Zilla's form): it
    /// is sent as SNI and the server's certificate is verified against it (an IP address
    /// is checked against the certificate's IP addresses and sends no SNI). Default: the
    /// host of the mcp client's `server` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1))]
    pub sni: Option<Vec<String>>,
    /// The ALPN protocols offered, in order of preference, each once; every one must be
    /// among the http client's `versions`. `[]` offers none (HTTP/1.1 is spoken). Default
    /// `[h2, http/1.1]`, keeping only the http client's `versions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<Vec<HttpVersion>>,
    /// PEM file of the client certificate chain to present (mTLS), e.g.
    /// `/etc/mcpgw/tls/github/tls.crt`. Needs `key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub certificate_file: Option<String>,
    /// PEM file of the client certificate's private key, e.g.
    /// `/etc/mcpgw/tls/github/tls.key`. Needs `certificate_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub key_file: Option<String>,
    /// Do not verify the server's certificate at all: anyone on the path can impersonate
    /// the upstream. For tests only; the data plane logs a warning when it applies it.
    /// Not with `trust` or `trustcacerts: true`. Default `false`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub dangerously_skip_verification: bool,
}

/// `type: tcp, kind: client`: the connection to the upstream. The end of the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpClient {
    /// Where to connect; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: TcpClientOptions,
}

/// Options of a `tcp client`. What is left out comes from the mcp client's `server` URL
/// (its host and port, as Zilla's tcp client takes the request's `:authority`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpClientOptions {
    /// IP address (IPv6 without brackets) or host name to connect to, e.g. a Service name.
    /// Default: the server URL's host. TLS still verifies the `sni` name or that host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub host: Option<String>,
    /// Port to connect to, 1–65535. Default: the server URL's port (443 for `https`, 80
    /// for `http` when it has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
}
