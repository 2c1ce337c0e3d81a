//! The compiled form of a binding config: what the data plane runs.
//!
//! A [`Plan`] is produced only from a config that passed validation, so every
//! reference in it is resolved and every value is in range. The data plane
//! builds its runtime state from a plan and never looks at the raw YAML.

use std::time::Duration;

use url::Url;

/// A validated, compiled binding config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The config's `name`.
    pub name: String,
    /// One entry per `tcp server` binding, in config order.
    pub listeners: Vec<ListenerPlan>,
}

/// A `tcp server` → `http server` chain: one socket and its HTTP routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerPlan {
    /// Name of the `tcp server` binding.
    pub binding: String,
    /// Host or IP address to bind (`options.host`).
    pub host: String,
    /// Port to bind (`options.port`); 0 lets the OS choose (useful in tests).
    pub port: u16,
    /// Routes of the `http server` binding, in config order; the first match wins.
    pub routes: Vec<HttpRoutePlan>,
}

/// One `http server` route: requests whose `:path` equals `path` go to `endpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoutePlan {
    /// Exact request path, e.g. `/mcp` (query strings are ignored when matching).
    pub path: String,
    /// The `mcp server` → `mcp proxy` → toolkits chain behind this path.
    pub endpoint: EndpointPlan,
}

/// An `mcp server` binding and the `mcp proxy` it exits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPlan {
    /// Name of the `mcp server` binding.
    pub server_binding: String,
    /// Streamable HTTP server settings.
    pub server: McpServerPlan,
    /// Name of the `mcp proxy` binding.
    pub proxy_binding: String,
    /// Routing and naming settings of the proxy.
    pub proxy: ProxyPlan,
}

/// Settings of an `mcp server` binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpServerPlan {
    /// Origins accepted besides loopback ones (`options.origins`), normalised as
    /// `scheme://host[:port]` in lower case. A request without `Origin` is always
    /// accepted; a request with an Origin that is neither loopback nor listed
    /// gets 403.
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body in bytes (`options.max_request_bytes`).
    pub max_request_bytes: usize,
    /// How long an idle session is kept before it expires (`options.session_idle_timeout`).
    pub session_idle_timeout: Duration,
}

/// Settings of an `mcp proxy` binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPlan {
    /// Whether names are prefixed with their toolkit (`options.prefix`).
    pub prefix: PrefixMode,
    /// One entry per route, in config order (this order is the merge order of lists).
    pub toolkits: Vec<ToolkitPlan>,
}

/// How the proxy names what toolkits expose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PrefixMode {
    /// `<toolkit>__<name>` for tools and prompts, `<toolkit>+<uri>` for resources.
    #[default]
    Always,
    /// Names pass through unchanged; only valid with exactly one toolkit.
    Never,
}

/// One toolkit: a proxy route (`when: [{toolkit: NAME}]`) and the `mcp client` it exits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolkitPlan {
    /// The toolkit name: the prefix clients see. A DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, ≤ 63).
    pub name: String,
    /// Name of the `mcp client` binding.
    pub client_binding: String,
    /// The upstream MCP endpoint (`options.server`), an `http` URL.
    pub server: Url,
    /// Per-request timeout towards the upstream (`options.timeout`); it restarts
    /// whenever the upstream sends anything on the request's stream.
    pub timeout: Duration,
}
