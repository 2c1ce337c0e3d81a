//! What can go wrong talking to an upstream, as types the proxy can match on
//! (to relay a challenge, re-open an expired session, count a failure) and
//! whose text says what a user can act on. No variant carries the upstream's
//! address, a credential or a body.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode};
use rustls::{AlertDescription, CertificateError};

use super::credentials::CredentialError;
use crate::jsonrpc::{DecodeError, ErrorObject};
use crate::sse;

/// What went wrong talking to an upstream.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unreachable: {0}")]
    Transport(#[from] TransportError),
    #[error("did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream session expired")]
    SessionExpired,
    #[error("answered HTTP {status}")]
    Status {
        status: StatusCode,
        www_authenticate: Option<HeaderValue>,
    },
    #[error("sent an invalid reply: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("returned an error to initialize: {} ({})", .0.message, .0.code)]
    Initialize(ErrorObject),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The task opening the upstream session ended without an outcome.
    #[error("opening the session was aborted")]
    Aborted,
    /// Not sent: the toolkit has `max_concurrent_requests` in flight already.
    #[error("it has {max} requests in flight already (max_concurrent_requests); retry later")]
    Overloaded { max: u32, retry_after: Duration },
    /// Not sent: the toolkit's `rate_limit` is used up for now.
    #[error("it was sent more requests than its rate_limit allows; retry in {retry_after:.0?}")]
    RateLimited { retry_after: Duration },
    /// Not sent: the toolkit's circuit breaker is open after consecutive failures.
    #[error("it failed repeatedly and its circuit breaker is open; retry in {retry_after:.0?}")]
    CircuitOpen { retry_after: Duration },
}

impl ClientError {
    /// For a request refused by the toolkit's limits without being sent: the
    /// HTTP status that says so (429 over the rate, 503 otherwise) and when
    /// trying again makes sense (`Retry-After`).
    pub fn refusal(&self) -> Option<(StatusCode, Duration)> {
        match self {
            Self::RateLimited { retry_after } => {
                Some((StatusCode::TOO_MANY_REQUESTS, *retry_after))
            }
            Self::Overloaded { retry_after, .. } | Self::CircuitOpen { retry_after } => {
                Some((StatusCode::SERVICE_UNAVAILABLE, *retry_after))
            }
            _ => None,
        }
    }
}

/// A reply that breaks the Streamable HTTP transport or JSON-RPC.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("{0}")]
    Sse(#[from] sse::TooLarge),
    #[error("a request was answered 202")]
    RequestAccepted,
    #[error("the stream ended without a response")]
    NoResponse,
    #[error("expected a response, got another kind of message")]
    NotAResponse,
    #[error("the response answers another request's id")]
    WrongId,
    #[error("GET answered without text/event-stream")]
    NotEventStream,
}

/// The connection to an upstream failed, or the HTTP exchange on it did.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TransportError {
    #[error("connection refused")]
    Refused,
    #[error("the host name does not resolve")]
    Dns,
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("TLS: {0}")]
    Tls(TlsFailure),
    /// The upstream ended an HTTP/2 connection (GOAWAY) with the request on it.
    #[error("the upstream closed the HTTP/2 connection (GOAWAY)")]
    GoAway,
    /// The upstream reset the request's HTTP/2 stream.
    #[error("the upstream reset the request's HTTP/2 stream")]
    Reset,
    #[error("the connection closed before the reply was complete")]
    Closed,
    /// The reply passed the largest size accepted from an upstream.
    #[error("reading the reply: length limit exceeded ({limit} bytes)")]
    TooLarge { limit: usize },
    /// The configured address to dial (the `tcp client`'s) is no URI authority.
    #[error("the address to connect to: {0}")]
    ConnectAddress(Arc<http::uri::InvalidUri>),
    /// None of the above: the HTTP client's error as it is.
    #[error("{0}")]
    Other(Unclassified),
}

/// An error of the HTTP client that [`TransportError::classify`] found no
/// kind for; shown with its causes.
#[derive(Clone, Debug)]
pub struct Unclassified(Arc<dyn StdError + Send + Sync>);

impl std::fmt::Display for Unclassified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&chain(&*self.0))
    }
}

/// Why a TLS handshake with an upstream failed, in the words a user acts on.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TlsFailure {
    #[error(
        "the server's certificate is not trusted (unknown issuer); configure `trust` or `trustcacerts`"
    )]
    UntrustedCertificate,
    #[error("the server's certificate has expired or is not valid yet")]
    ExpiredCertificate,
    #[error("the server's certificate is not valid for the requested name (check `sni`)")]
    NameMismatch,
    #[error("the server's certificate was revoked")]
    Revoked,
    #[error("the server's certificate is invalid: {0:?}")]
    BadCertificate(CertificateError),
    #[error("the server offered none of the ALPN protocols configured (`alpn`)")]
    NoApplicationProtocol,
    /// The server answered the handshake with this alert about our certificate.
    #[error("the server refused the client certificate or asked for one (alert {0:?})")]
    ClientCertificate(AlertDescription),
    /// The server asked for a client certificate, none is configured, and the
    /// connection then closed (its alert, if it sent one, was lost).
    #[error(
        "the server asked for a client certificate and none is configured (`tls client` certificate and key); it closed the connection"
    )]
    ClientCertificateMissing,
    #[error("the handshake failed: {0}")]
    Handshake(rustls::Error),
    /// The name to verify the server by (`sni`, or the URL's host) is neither
    /// a DNS name nor an IP address.
    #[error("the handshake failed: server name: invalid dns name")]
    InvalidServerName,
    /// No TLS settings were ever loaded (not expected: loading records why it failed).
    #[error("the handshake failed: no TLS settings could be loaded")]
    NotLoaded,
    /// The toolkit's own TLS files (trust bundle, client certificate) are unusable.
    #[error("{0}")]
    Files(FileFailure),
    /// There is nothing to trust: no system roots, and no trust file.
    #[error("no certificate to trust: the system has no roots and no `trust` file is set")]
    NothingTrusted,
    /// The server chose HTTP/1.1 (or no ALPN protocol) where only h2 may be spoken.
    #[error("the server did not choose h2, the only HTTP version configured (`versions`)")]
    H2Required,
}

/// One of a toolkit's TLS files, and what is wrong with it. Says where the
/// file is and what to fix, never what a key holds.
#[derive(Clone, Debug)]
pub struct FileFailure {
    pub role: TlsFile,
    pub path: String,
    pub problem: FileProblem,
}

/// The part a TLS file plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    /// A CA bundle to trust (`trust`).
    Trust,
    /// The client certificate chain.
    ClientCertificate,
    /// The client certificate's private key.
    ClientKey,
}

/// What is wrong with a TLS file.
#[derive(Clone, Debug)]
pub enum FileProblem {
    /// It cannot be read.
    Unreadable(std::io::ErrorKind),
    /// It is not PEM, or a PEM section is broken.
    Pem(Arc<rustls::pki_types::pem::Error>),
    /// A trust file with no CA certificate rustls can use.
    NoCaCertificate,
    /// A key file with no PEM private key.
    NoPrivateKey,
    /// The client certificate does not fit its key.
    KeyMismatch(rustls::Error),
}

impl TlsFile {
    /// The file as the messages name it (`the trust file`, `client key`).
    fn noun(self) -> &'static str {
        match self {
            Self::Trust => "trust file",
            Self::ClientCertificate => "client certificate",
            Self::ClientKey => "client key",
        }
    }
}

impl std::fmt::Display for FileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (noun, path) = (self.role.noun(), &self.path);
        match &self.problem {
            FileProblem::Unreadable(kind) => {
                let what = noun.trim_end_matches(" file");
                write!(f, "cannot read the {what} file `{path}`: {kind}")
            }
            FileProblem::Pem(e) => write!(f, "{noun} `{path}`: {e}"),
            FileProblem::NoCaCertificate => {
                write!(f, "{noun} `{path}` holds no usable CA certificate")
            }
            FileProblem::NoPrivateKey => write!(f, "{noun} `{path}` holds no PEM private key"),
            FileProblem::KeyMismatch(e) => write!(f, "{noun} `{path}` does not fit its key: {e}"),
        }
    }
}

impl ClientError {
    /// Whether the upstream refused the request for want of (the right)
    /// credentials: 401 or 403.
    pub fn refused_credentials(&self) -> bool {
        matches!(self, Self::Status { status, .. }
            if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN)
    }

    /// The upstream's `WWW-Authenticate` challenge when it refused the request
    /// for want of (the right) credentials: 401 or 403 with a challenge.
    pub fn challenge(&self) -> Option<(StatusCode, &HeaderValue)> {
        match self {
            Self::Status {
                status,
                www_authenticate: Some(challenge),
            } if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN => {
                Some((*status, challenge))
            }
            _ => None,
        }
    }
}

impl TransportError {
    /// What an error of the HTTP client (hyper, hyper-util, rustls, h2, io)
    /// means, found by walking its causes: the top level says little
    /// ("client error (Connect)"), the cause says what happened.
    pub fn classify<E: StdError + Send + Sync + 'static>(error: E) -> Self {
        let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
        let mut hyper_closed = false;
        while let Some(e) = cause {
            // The connector's own errors come back wrapped by hyper-util.
            if let Some(ours) = e.downcast_ref::<TransportError>() {
                return ours.clone();
            }
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Self::Tls(TlsFailure::from_rustls(tls));
            }
            let mut io = e.downcast_ref::<std::io::Error>();
            if let Some(h2) = e.downcast_ref::<h2::Error>() {
                if h2.is_go_away() {
                    return Self::GoAway;
                }
                if h2.is_reset() {
                    return Self::Reset;
                }
                // NB: h2 holds its io error without exposing it as a source.
                io = h2.get_io();
            }
            if let Some(io) = io {
                // NB: rustls reports through io errors whose inner error is the rustls one.
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return Self::Tls(TlsFailure::from_rustls(tls));
                }
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Self::Refused,
                    std::io::ErrorKind::TimedOut => return Self::ConnectTimeout,
                    std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof => return Self::Closed,
                    _ => {}
                }
            }
            if let Some(h) = e.downcast_ref::<hyper::Error>() {
                hyper_closed |= h.is_canceled() || h.is_closed() || h.is_incomplete_message();
            }
            let text = e.to_string();
            if text.starts_with("dns error") {
                return Self::Dns;
            }
            // NB: h2 passes a TLS alert on as text only.
            if let Some(alert) = text.split("received fatal alert: ").nth(1) {
                return Self::Tls(TlsFailure::from_alert(alert.trim()));
            }
            cause = e.source();
        }
        if hyper_closed {
            return Self::Closed;
        }
        Self::Other(Unclassified(Arc::new(error)))
    }
}

impl TlsFailure {
    /// The TLS failure an io error of a TLS stream carries, if any.
    pub(super) fn from_io(error: &std::io::Error) -> Option<Self> {
        let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
        Some(Self::from_rustls(tls))
    }

    /// A TLS alert the server sent, by its name as rustls writes it.
    fn from_alert(name: &str) -> Self {
        // NB: the name is rustls's own (its `Debug`), so one of the 256
        // descriptions has it; a name from elsewhere is told as it is.
        let named = (0..=u8::MAX)
            .map(AlertDescription::from)
            .find(|alert| format!("{alert:?}") == name);
        let error = match named {
            Some(alert) => rustls::Error::AlertReceived(alert),
            None => rustls::Error::General(format!("the server sent alert {name}")),
        };
        Self::from_rustls(&error)
    }

    fn from_rustls(error: &rustls::Error) -> Self {
        use rustls::Error;
        match error {
            Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    Self::UntrustedCertificate
                }
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => Self::ExpiredCertificate,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Self::NameMismatch,
                CertificateError::Revoked => Self::Revoked,
                other => Self::BadCertificate(other.clone()),
            },
            Error::NoApplicationProtocol
            | Error::AlertReceived(AlertDescription::NoApplicationProtocol) => {
                Self::NoApplicationProtocol
            }
            Error::AlertReceived(
                alert @ (AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::AccessDenied),
            ) => Self::ClientCertificate(*alert),
            other => Self::Handshake(other.clone()),
        }
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        // hyper repeats its cause in its own message at times.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
