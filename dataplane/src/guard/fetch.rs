//! Reading a JWK set from where the config says it is: a file, or an `http(s)`
//! URL fetched with a small client of its own (the toolkits' client speaks
//! plain HTTP only). Every read is bounded in size and time.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use tokio::io::AsyncReadExt;

use super::keys::MAX_JWKS_BYTES;

/// How long one fetch may take, connection and body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Fetches JWK sets over HTTP(S) for the guards of a gateway. Cheap to clone;
/// the TLS client (and the system's root certificates) is set up on the first
/// fetch, so a gateway with inline keys never reads them.
///
/// Server certificates are checked against the system's roots
/// (`rustls-native-certs`, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`):
/// issuers inside a cluster are often signed by a private CA, which an operator
/// can add to the image or mount, where a compiled-in root list could not be
/// extended. Redirects are not followed: a JWKS URL is configured exactly.
#[derive(Clone)]
pub struct KeyFetcher {
    client: Arc<OnceLock<Built>>,
    timeout: Duration,
}

/// The client, and why `https` URLs cannot be fetched when the system has no
/// usable root certificates (plain `http` still works then).
struct Built {
    client: Option<HttpsClient>,
    https_unavailable: Option<String>,
}

impl std::fmt::Debug for KeyFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFetcher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for KeyFetcher {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a JWK set could not be read. Names the file or the failure; never the
/// content.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot read the file: {0}")]
    Read(std::io::Error),
    #[error("larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("answered HTTP {0}")]
    Status(StatusCode),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("https is unavailable: {0}")]
    NoRoots(String),
}

impl KeyFetcher {
    /// A fetcher with the default 10 s bound per fetch.
    pub fn new() -> Self {
        Self::with_timeout(FETCH_TIMEOUT)
    }

    /// A fetcher with another bound per fetch (tests use a short one).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            client: Arc::new(OnceLock::new()),
            timeout,
        }
    }

    /// The body of a `GET` of `uri`, at most [`MAX_JWKS_BYTES`].
    pub async fn fetch(&self, uri: &Uri) -> Result<Bytes, FetchError> {
        let built = self.client.get_or_init(build);
        if uri.scheme() == Some(&http::uri::Scheme::HTTPS)
            && let Some(why) = &built.https_unavailable
        {
            return Err(FetchError::NoRoots(why.clone()));
        }
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri.clone())
            .header(header::ACCEPT, "application/jwk-set+json, application/json")
            .header(
                header::USER_AGENT,
                concat!("mcpgw/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        let Some(client) = &built.client else {
            return Err(FetchError::NoRoots(
                "no TLS configuration could be built".into(),
            ));
        };
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| FetchError::Unreachable(causes(&e)))?;
            if !response.status().is_success() {
                return Err(FetchError::Status(response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_JWKS_BYTES);
            match body.collect().await {
                Ok(body) => Ok(body.to_bytes()),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(FetchError::TooLarge),
                Err(e) => Err(FetchError::Unreachable(e.to_string())),
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))?
    }
}

/// Reads a JWK set file, at most [`MAX_JWKS_BYTES`].
pub async fn read_file(path: &Path) -> Result<Bytes, FetchError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(FetchError::Read)?;
    let mut text = Vec::new();
    file.take(MAX_JWKS_BYTES as u64 + 1)
        .read_to_end(&mut text)
        .await
        .map_err(FetchError::Read)?;
    if text.len() > MAX_JWKS_BYTES {
        return Err(FetchError::TooLarge);
    }
    Ok(text.into())
}

fn build() -> Built {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(FETCH_TIMEOUT));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (tls, https_unavailable) = match HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider.clone())
    {
        Ok(builder) => (Some(builder), None),
        Err(no_roots) => {
            tracing::warn!(error = %no_roots, "no system root certificates: JWKS URLs over https cannot be fetched");
            // A client that trusts nothing still serves plain-http URLs.
            let empty = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()
                .map(|config| {
                    HttpsConnectorBuilder::new().with_tls_config(
                        config
                            .with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth(),
                    )
                });
            (empty, Some(no_roots.to_string()))
        }
    };
    Built {
        // NB: `None` only if the ring provider refused rustls' default protocol
        // versions, which it supports; every fetch then reports why.
        client: tls.map(|tls| {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(
                    tls.https_or_http()
                        .enable_all_versions()
                        .wrap_connector(http),
                )
        }),
        https_unavailable,
    }
}

/// An error and its causes, `: `-separated (hyper's own message is only "client error").
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
