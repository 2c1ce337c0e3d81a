//! Reading a JWK set from where the config says it is: a file, or an `http(s)`
//! URL. Every read is bounded in size and time.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::Full;
use tokio::io::AsyncReadExt;

use super::keys::MAX_JWKS_BYTES;
use crate::south::{HttpClient, TransportError, read_limited};

/// How long one fetch may take, connection and body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches JWK sets over HTTP(S) for the guards of a gateway, with the
/// gateway's one HTTP client ([`HttpClient`]): the same TLS stack, roots and
/// pool as the toolkits'. Cheap to clone. Redirects are not followed: a JWKS
/// URL is configured exactly.
#[derive(Clone, Debug)]
pub struct KeyFetcher {
    http: HttpClient,
    timeout: Duration,
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
    Unreachable(#[from] TransportError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl KeyFetcher {
    /// A fetcher on a client of its own, with the default 10 s bound per fetch.
    pub fn new() -> Self {
        Self::over(HttpClient::new())
    }

    /// A fetcher on the gateway's client.
    pub fn over(http: HttpClient) -> Self {
        Self {
            http,
            timeout: FETCH_TIMEOUT,
        }
    }

    /// A fetcher with another bound per fetch (tests use a short one).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::new()
        }
    }

    /// The body of a `GET` of `uri`, at most [`MAX_JWKS_BYTES`].
    pub async fn fetch(&self, uri: &Uri) -> Result<Bytes, FetchError> {
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::GET;
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(
            header::ACCEPT,
            http::HeaderValue::from_static("application/jwk-set+json, application/json"),
        );
        headers.insert(
            header::USER_AGENT,
            http::HeaderValue::from_static(concat!("mcpgw/", env!("CARGO_PKG_VERSION"))),
        );
        let exchange = async {
            let response = self.http.send(request).await?;
            if !response.status().is_success() {
                return Err(FetchError::Status(response.status()));
            }
            match read_limited(response.into_body(), MAX_JWKS_BYTES).await {
                Err(TransportError::TooLarge { .. }) => Err(FetchError::TooLarge),
                read => Ok(read?),
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
