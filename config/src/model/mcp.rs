//! The MCP bindings: `mcp server` (north transport), `mcp proxy` (routing by
//! toolkit) and `mcp client` (south transport, one per toolkit).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, de};

use super::guard::{AuthorizationMap, ResourceMetadata, StaticCredentials};
use super::{SYS_HTTP_CLIENT, is_default};
use crate::duration::IsoDuration;
use indexmap::IndexMap;

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
    /// Path of the file holding the data plane's 32-byte session key, e.g.
    /// `/etc/mcpgw/session.key`: 32 raw bytes, 64 hex digits or the base64 of 32 bytes,
    /// trailing whitespace ignored; read by the data plane at start. Data-plane replicas
    /// that share the file serve each other's sessions. Default: a random key generated at
    /// start, so a session lives only on the process that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), example = "/etc/mcpgw/session.key")]
    pub session_key: Option<String>,
    /// Longest a client's `initialize` waits for the toolkits, as an ISO-8601 duration,
    /// more than zero and at most `PT5M`. Default `PT5S`. The answer offers what the
    /// toolkits that answered in time offer; slower ones keep opening in the background
    /// and join the session when ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT5S"))]
    pub initialize_timeout: Option<IsoDuration>,
    /// The most sessions one caller may hold open at once on this endpoint, from 1 to
    /// 1000000. Default 1000. A caller is the identity the guard established (its
    /// `sub`, or the guard's identity claim); an anonymous caller is its client IP
    /// address as the gateway sees it (behind a proxy that hides client addresses, every
    /// anonymous caller shares one bound). An `initialize` over the bound gets HTTP 429
    /// with `Retry-After` and a JSON-RPC error; sessions end with `DELETE` or when idle
    /// for `session_idle_timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000), extend("default" = 1000))]
    pub max_sessions_per_caller: Option<u32>,
    /// The most standalone SSE streams (`GET`) one caller may hold open at once, over all
    /// its sessions on this endpoint, from 1 to 1000000. Default 100. A caller is counted
    /// as for `max_sessions_per_caller`; each session has at most one such stream (a
    /// second gets 409). A `GET` over the bound gets HTTP 429 with `Retry-After` and a
    /// JSON-RPC error. Replies to `POST` requests sent as SSE end with their request and
    /// are not counted (the toolkits' `timeout` and `max_concurrent_requests` bound them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000), extend("default" = 100))]
    pub max_streams_per_caller: Option<u32>,
    /// The guard that checks callers, by name (one entry), and where the token sits in
    /// `Authorization`, e.g. `{authn_jwt: {credentials: "Bearer {credentials}"}}`. A
    /// request without a token is anonymous and reaches only unguarded routes; a request
    /// with an invalid token gets 401. Left out: every caller is anonymous.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub authorization: AuthorizationMap,
    /// The protected-resource metadata (RFC 9728) served at
    /// `/.well-known/oauth-protected-resource`; needs `authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_metadata: Option<ResourceMetadata>,
}

/// `type: mcp, kind: proxy`: aggregates toolkits (upstream MCP servers) behind one
/// endpoint, routing each request by the toolkit prefix of the name it uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpProxy {
    /// Naming settings; all optional.
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: McpProxyOptions,
    /// The routes, at least one. Each names one toolkit; a toolkit may have several
    /// routes (say, with different allow-lists for different roles), all exiting to its
    /// one mcp client. Toolkits are merged into lists in the order of their first route.
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
    /// Answer `tools/list`, `prompts/list`, `resources/list` and `resources/templates/list`
    /// from a cache of each toolkit's pages, e.g. `{store: cache, ttl: PT5M}`. A page is
    /// kept per toolkit, cursor, protocol version, client capabilities and (for toolkits
    /// that get the caller's token) caller; what a caller may see is filtered after the
    /// cache. Dropped by the toolkit's `list_changed`, by a reload that changes the
    /// toolkit, and after `ttl` (or the upstream's `ttlMs`, if shorter); failures are
    /// never cached, and a page the upstream marks `cacheScope: private` is kept per
    /// caller only. Left out: no cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheOptions>,
}

/// `options.cache` of an `mcp proxy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheOptions {
    /// The `memory` store (in `stores`) that holds the pages.
    #[schemars(length(min = 1))]
    pub store: String,
    /// How long a page is served, as an ISO-8601 duration, more than zero and at most
    /// `P1D`, e.g. `PT5M`.
    pub ttl: IsoDuration,
}

/// How the proxy names what toolkits expose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Prefix {
    /// Tools and prompts as `<toolkit>__<name>`, resources as `<toolkit>+<uri>`.
    Always,
    /// Names pass through unchanged; only valid with exactly one toolkit.
    Never,
}

/// A route of an `mcp proxy`: one toolkit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpProxyRoute {
    /// Exactly one condition naming the toolkit.
    #[schemars(length(min = 1, max = 1))]
    pub when: Vec<ToolkitCondition>,
    /// The roles a caller needs for this route, by guard (the endpoint's guard, one
    /// entry), e.g. `{authn_jwt: ["github:tools"]}`: the caller must hold every role
    /// listed (`[]`: any authenticated caller). Left out: anyone, anonymous callers too.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub guarded: IndexMap<String, Vec<String>>,
    /// Name of the `mcp client` binding that reaches this toolkit's upstream. Each
    /// toolkit needs its own mcp client; several routes of one toolkit (say, with
    /// different tools and roles) share it.
    pub exit: String,
}

impl McpProxyRoute {
    /// A route for the toolkit `name`, everything allowed, that exits to the mcp client
    /// named `exit`.
    pub fn toolkit(name: impl Into<String>, exit: impl Into<String>) -> Self {
        Self::new(ToolkitCondition::new(name), exit)
    }

    /// A route with this condition that exits to the mcp client named `exit`, e.g.
    /// `McpProxyRoute::new(ToolkitCondition::new("time").with_tools(["get-*"]), "client")`.
    pub fn new(condition: ToolkitCondition, exit: impl Into<String>) -> Self {
        Self {
            when: vec![condition],
            guarded: IndexMap::new(),
            exit: exit.into(),
        }
    }

    /// This route, open only to callers that the guard `guard` authenticated and that
    /// hold every one of `roles`.
    pub fn guarded(
        mut self,
        guard: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let roles = roles.into_iter().map(Into::into).collect();
        self.guarded.insert(guard.into(), roles);
        self
    }
}

/// The condition of an `mcp proxy` route: the toolkit, and what of it clients may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolkitCondition {
    /// The toolkit name: the prefix clients see. A DNS-1123 label: lower-case letters,
    /// digits and `-`, starting and ending with a letter or digit, at most 63 characters.
    /// Unique within the proxy.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub toolkit: String,
    /// The tools clients may see and call: patterns of the upstream's tool names (without
    /// the toolkit prefix). `*` matches any run of characters, `?` one character, anything
    /// else itself. Left out: every tool; `[]`: none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "pattern_list"
    )]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 512)))]
    pub tools: Option<Vec<String>>,
    /// The prompts clients may see and get: patterns of the upstream's prompt names, as for
    /// `tools`. Left out: every prompt; `[]`: none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "pattern_list"
    )]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 512)))]
    pub prompts: Option<Vec<String>>,
    /// The resources clients may see, read and subscribe to: patterns, as for `tools`, of
    /// the upstream's resource URIs (without the toolkit prefix), e.g.
    /// `demo://resource/static/*`; they apply to resource templates' `uriTemplate` too.
    /// Left out: every resource; `[]`: none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "pattern_list"
    )]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 512)))]
    pub resources: Option<Vec<String>>,
}

impl ToolkitCondition {
    /// The condition for the toolkit `name`, everything allowed.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            toolkit: name.into(),
            tools: None,
            prompts: None,
            resources: None,
        }
    }

    /// This condition allowing only the tools these patterns match (none if empty).
    pub fn with_tools(mut self, patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tools = Some(patterns.into_iter().map(Into::into).collect());
        self
    }

    /// This condition allowing only the prompts these patterns match (none if empty).
    pub fn with_prompts(mut self, patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.prompts = Some(patterns.into_iter().map(Into::into).collect());
        self
    }

    /// This condition allowing only the resources (URIs and URI templates) these patterns
    /// match (none if empty).
    pub fn with_resources(mut self, patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.resources = Some(patterns.into_iter().map(Into::into).collect());
        self
    }
}

/// A present allow-list must be a list: `null` (e.g. `tools:` with nothing after it) is
/// an error rather than a silent "allow everything" or "allow nothing".
fn pattern_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Vec<String>>::deserialize(deserializer)? {
        Some(patterns) => Ok(Some(patterns)),
        None => Err(de::Error::custom(
            "invalid type: null, expected a list of patterns (leave the field out to allow \
             everything, write `[]` to allow nothing)",
        )),
    }
}

/// `type: mcp, kind: client`: the Streamable HTTP transport towards one upstream MCP
/// server. Exits to `sys:http_client` or to an `http client`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpClient {
    /// The upstream.
    pub options: McpClientOptions,
    /// `sys:http_client`, the built-in HTTP client (TLS chosen by the `server` URL's
    /// scheme), or the name of an `http client` binding: an explicit `http client` →
    /// `tls client` → `tcp client` chain for an `https` server, `http client` → `tcp
    /// client` for an `http` one. Chain bindings may be shared by several mcp clients.
    #[schemars(length(min = 1))]
    pub exit: String,
}

impl McpClient {
    /// An mcp client for the upstream at `server`, exiting to `sys:http_client`.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            options: McpClientOptions {
                server: server.into(),
                timeout: None,
                authorization: IndexMap::new(),
                credentials: None,
                authorization_url: None,
                max_concurrent_requests: None,
                rate_limit: None,
                circuit_breaker: None,
                retries: None,
            },
            exit: SYS_HTTP_CLIENT.to_owned(),
        }
    }

    /// This mcp client exiting to `exit`: `sys:http_client` or an http client's name.
    pub fn with_exit(mut self, exit: impl Into<String>) -> Self {
        self.exit = exit.into();
        self
    }
}

/// Options of an `mcp client`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpClientOptions {
    /// The upstream MCP endpoint: an absolute `http` or `https` URL with a host, e.g.
    /// `http://127.0.0.1:3001/mcp` or `https://api.githubcopilot.com/mcp/`; no user info, no
    /// fragment. With `sys:http_client`, `https` uses TLS with the system's root certificates,
    /// SNI from the host and ALPN `h2`, `http/1.1`; an explicit chain must agree with the
    /// scheme: a `tls client` in it for `https`, none for `http`.
    #[schemars(length(min = 1))]
    pub server: String,
    /// Per-request timeout towards the upstream, as an ISO-8601 duration; it restarts
    /// whenever the upstream sends anything on the request's stream. Default `PT60S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT60S"))]
    pub timeout: Option<IsoDuration>,
    /// Forward the caller's own token to this toolkit: the endpoint's guard, by name (one
    /// entry), and how the token is written in `Authorization`, e.g.
    /// `{authn_jwt: {credentials: "Bearer {credentials}"}}`. Left out: nothing of the
    /// caller's `Authorization` reaches the toolkit.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub authorization: AuthorizationMap,
    /// The gateway's own credential for this toolkit, read from a file. Not with
    /// `authorization` when both would set the same header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<StaticCredentials>,
    /// Where a caller who lacks credentials for this toolkit can get them (an `https` or
    /// `http` URL): such a caller is sent there by a URL-mode elicitation rather than
    /// getting a bare failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    /// The most requests this toolkit may have in flight at once, from every caller
    /// together, from 1 to 100000. A request over the bound is refused at once, not queued:
    /// the caller gets HTTP 503 with `Retry-After` and a JSON-RPC error, and lists leave the
    /// toolkit out. Left out: no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_concurrent_requests: Option<u32>,
    /// The most requests sent to this toolkit in a period, from every caller together. A
    /// request over the rate is refused at once: the caller gets HTTP 429 with
    /// `Retry-After` and a JSON-RPC error, and lists leave the toolkit out. Left out: no
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Stop sending requests to this toolkit while it keeps failing. Left out: no breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Send a request that is safe to repeat again when the toolkit could not take it.
    /// Left out: no retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
}

/// Retries of an `mcp client`. Only requests that are safe to repeat are retried:
/// `initialize`, `ping`, the lists, `resources/read`, `prompts/get` and
/// `completion/complete`; never `tools/call` or anything else that may act. A request is
/// retried when the toolkit was unreachable, closed or reset the connection, or answered
/// 502, 503 or 504; not after a timeout. The waits between tries double from `backoff`,
/// each a random part of that (full jitter). Each try has the toolkit's `timeout`; a list
/// or an `initialize` keeps within it as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// Tries after the first, from 1 to 5.
    #[schemars(range(min = 1, max = 5))]
    pub attempts: u32,
    /// The longest wait before the first retry, as an ISO-8601 duration longer than zero
    /// and at most `PT10S`; it doubles for each further retry. Default `PT0.1S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT0.1S"))]
    pub backoff: Option<IsoDuration>,
}

/// The rate limit of an `mcp client`: at most `requests` in any `per`, with bursts of up
/// to `requests` after a quiet spell (a token bucket refilled evenly over `per`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per period, from 1 to 1000000.
    #[schemars(range(min = 1, max = 1000000))]
    pub requests: u32,
    /// The period, as an ISO-8601 duration longer than zero and at most `PT1H`. Default
    /// `PT1S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT1S"))]
    pub per: Option<IsoDuration>,
}

/// The circuit breaker of an `mcp client`. After `failures` consecutive failed requests
/// (the upstream unreachable, too slow, answering 5xx or garbage) the breaker opens: for
/// `cool_down` every request is refused at once (HTTP 503 with `Retry-After`, and lists
/// leave the toolkit out instead of waiting for its timeout). Then one request is let
/// through as a probe: its success closes the breaker, its failure opens it again.
/// Refusals of the caller's credentials and expired upstream sessions are not failures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the breaker, from 1 to 1000. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000), extend("default" = 5))]
    pub failures: Option<u32>,
    /// How long the breaker stays open before a probe, as an ISO-8601 duration longer
    /// than zero and at most `PT1H`. Default `PT30S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT30S"))]
    pub cool_down: Option<IsoDuration>,
}
