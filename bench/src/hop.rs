//! The bare hop: a trivial hyper forwarder with no MCP work. It sends the
//! method, path, headers and body on to the upstream over a pooled client
//! and streams the response back — the physical floor of any gateway.

use std::net::SocketAddr;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Request, Response, StatusCode, Uri, header};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;

use crate::upstream::serve;
use mcpgw_config::Alpn;

type HopBody = Either<Incoming, Empty<Bytes>>;

/// Serve the bare hop on an OS-chosen loopback port, in front of `upstream`.
pub async fn start(upstream: SocketAddr) -> anyhow::Result<SocketAddr> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(connector);
    let authority: Authority = upstream.to_string().parse()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    serve(listener, None, move |req| {
        forward(client.clone(), Scheme::HTTP, authority.clone(), req)
    })
    .await
}

/// The bare hop in front of a TLS upstream at `localhost:<port of upstream>`,
/// over hyper-rustls with `tls` (trusting the bench's CA), speaking `alpn`.
pub async fn start_tls(
    upstream: SocketAddr,
    tls: rustls::ClientConfig,
    alpn: Alpn,
) -> anyhow::Result<SocketAddr> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only();
    let connector = match alpn {
        Alpn::H2 => builder.enable_http2().wrap_connector(http),
        // NB: no ALPN offered; the upstream, offering only http/1.1, speaks it.
        Alpn::Http11 => builder.enable_http1().wrap_connector(http),
    };
    let client: Client<_, Incoming> = Client::builder(TokioExecutor::new()).build(connector);
    let authority: Authority = format!("localhost:{}", upstream.port()).parse()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    serve(listener, None, move |req| {
        forward(client.clone(), Scheme::HTTPS, authority.clone(), req)
    })
    .await
}

async fn forward<C: Connect + Clone + Send + Sync + 'static>(
    client: Client<C, Incoming>,
    scheme: Scheme,
    authority: Authority,
    req: Request<Incoming>,
) -> Response<HopBody> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let uri = Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(path)
        .build();
    let Ok(uri) = uri else {
        return bad_gateway();
    };
    parts.uri = uri;
    strip_hop_by_hop(&mut parts.headers);
    match client.request(Request::from_parts(parts, body)).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(_) => bad_gateway(),
    }
}

/// Headers that describe one connection, not the message.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
}

fn bad_gateway() -> Response<HopBody> {
    let mut resp = Response::new(Either::Right(Empty::new()));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp
}
