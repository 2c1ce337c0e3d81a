//! TLS towards toolkits' upstreams: the explicit south chain (`http client` →
//! `tls client` → `tcp client`) that a toolkit with `spec.tls` exits to, the files
//! it names, and whether the Secrets and ConfigMaps they come from exist.
//!
//! A toolkit without `spec.tls` keeps `sys:http_client`, which speaks TLS to an
//! `https` upstream with the defaults (system roots, SNI from the URL's host).

use mcpgw_config::model::{
    Binding, HttpClient, HttpVersion as ModelVersion, TcpClient, TlsClient, TlsClientOptions,
};
use mcpgw_crds::{
    HttpVersion, McpToolkit, TLS_SECRET_CERTIFICATE, TLS_SECRET_PRIVATE_KEY, UpstreamTls,
};

use super::mounts::{KeySource, TlsFiles};
use super::{Inputs, Verdict};

/// Where toolkits' TLS files are mounted, one directory per toolkit.
pub const TLS_DIR: &str = "/etc/mcpgw/tls";
/// The file name of a toolkit's CA bundle in `TLS_DIR/<toolkit>/`.
// NB: fixed names rather than the objects' keys, as for the JWT keys (see auth.rs).
pub const CA_BUNDLE_FILE: &str = "ca.crt";
/// The file name of a toolkit's client certificate chain in `TLS_DIR/<toolkit>/`.
pub const CLIENT_CERTIFICATE_FILE: &str = "tls.crt";
/// The file name of a toolkit's client private key in `TLS_DIR/<toolkit>/`.
pub const CLIENT_KEY_FILE: &str = "tls.key";

/// The path of one of a toolkit's TLS files.
pub fn tls_path(toolkit: &str, file: &str) -> String {
    format!("{TLS_DIR}/{toolkit}/{file}")
}

/// The names of a toolkit's chain bindings: http, tls and tcp client.
pub fn binding_names(toolkit: &str) -> [String; 3] {
    ["http", "tls", "tcp"].map(|kind| format!("south_{kind}_client_{toolkit}"))
}

/// The explicit chain of a toolkit with `spec.tls`: its bindings, in order, the first
/// being the http client its mcp client exits to.
pub fn chain(toolkit: &McpToolkit) -> Option<Vec<(String, Binding)>> {
    let tls = toolkit.spec.tls.as_ref()?;
    let name = &toolkit.spec.toolkit;
    let [http_name, tls_name, tcp_name] = binding_names(name);
    let mut http = HttpClient::new(&tls_name);
    http.options.versions = tls.http_versions.as_deref().map(versions);
    let mut client = TlsClient::new(&tcp_name);
    client.options = options(name, tls);
    Some(vec![
        (http_name, http.into()),
        (tls_name, client.into()),
        // Host and port come from the mcp client's URL.
        (tcp_name, TcpClient::default().into()),
    ])
}

/// The tls client's options: the mounted files the toolkit's references become, and
/// the rest as written. What is left out keeps the config's defaults (`trustcacerts`
/// among them, so that a CA bundle replaces the system's roots unless told otherwise).
fn options(toolkit: &str, tls: &UpstreamTls) -> TlsClientOptions {
    let (certificate_file, key_file) = match &tls.client_certificate_secret_ref {
        Some(_) => (
            Some(tls_path(toolkit, CLIENT_CERTIFICATE_FILE)),
            Some(tls_path(toolkit, CLIENT_KEY_FILE)),
        ),
        None => (None, None),
    };
    TlsClientOptions {
        trustcacerts: tls.trust_system_roots,
        trust: tls
            .ca_bundle
            .iter()
            .map(|_| tls_path(toolkit, CA_BUNDLE_FILE))
            .collect(),
        sni: tls.server_name.clone().map(|name| vec![name]),
        alpn: tls.alpn.as_deref().map(versions),
        certificate_file,
        key_file,
        dangerously_skip_verification: tls.insecure_skip_verify,
    }
}

fn versions(list: &[HttpVersion]) -> Vec<ModelVersion> {
    list.iter()
        .map(|version| match version {
            HttpVersion::H2 => ModelVersion::H2,
            HttpVersion::Http11 => ModelVersion::Http11,
        })
        .collect()
}

/// What a toolkit's `spec.tls` mounts, when it names anything.
pub fn files(toolkit: &McpToolkit) -> Option<TlsFiles> {
    let tls = toolkit.spec.tls.as_ref()?;
    let files = TlsFiles {
        ca_bundle: tls.ca_bundle.as_ref().and_then(KeySource::of),
        client_certificate: tls
            .client_certificate_secret_ref
            .as_ref()
            .map(|r| r.name.clone()),
    };
    (files != TlsFiles::default()).then_some(files)
}

/// `ResolvedRefs=False` of a toolkit whose CA bundle or client certificate (the object,
/// or one of its keys) is missing.
pub fn missing(toolkit: &McpToolkit, inputs: &Inputs<'_>) -> Option<Verdict> {
    let files = files(toolkit)?;
    let ca_bundle = files.ca_bundle.and_then(|source| {
        let field = format!("spec.tls.caBundle.{}", source.field());
        source.missing(&field, inputs)
    });
    let client_certificate = || {
        let name = files.client_certificate.as_deref()?;
        [TLS_SECRET_CERTIFICATE, TLS_SECRET_PRIVATE_KEY]
            .into_iter()
            .find_map(|key| {
                KeySource::secret(name, key).missing("spec.tls.clientCertificateSecretRef", inputs)
            })
    };
    ca_bundle.or_else(client_certificate)
}
