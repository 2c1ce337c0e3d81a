//! What can go wrong talking to an upstream, as types the proxy can match on
//! (to relay a challenge, re-open an expired session, count a failure) and
//! whose text says what a user can act on. No variant carries the upstream's
//! address, a credential or a body.

use std::error::Error as StdError;
use std::time::Duration;

use http::{HeaderValue, StatusCode};

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
    #[error("reading the reply: {0}")]
    Body(String),
    #[error("{0}")]
    Other(String),
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
    #[error("the server's certificate is invalid: {0}")]
    BadCertificate(String),
    #[error("the server offered none of the ALPN protocols configured (`alpn`)")]
    NoApplicationProtocol,
    #[error("the server refused the client certificate or asked for one ({0})")]
    ClientCertificate(String),
    #[error("the handshake failed: {0}")]
    Handshake(String),
    /// The toolkit's own TLS files (trust bundle, client certificate) are unusable.
    #[error("{0}")]
    Files(String),
    /// The server chose HTTP/1.1 (or no ALPN protocol) where only h2 may be spoken.
    #[error("the server did not choose h2, the only HTTP version configured (`versions`)")]
    H2Required,
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
    pub fn classify(error: &(dyn StdError + 'static)) -> Self {
        let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
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
        Self::Other(chain(error))
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
        match name {
            "NoApplicationProtocol" => Self::NoApplicationProtocol,
            "CertificateRequired"
            | "BadCertificate"
            | "UnknownCA"
            | "CertificateUnknown"
            | "AccessDenied" => Self::ClientCertificate(format!("alert {name}")),
            other => Self::Handshake(format!("the server sent alert {other}")),
        }
    }

    fn from_rustls(error: &rustls::Error) -> Self {
        use rustls::{AlertDescription, CertificateError, Error};
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
                other => Self::BadCertificate(format!("{other:?}")),
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
            ) => Self::ClientCertificate(format!("alert {alert:?}")),
            other => Self::Handshake(other.to_string()),
        }
    }
}

/// An error and its causes, `: `-separated.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
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
mod tests {
    use super::*;

    fn io_with(inner: rustls::Error) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, inner)
    }

    #[test]
    fn tls_failures_name_what_to_fix() {
        use rustls::{AlertDescription, CertificateError, Error};
        let cases = [
            (
                Error::InvalidCertificate(CertificateError::UnknownIssuer),
                "not trusted",
            ),
            (
                Error::InvalidCertificate(CertificateError::Expired),
                "expired",
            ),
            (
                Error::InvalidCertificate(CertificateError::NotValidForName),
                "not valid for the requested name",
            ),
            (Error::NoApplicationProtocol, "ALPN"),
            (
                Error::AlertReceived(AlertDescription::CertificateRequired),
                "client certificate",
            ),
            (
                Error::AlertReceived(AlertDescription::HandshakeFailure),
                "handshake failed",
            ),
        ];
        for (error, words) in cases {
            let classified = TransportError::classify(&io_with(error));
            let text = ClientError::from(classified).to_string();
            assert!(text.contains(words), "{text}");
        }
    }

    #[test]
    fn socket_errors_are_told_apart() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            TransportError::classify(&refused),
            TransportError::Refused
        ));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(
            TransportError::classify(&reset),
            TransportError::Closed
        ));
        let odd = std::io::Error::other("something else");
        assert_eq!(TransportError::classify(&odd).to_string(), "something else");
    }
}
