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
        let classified = TransportError::classify(io_with(error));
        let text = ClientError::from(classified).to_string();
        assert!(text.contains(words), "{text}");
    }
}

#[test]
fn alerts_passed_on_as_text_are_read_by_their_rustls_names() {
    assert!(matches!(
        TlsFailure::from_alert("CertificateRequired"),
        TlsFailure::ClientCertificate(AlertDescription::CertificateRequired)
    ));
    let text = TlsFailure::from_alert("HandshakeFailure").to_string();
    assert!(
        text.contains("handshake failed") && text.contains("HandshakeFailure"),
        "{text}"
    );
    let foreign = TlsFailure::from_alert("SomethingElse").to_string();
    assert!(
        foreign.contains("the server sent alert SomethingElse"),
        "{foreign}"
    );
}

#[test]
fn file_failures_name_the_file_and_what_to_fix() {
    let failure = |role, problem| FileFailure {
        role,
        path: "/etc/tls/x.pem".into(),
        problem,
    };
    let cases = [
        (
            failure(
                TlsFile::Trust,
                FileProblem::Unreadable(std::io::ErrorKind::NotFound),
            ),
            "cannot read the trust file `/etc/tls/x.pem`: entity not found",
        ),
        (
            failure(TlsFile::Trust, FileProblem::NoCaCertificate),
            "trust file `/etc/tls/x.pem` holds no usable CA certificate",
        ),
        (
            failure(TlsFile::ClientKey, FileProblem::NoPrivateKey),
            "client key `/etc/tls/x.pem` holds no PEM private key",
        ),
        (
            failure(
                TlsFile::ClientCertificate,
                FileProblem::Unreadable(std::io::ErrorKind::PermissionDenied),
            ),
            "cannot read the client certificate file `/etc/tls/x.pem`: permission denied",
        ),
    ];
    for (failure, text) in cases {
        assert_eq!(TlsFailure::Files(failure).to_string(), text);
    }
}

#[test]
fn socket_errors_are_told_apart() {
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert!(matches!(
        TransportError::classify(refused),
        TransportError::Refused
    ));
    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    assert!(matches!(
        TransportError::classify(reset),
        TransportError::Closed
    ));
    let odd = std::io::Error::other("something else");
    assert_eq!(TransportError::classify(odd).to_string(), "something else");
}
