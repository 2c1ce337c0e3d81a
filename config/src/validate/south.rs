//! Field rules of the south chain: `http client`, `tls client`, `tcp client`.
//!
//! Each binding is checked on its own; what depends on the mcp client at the
//! start of a chain (the server URL's host and port, its scheme) is filled in
//! or checked per chain, in `compile` and `graph`.

use std::net::IpAddr;

use url::{Host, Url};

use super::{clean, distinct, file_path, host};
use crate::error::{FieldError, Invalid};
use crate::model::{HttpClient, HttpVersion, TcpClient, TlsClient};
use crate::plan::{Alpn, ClientCertificatePlan, ConnectTo, HttpVersions, TlsPlan};

/// An `http client`: the versions it may speak (both when left out).
pub(crate) fn http_client(
    path: &str,
    http: &HttpClient,
    errors: &mut Vec<FieldError>,
) -> Option<HttpVersions> {
    let Some(listed) = &http.options.versions else {
        return Some(HttpVersions::BOTH);
    };
    let field = format!("{path}.options.versions");
    clean(errors, |errors| {
        if listed.is_empty() {
            errors.push(FieldError::new(&field, Invalid::NoVersions));
        }
        let versions = distinct(&field, listed, HttpVersion::as_str, errors);
        HttpVersions {
            http1: versions.contains(&HttpVersion::Http11),
            h2: versions.contains(&HttpVersion::H2),
        }
    })
}

/// A `tls client`, its ALPN default still to be filled in from the http client
/// of each chain it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedTls {
    server_name: Option<String>,
    /// `None`: the default.
    alpn: Option<Vec<Alpn>>,
    trust_system_roots: bool,
    trust_files: Vec<String>,
    client_certificate: Option<ClientCertificatePlan>,
    skip_verification: bool,
}

impl CheckedTls {
    /// The plan behind an http client that may speak `versions`: by default,
    /// ALPN offers `h2` then `http/1.1`, keeping those among `versions`.
    pub(crate) fn plan(&self, versions: HttpVersions) -> TlsPlan {
        let default = || {
            let offered = [(versions.h2, Alpn::H2), (versions.http1, Alpn::Http11)];
            offered
                .into_iter()
                .filter_map(|(on, alpn)| on.then_some(alpn))
                .collect()
        };
        TlsPlan {
            server_name: self.server_name.clone(),
            alpn: self.alpn.clone().unwrap_or_else(default),
            trust_system_roots: self.trust_system_roots,
            trust_files: self.trust_files.clone(),
            client_certificate: self.client_certificate.clone(),
            skip_verification: self.skip_verification,
        }
    }
}

/// A `tls client`: the server name, ALPN, whom to trust, the client certificate.
pub(crate) fn tls_client(
    path: &str,
    tls: &TlsClient,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedTls> {
    let options = &tls.options;
    let options_path = format!("{path}.options");
    clean(errors, |errors| {
        let server_name = options.sni.as_ref().and_then(|sni| {
            let field = format!("{options_path}.sni");
            if sni.len() != 1 {
                errors.push(FieldError::new(&field, Invalid::OneServerName(sni.len())));
            }
            for (index, name) in sni.iter().enumerate() {
                host(format!("{field}[{index}]"), name, errors);
            }
            sni.first().cloned()
        });
        let alpn = options.alpn.as_deref().map(|alpn| {
            let field = format!("{options_path}.alpn");
            let protocols = distinct(&field, alpn, HttpVersion::as_str, errors);
            protocols.into_iter().map(alpn_of).collect()
        });
        for (index, file) in options.trust.iter().enumerate() {
            file_path(format!("{options_path}.trust[{index}]"), file, errors);
        }
        let skip_verification = options.dangerously_skip_verification;
        let trusts_files = !options.trust.is_empty();
        // Skipping verification, nothing is trusted: there is nothing to verify.
        let trust_system_roots = options
            .trustcacerts
            .unwrap_or(!trusts_files && !skip_verification);
        if skip_verification {
            let conflicts: Vec<&str> = [
                trusts_files.then_some("`trust`"),
                (options.trustcacerts == Some(true)).then_some("`trustcacerts: true`"),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !conflicts.is_empty() {
                let error = Invalid::SkipVerificationConflict(conflicts.join(" and "));
                let field = format!("{options_path}.dangerously_skip_verification");
                errors.push(FieldError::new(field, error));
            }
        } else if !trust_system_roots && !trusts_files {
            let field = format!("{options_path}.trustcacerts");
            errors.push(FieldError::new(field, Invalid::NothingTrusted));
        }
        CheckedTls {
            server_name,
            alpn,
            trust_system_roots,
            trust_files: options.trust.clone(),
            client_certificate: client_certificate(&options_path, tls, errors),
            skip_verification,
        }
    })
}

/// `certificate_file` and `key_file`: both or neither.
fn client_certificate(
    options_path: &str,
    tls: &TlsClient,
    errors: &mut Vec<FieldError>,
) -> Option<ClientCertificatePlan> {
    let (certificate, key) = (&tls.options.certificate_file, &tls.options.key_file);
    let half = |missing, given| {
        let error = Invalid::ClientCertificateHalf { missing, given };
        FieldError::new(format!("{options_path}.{missing}"), error)
    };
    match (certificate, key) {
        (Some(certificate), Some(key)) => {
            file_path(
                format!("{options_path}.certificate_file"),
                certificate,
                errors,
            );
            file_path(format!("{options_path}.key_file"), key, errors);
            Some(ClientCertificatePlan {
                certificate_file: certificate.clone(),
                key_file: key.clone(),
            })
        }
        (Some(_), None) => {
            errors.push(half("key_file", "certificate_file"));
            None
        }
        (None, Some(_)) => {
            errors.push(half("certificate_file", "key_file"));
            None
        }
        (None, None) => None,
    }
}

fn alpn_of(version: HttpVersion) -> Alpn {
    match version {
        HttpVersion::Http11 => Alpn::Http11,
        HttpVersion::H2 => Alpn::H2,
    }
}

/// A `tcp client`: what it sets of the address to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedTcp {
    host: Option<String>,
    port: Option<u16>,
}

impl CheckedTcp {
    /// Where to connect for `server`: `Some(None)` when the tcp client sets
    /// neither host nor port (the URL's authority is used as it is), otherwise the
    /// missing part taken from the URL. `None` only for a URL without a host or a
    /// known port, which a checked http(s) URL never is.
    pub(crate) fn connect(&self, server: &Url) -> Option<Option<ConnectTo>> {
        if self.host.is_none() && self.port.is_none() {
            return Some(None);
        }
        let host = match &self.host {
            Some(host) => host.clone(),
            None => url_host(server)?,
        };
        let port = match self.port {
            Some(port) => port,
            None => server.port_or_known_default()?,
        };
        Some(Some(ConnectTo { host, port }))
    }
}

/// The URL's host as a tcp client's `host` is written: IPv6 without brackets.
fn url_host(url: &Url) -> Option<String> {
    Some(match url.host()? {
        Host::Domain(name) => name.to_owned(),
        Host::Ipv4(ip) => IpAddr::V4(ip).to_string(),
        Host::Ipv6(ip) => IpAddr::V6(ip).to_string(),
    })
}

/// A `tcp client`: its host and port, when set.
pub(crate) fn tcp_client(
    path: &str,
    tcp: &TcpClient,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedTcp> {
    let options = &tcp.options;
    clean(errors, |errors| {
        if let Some(name) = &options.host {
            host(format!("{path}.options.host"), name, errors);
        }
        if options.port == Some(0) {
            let error = Invalid::OutOfRange {
                min: "1",
                max: "65535",
            };
            errors.push(FieldError::new(format!("{path}.options.port"), error));
        }
        CheckedTcp {
            host: options.host.clone(),
            port: options.port,
        }
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tls;
