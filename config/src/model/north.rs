//! The north bindings that accept connections: `tcp server` and `http server`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::is_default;
use crate::duration::IsoDuration;

/// `type: tcp, kind: server`: a listening socket. Exits to an `http server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpServer {
    /// Where to listen.
    pub options: TcpServerOptions,
    /// Name of the `http server` binding that serves the accepted connections.
    pub exit: String,
}

impl TcpServer {
    /// A tcp server on `host:port` that exits to the http server named `exit`.
    pub fn new(host: impl Into<String>, port: u16, exit: impl Into<String>) -> Self {
        Self {
            options: TcpServerOptions {
                host: host.into(),
                port,
            },
            exit: exit.into(),
        }
    }
}

/// Options of a `tcp server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpServerOptions {
    /// IP address or host name to bind, e.g. `0.0.0.0`, `127.0.0.1`, `::`, `localhost`.
    #[schemars(length(min = 1))]
    pub host: String,
    /// Port to bind; `0` lets the operating system choose one. Two tcp servers must not
    /// bind the same non-zero port on the same host.
    pub port: u16,
}

/// `type: http, kind: server`: HTTP/1.1 and h2c, routed by request path to `mcp server`s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpServer {
    /// Connection settings; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: HttpServerOptions,
    /// Routes, tried in order; the first whose condition matches wins. A request that
    /// matches no route gets 404. At least one route is required.
    #[schemars(length(min = 1))]
    pub routes: Vec<HttpRoute>,
}

impl HttpServer {
    /// An http server with these routes.
    pub fn new(routes: impl IntoIterator<Item = HttpRoute>) -> Self {
        Self {
            options: HttpServerOptions::default(),
            routes: routes.into_iter().collect(),
        }
    }
}

/// Options of an `http server`: how long a connection may take to say what it wants,
/// and how long it may stay open doing nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpServerOptions {
    /// Longest a client may take to send a request's headers, as an ISO-8601 duration,
    /// more than zero and at most `PT5M`. Default `PT10S`. Counted from when the
    /// connection is ready for a request: from the connection's start for its first
    /// request, and on HTTP/1.1 from the end of the previous response (so a kept-alive
    /// HTTP/1.1 connection waiting this long for its next request is closed too). A
    /// connection that has not sent a whole request head in time is closed without an
    /// answer (a slowloris client holds a socket for no longer than this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT10S"))]
    pub header_read_timeout: Option<IsoDuration>,
    /// Longest a connection may stay open with no request in flight (an open SSE stream
    /// is a request in flight), as an ISO-8601 duration, more than zero and at most
    /// `PT1H`. Default `PT60S`. Then it is closed; clients open a new one for their next
    /// request. This bounds idle HTTP/2 connections; an idle HTTP/1.1 connection is closed
    /// earlier by `header_read_timeout` when that is shorter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT60S"))]
    pub idle_timeout: Option<IsoDuration>,
}

/// A route of an `http server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    /// Conditions; the route matches when any of them does. At least one is required.
    #[schemars(length(min = 1))]
    pub when: Vec<HttpCondition>,
    /// Name of the `mcp server` binding that serves matching requests.
    pub exit: String,
}

impl HttpRoute {
    /// A route that sends requests for exactly `path` to the mcp server named `exit`.
    pub fn path(path: impl Into<String>, exit: impl Into<String>) -> Self {
        Self {
            when: vec![HttpCondition {
                headers: IndexMap::from([(":path".to_owned(), path.into())]),
            }],
            exit: exit.into(),
        }
    }
}

/// A condition of an `http server` route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCondition {
    /// Pseudo-headers and headers to match. Only `:path` is supported: the exact request
    /// path (starting with `/`, without query), e.g. `{":path": /mcp}`.
    pub headers: IndexMap<String, String>,
}
