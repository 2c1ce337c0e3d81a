//! TLS for the benchmarks' TLS paths: a CA and a `localhost` certificate made
//! with rcgen (the CA as a file the gateway's `tls client` trusts), the
//! upstream's server config per ALPN mode, and the client config the bench's
//! own clients and the bare hop use. Shared by the in-process bench and the
//! `tls-upstream` peer process of scripts/bench.sh.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub use mcpgw_config::Alpn;

/// The bench's PKI: a CA (written to a file) and a server certificate for
/// `localhost` and `127.0.0.1`.
pub struct Pki {
    /// The directory made for the CA file, removed with the PKI; `None` when
    /// the caller named where the file goes.
    own_dir: Option<PathBuf>,
    pub ca_file: PathBuf,
    ca: CertificateDer<'static>,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // NB: never the key.
        f.debug_struct("Pki")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        if let Some(dir) = &self.own_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Pki {
    /// A PKI whose CA file lies in a temporary directory of its own.
    pub fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("mcpgw-bench-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).context("the bench's PKI directory")?;
        let mut pki = Self::with_ca_file(dir.join("ca.crt"))?;
        pki.own_dir = Some(dir);
        Ok(pki)
    }

    /// A PKI whose CA is written to `ca_file` (left there: its directory is the caller's).
    pub fn with_ca_file(ca_file: PathBuf) -> anyhow::Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mcpgw bench CA");
        let ca_key = KeyPair::generate()?;
        let ca = ca_params.self_signed(&ca_key)?;
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        std::fs::write(&ca_file, ca.pem())
            .with_context(|| format!("writing the CA to {}", ca_file.display()))?;
        Ok(Self {
            own_dir: None,
            ca_file,
            ca: ca.der().clone(),
            cert: cert.der().clone(),
            key: key.serialize_der(),
        })
    }

    /// The upstream's TLS: the `localhost` certificate, ALPN `alpn` only.
    pub fn server(&self, alpn: Alpn) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)?;
        config.alpn_protocols = vec![alpn.id().as_bytes().to_vec()];
        Ok(Arc::new(config))
    }

    /// What the bench's clients and the bare hop trust: the CA.
    pub fn client(&self) -> anyhow::Result<rustls::ClientConfig> {
        trusting(self.ca.clone())
    }

    /// A client config trusting the CA in `pem` (a PKI's CA file, read by
    /// another process than the one that made it).
    pub fn client_trusting(pem: &[u8]) -> anyhow::Result<rustls::ClientConfig> {
        let ca = CertificateDer::from_pem_slice(pem).context("the CA file holds no certificate")?;
        trusting(ca)
    }
}

fn trusting(ca: CertificateDer<'static>) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca)?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
