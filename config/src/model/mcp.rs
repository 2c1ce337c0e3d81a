//! The MCP bindings: `mcp server` (north transport), `mcp proxy` (routing by
//! toolkit) and `mcp client` (south transport, one per toolkit).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SYS_HTTP_CLIENT;
use crate::duration::IsoDuration;

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// `type: mcp, kind: server`: the Streamable HTTP transport towards MCP clients
/// (sessions, SSE, Origin checks). Exits to an `mcp proxy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    /// Transport settings; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: McpServerOptions,
    /// Name of the `mcp proxy` binding that handles this server's requests.
    pub exit: String,
}

impl McpServer {
    /// An mcp server with default options that exits to the mcp proxy named `exit`.
    pub fn new(exit: impl Into<String>) -> Self {
        Self {
            options: McpServerOptions::default(),
            exit: exit.into(),
        }
    }
}

/// Options of an `mcp server`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServerOptions {
    /// Origins accepted besides loopback ones, each `scheme://host[:port]` with scheme
    /// `http` or `https` and no path, e.g. `https://app.example.com`. Compared in lower
    /// case, default ports removed. A request without `Origin` is always accepted; one
    /// whose Origin is neither loopback nor listed gets 403.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// Largest accepted request body in bytes, from 1024 to 67108864 (64 MiB).
    /// Default 4194304 (4 MiB); larger requests get 413.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 67108864), extend("default" = 4194304))]
    pub max_request_bytes: Option<u64>,
    /// How long a session may stay idle before it expires (then requests with its id
    /// get 404), as an ISO-8601 duration. Default `PT1H`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT1H"))]
    pub session_idle_timeout: Option<IsoDuration>,
}

/// `type: mcp, kind: proxy`: aggregates toolkits (upstream MCP servers) behind one
/// endpoint, routing each request by the toolkit prefix of the name it uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpProxy {
    /// Naming settings; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: McpProxyOptions,
    /// One route per toolkit, in the order lists are merged. At least one is required.
    #[schemars(length(min = 1))]
    pub routes: Vec<McpProxyRoute>,
}

impl McpProxy {
    /// A proxy with default options and these routes.
    pub fn new(routes: impl IntoIterator<Item = McpProxyRoute>) -> Self {
        Self {
            options: McpProxyOptions::default(),
            routes: routes.into_iter().collect(),
        }
    }
}

/// Options of an `mcp proxy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpProxyOptions {
    /// Whether names are prefixed with their toolkit. Default `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "always"))]
    pub prefix: Option<Prefix>,
}

/// How the proxy names what toolkits expose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Prefix {
    /// Tools and prompts as `<toolkit>__<name>`, resources as `<toolkit>+<uri>`.
    Always,
    /// Names pass through unchanged; only valid with exactly one route.
    Never,
}

/// A route of an `mcp proxy`: one toolkit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpProxyRoute {
    /// Exactly one condition naming the toolkit.
    #[schemars(length(min = 1, max = 1))]
    pub when: Vec<ToolkitCondition>,
    /// Name of the `mcp client` binding that reaches this toolkit's upstream. Each route
    /// needs its own mcp client.
    pub exit: String,
}

impl McpProxyRoute {
    /// A route for the toolkit `name` that exits to the mcp client named `exit`.
    pub fn toolkit(name: impl Into<String>, exit: impl Into<String>) -> Self {
        Self {
            when: vec![ToolkitCondition {
                toolkit: name.into(),
            }],
            exit: exit.into(),
        }
    }
}

/// The condition of an `mcp proxy` route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolkitCondition {
    /// The toolkit name: the prefix clients see. A DNS-1123 label: lower-case letters,
    /// digits and `-`, starting and ending with a letter or digit, at most 63 characters.
    /// Unique within the proxy.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub toolkit: String,
}

/// `type: mcp, kind: client`: the Streamable HTTP transport towards one upstream MCP
/// server. Exits to `sys:http_client`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpClient {
    /// The upstream.
    pub options: McpClientOptions,
    /// Must be `sys:http_client`, the built-in HTTP client.
    #[schemars(extend("const" = "sys:http_client"))]
    pub exit: String,
}

impl McpClient {
    /// An mcp client for the upstream at `server`, exiting to `sys:http_client`.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            options: McpClientOptions {
                server: server.into(),
                timeout: None,
            },
            exit: SYS_HTTP_CLIENT.to_owned(),
        }
    }
}

/// Options of an `mcp client`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpClientOptions {
    /// The upstream MCP endpoint: an absolute `http` URL with a host, e.g.
    /// `http://127.0.0.1:3001/mcp`; no user info, no fragment. (`https` is not supported yet.)
    #[schemars(length(min = 1))]
    pub server: String,
    /// Per-request timeout towards the upstream, as an ISO-8601 duration; it restarts
    /// whenever the upstream sends anything on the request's stream. Default `PT60S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT60S"))]
    pub timeout: Option<IsoDuration>,
}
