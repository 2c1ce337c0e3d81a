//! The kinds of upstream a toolkit can be, behind one interface: today a
//! Streamable HTTP server (plain or TLS, HTTP/1.1 or h2: the HTTP client
//! picks per connection); a stdio server joins as another variant. The
//! client ([`super::ToolkitClient`]) adds credentials and the policy around
//! whichever it is.

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::Incoming;

use super::error::ClientError;
use super::transport::{HttpUpstream, Posted};

/// One toolkit's upstream.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// A Streamable HTTP server at a URL.
    Http(HttpUpstream),
}

impl Upstream {
    /// Send one encoded message.
    pub async fn post(
        &self,
        headers: HeaderMap,
        in_session: bool,
        body: Bytes,
    ) -> Result<Posted, ClientError> {
        match self {
            Self::Http(http) => http.post(headers, in_session, body).await,
        }
    }

    /// Open a stream of server messages (standalone, or resuming one).
    pub async fn get(
        &self,
        headers: HeaderMap,
        in_session: bool,
        last_event_id: Option<&str>,
    ) -> Result<Option<Incoming>, ClientError> {
        match self {
            Self::Http(http) => http.get(headers, in_session, last_event_id).await,
        }
    }

    /// End an upstream session.
    pub async fn delete(&self, headers: HeaderMap) -> Result<(), ClientError> {
        match self {
            Self::Http(http) => http.delete(headers).await,
        }
    }
}
