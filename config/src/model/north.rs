//! The north bindings that accept connections: `tcp server` and `http server`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// Routes, tried in order; the first whose condition matches wins. A request that
    /// matches no route gets 404. At least one route is required.
    #[schemars(length(min = 1))]
    pub routes: Vec<HttpRoute>,
}

impl HttpServer {
    /// An http server with these routes.
    pub fn new(routes: impl IntoIterator<Item = HttpRoute>) -> Self {
        Self {
            routes: routes.into_iter().collect(),
        }
    }
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
