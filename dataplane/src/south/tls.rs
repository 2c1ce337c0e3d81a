//! The rustls client settings of one toolkit's `https` upstream, built from
//! its [`TlsPlan`]: which roots to trust (the system's, CA bundle files),
//! the client certificate to present, the ALPN list, and whether to verify
//! at all. Settings that name files are re-read when the files change (a
//! mounted Secret is updated in place), so a rotated CA bundle or client
//! certificate is used without a restart.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mcpgw_config::TlsPlan;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::{FileFailure, FileProblem, TlsFailure, TlsFile, TransportError};

/// How often, at most, the files of a TLS setting are checked for a change.
const RECHECK: Duration = Duration::from_secs(1);

/// Where the client config of `https` connections comes from.
pub(super) struct TlsSource {
    plan: TlsPlan,
    // NB: a std mutex, held only to compare and swap the loaded state.
    state: Mutex<Loaded>,
    /// When the upstream last asked for a client certificate, none being configured.
    asked_for_certificate: Arc<Mutex<Option<Instant>>>,
}

/// The config built from the files as they were when last read.
#[derive(Default)]
struct Loaded {
    /// The built config, or why it cannot be built (the files' problem).
    config: Option<Result<Arc<ClientConfig>, TlsFailure>>,
    /// A digest of what the files held, to notice a change.
    digest: Option<ring::digest::Digest>,
    checked: Option<Instant>,
    /// Bumped whenever the config was rebuilt from changed files.
    generation: u64,
}

impl std::fmt::Debug for TlsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSource")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl TlsSource {
    /// `toolkit`: whose upstream this is, named in the warning when
    /// verification is off (so an operator knows which config to fix).
    pub(super) fn new(plan: TlsPlan, toolkit: Option<&str>) -> Self {
        if plan.skip_verification {
            let toolkit = toolkit.unwrap_or("?");
            tracing::warn!(
                toolkit,
                "TLS server verification is OFF for toolkit `{toolkit}`'s upstream \
                 (dangerously_skip_verification): anyone on the path can impersonate it"
            );
        }
        Self {
            plan,
            state: Mutex::default(),
            asked_for_certificate: Arc::default(),
        }
    }

    /// Whether the upstream asked for a client certificate within `fresh`,
    /// and the gateway had none to give. With TLS 1.3 a server refuses that
    /// after the client's side of the handshake is done: the connection just
    /// ends, and its alert may be lost with it (the request written meanwhile
    /// makes the server's end reset). This says why such a connection closed;
    /// an old ask (a server that only offers client authentication) does not.
    pub(super) fn asked_for_certificate(&self, fresh: Duration) -> bool {
        let asked = self
            .asked_for_certificate
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        asked.is_some_and(|at| at.elapsed() < fresh)
    }

    /// Whether the settings name files that may change (trust bundles, a
    /// client certificate).
    pub(super) fn watches_files(&self) -> bool {
        !self.plan.trust_files.is_empty() || self.plan.client_certificate.is_some()
    }

    /// The name to send as SNI and verify, when the plan overrides the URL's host.
    pub(super) fn server_name(&self) -> Option<&str> {
        self.plan.server_name.as_deref()
    }

    /// Whether the client may fall back to HTTP/1.1 when the server chose no
    /// ALPN protocol (or `http/1.1`): only when `http/1.1` is offered, or
    /// nothing is.
    pub(super) fn http1_allowed(&self) -> bool {
        self.plan.alpn.is_empty() || self.plan.alpn.contains(&mcpgw_config::Alpn::Http11)
    }

    /// The current config, re-read from the files at most once per [`RECHECK`].
    pub(super) fn config(&self) -> Result<Arc<ClientConfig>, TransportError> {
        self.refresh();
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &state.config {
            Some(Ok(config)) => Ok(config.clone()),
            Some(Err(failure)) => Err(TransportError::Tls(failure.clone())),
            None => Err(TransportError::Tls(TlsFailure::NotLoaded)),
        }
    }

    /// How many times the settings changed since the first load: the HTTP
    /// client drops its pooled connections when this moves.
    pub(super) fn generation(&self) -> u64 {
        self.refresh();
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .generation
    }

    /// Re-read the files if the last check is old enough; rebuild on a change.
    fn refresh(&self) {
        let now = Instant::now();
        {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state
                .checked
                .is_some_and(|at| now.saturating_duration_since(at) < RECHECK)
            {
                return;
            }
        }
        // NB: reading the files happens outside the lock; a racing refresh
        // builds the same config twice, which is harmless.
        let files = read_files(&self.plan);
        let digest = files.as_ref().ok().map(Files::digest);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.checked = Some(now);
        let unchanged = state.config.is_some()
            && match (&state.digest, &digest) {
                (Some(a), Some(b)) => a.as_ref() == b.as_ref(),
                _ => false,
            };
        if unchanged {
            return;
        }
        let built = files.and_then(|files| build(&self.plan, &files));
        let built = built.map(|mut config| {
            if !config.client_auth_cert_resolver.has_certs() {
                let asked = self.asked_for_certificate.clone();
                config.client_auth_cert_resolver = Arc::new(NoCertificate(asked));
            }
            config
        });
        match built {
            Ok(config) => {
                if state.config.is_some() {
                    tracing::info!("TLS settings changed on disk; new connections use them");
                    state.generation += 1;
                }
                state.config = Some(Ok(Arc::new(config)));
                state.digest = digest;
            }
            // Keep the last good settings while a Secret is mid-update; the
            // next check tries again.
            Err(e) if matches!(state.config, Some(Ok(_))) => {
                tracing::warn!(error = %e, "changed TLS settings cannot be used; keeping the last good ones");
            }
            Err(e) => {
                let repeated =
                    matches!(&state.config, Some(Err(old)) if old.to_string() == e.to_string());
                if !repeated {
                    tracing::warn!(error = %e, "TLS settings cannot be loaded");
                }
                state.config = Some(Err(e));
                state.digest = digest;
            }
        }
    }
}

/// What the files of a TLS plan hold.
struct Files {
    trust: Vec<Vec<u8>>,
    certificate: Option<(Vec<u8>, Vec<u8>)>,
}

impl Files {
    fn digest(&self) -> ring::digest::Digest {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for bundle in &self.trust {
            context.update(&(bundle.len() as u64).to_be_bytes());
            context.update(bundle);
        }
        if let Some((chain, key)) = &self.certificate {
            for part in [chain, key] {
                context.update(&(part.len() as u64).to_be_bytes());
                context.update(part);
            }
        }
        context.finish()
    }
}

fn read_files(plan: &TlsPlan) -> Result<Files, TlsFailure> {
    let read = |path: &str, role| {
        std::fs::read(path).map_err(|e| file_failure(role, path, FileProblem::Unreadable(e.kind())))
    };
    let trust = plan
        .trust_files
        .iter()
        .map(|path| read(path, TlsFile::Trust))
        .collect::<Result<Vec<_>, _>>()?;
    let certificate = match &plan.client_certificate {
        Some(c) => Some((
            read(&c.certificate_file, TlsFile::ClientCertificate)?,
            read(&c.key_file, TlsFile::ClientKey)?,
        )),
        None => None,
    };
    Ok(Files { trust, certificate })
}

fn file_failure(role: TlsFile, path: &str, problem: FileProblem) -> TlsFailure {
    TlsFailure::Files(FileFailure {
        role,
        path: path.to_owned(),
        problem,
    })
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's root certificates, read once per process (rustls-native-certs,
/// which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`: a private CA can be added
/// to the image or mounted, where a compiled-in list could not be extended).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        if loaded.certs.is_empty() {
            let why = loaded
                .errors
                .first()
                .map_or_else(|| "none found".to_owned(), ToString::to_string);
            tracing::warn!(error = %why, "no system root certificates: `trustcacerts` trusts nothing");
        }
        loaded.certs
    })
}

/// The client config of `plan` from what its files hold.
fn build(plan: &TlsPlan, files: &Files) -> Result<ClientConfig, TlsFailure> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsFailure::Handshake)?;
    let builder = if plan.skip_verification {
        let verifier = NoVerification(provider.signature_verification_algorithms);
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    } else {
        let mut roots = RootCertStore::empty();
        if plan.trust_system_roots {
            roots.add_parsable_certificates(system_roots().iter().cloned());
        }
        for (bundle, path) in files.trust.iter().zip(&plan.trust_files) {
            let certs = CertificateDer::pem_slice_iter(bundle)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| file_failure(TlsFile::Trust, path, FileProblem::Pem(Arc::new(e))))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(file_failure(
                    TlsFile::Trust,
                    path,
                    FileProblem::NoCaCertificate,
                ));
            }
        }
        if roots.is_empty() {
            return Err(TlsFailure::NothingTrusted);
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match (&files.certificate, &plan.client_certificate) {
        (Some((chain, key)), Some(paths)) => {
            let chain = CertificateDer::pem_slice_iter(chain)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    let problem = FileProblem::Pem(Arc::new(e));
                    file_failure(TlsFile::ClientCertificate, &paths.certificate_file, problem)
                })?;
            // NB: never say anything of the key but where it is.
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|_| {
                file_failure(
                    TlsFile::ClientKey,
                    &paths.key_file,
                    FileProblem::NoPrivateKey,
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                let problem = FileProblem::KeyMismatch(e);
                file_failure(TlsFile::ClientCertificate, &paths.certificate_file, problem)
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = plan
        .alpn
        .iter()
        .map(|p| p.id().as_bytes().to_vec())
        .collect();
    Ok(config)
}

/// The client-certificate resolver of a toolkit without a client
/// certificate: none to give, and a note of when the server asked for one.
#[derive(Debug)]
struct NoCertificate(Arc<Mutex<Option<Instant>>>);

impl rustls::client::ResolvesClientCert for NoCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// A verifier that accepts any certificate (`dangerously_skip_verification`).
/// Handshake signatures are still checked, so the session keys at least
/// belong to whoever presented the certificate.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
