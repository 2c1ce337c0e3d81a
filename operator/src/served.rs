//! Which config each data-plane pod serves: its `/readyz` reports the
//! SHA-256 of the config file it applied (see docs/gateway.md, "Hot
//! reload"), and the operator compares it with what it rendered.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Asks a pod which config it serves.
pub trait ConfigProbe: Send + Sync + 'static {
    /// The SHA-256 the pod at `ip:port` reports, or `None` if it does not answer.
    fn served<'a>(&'a self, ip: &'a str, port: i32) -> BoxFuture<'a, Option<String>>;
}

/// The real probe: `GET http://<pod IP>:<port>/readyz`.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Default for HttpProbe {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl ConfigProbe for HttpProbe {
    fn served<'a>(&'a self, ip: &'a str, port: i32) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            // An IPv6 pod IP needs brackets in a URL.
            let host = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.to_owned()
            };
            let uri: http::Uri = format!("http://{host}:{port}/readyz").parse().ok()?;
            let answer = tokio::time::timeout(Duration::from_secs(3), async {
                let resp = self.client.get(uri).await.ok()?;
                let body = Limited::new(resp.into_body(), 64 << 10)
                    .collect()
                    .await
                    .ok()?;
                Some(body.to_bytes())
            })
            .await
            .ok()??;
            sha256_of(&answer)
        })
    }
}

/// The served config's SHA-256 in a `/readyz` body.
pub fn sha256_of(readyz: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(readyz).ok()?;
    value.pointer("/config/sha256")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_read_from_the_data_planes_ready_answer() {
        let body = br#"{"status":"ok","config":{"name":"shop/demo","sha256":"abc","appliedAt":1},"lastError":null}"#;
        assert_eq!(sha256_of(body), Some("abc".to_owned()));
        assert_eq!(
            sha256_of(br#"{"status":"ok","config":{"sha256":null}}"#),
            None
        );
        assert_eq!(sha256_of(b"not json"), None);
    }
}
