//! The compiled form of a binding config: what the data plane runs.
//!
//! A [`Plan`] is produced only from a config that passed validation, so every
//! reference in it is resolved and every value is in range. The data plane
//! builds its runtime state from a plan and never looks at the raw YAML.

use std::time::Duration;

use url::Url;

mod auth;
mod egress;

pub use auth::{
    AccessRule, AuthorizationPlan, CREDENTIALS_PLACEHOLDER, CredentialFormat, JwtAlgorithm,
    JwtGuardPlan, KeySource, ResourceMetadataPlan, StaticCredentialsPlan,
};
pub use egress::{Alpn, ClientCertificatePlan, ConnectTo, EgressPlan, HttpVersions, TlsPlan};

/// A validated, compiled binding config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The config's `name`.
    pub name: String,
    /// One entry per `tcp server` binding, in config order.
    pub listeners: Vec<ListenerPlan>,
    /// Where traces go, when the config's `telemetry` names an exporter.
    pub telemetry: Option<TelemetryPlan>,
}

/// An OTLP/HTTP trace exporter from `telemetry.exporters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetryPlan {
    /// The exporter's name.
    pub exporter: String,
    /// The full URL spans are posted to, e.g. `http://collector:4318/v1/traces`.
    pub traces_endpoint: Url,
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
    /// Connection settings of the `http server` binding.
    pub http: HttpServerPlan,
    /// Routes of the `http server` binding, in config order; the first match wins.
    pub routes: Vec<HttpRoutePlan>,
}

/// Connection settings of an `http server` binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpServerPlan {
    /// Longest a client may take to send a request's headers (`options.header_read_timeout`);
    /// on HTTP/1.1 also the longest a kept-alive connection waits for its next request.
    pub header_read_timeout: Duration,
    /// Longest a connection stays open with no request in flight (`options.idle_timeout`).
    pub idle_timeout: Duration,
}

impl Default for HttpServerPlan {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
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
    /// The guard checking callers (`options.authorization`); `None`: every caller
    /// is anonymous and only unguarded routes exist.
    pub authorization: Option<AuthorizationPlan>,
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
    /// File holding the 32-byte session key (`options.session_key`), the path as written
    /// (never read by this crate): 32 raw bytes, 64 hex digits or the base64 of 32 bytes,
    /// trailing whitespace ignored. The data plane reads it at start; replicas that share
    /// the file serve each other's sessions. `None`: the data plane generates a random key at start, so a
    /// session lives only on the process that created it.
    pub session_key_file: Option<String>,
    /// Longest a downstream `initialize` waits for the toolkits (`options.initialize_timeout`,
    /// more than zero and at most five minutes): it is answered with what the toolkits
    /// that answered in time offer; slower ones keep opening in the background and join
    /// the session when ready.
    pub initialize_timeout: Duration,
    /// The most sessions one caller holds at once (`options.max_sessions_per_caller`).
    pub max_sessions_per_caller: u32,
    /// The most standalone SSE streams one caller holds open at once
    /// (`options.max_streams_per_caller`).
    pub max_streams_per_caller: u32,
}

/// Settings of an `mcp proxy` binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPlan {
    /// Whether names are prefixed with their toolkit (`options.prefix`).
    pub prefix: PrefixMode,
    /// One entry per toolkit, in the order of each toolkit's first route (this order is
    /// the merge order of lists).
    pub toolkits: Vec<ToolkitPlan>,
    /// The listing cache (`options.cache`), with its store's settings; `None`: lists
    /// always ask the toolkits.
    pub cache: Option<CachePlan>,
}

/// A proxy's listing cache: `options.cache` and the `memory` store it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePlan {
    /// The store's name (`options.cache.store`).
    pub store: String,
    /// How long a cached page is served (`options.cache.ttl`).
    pub ttl: Duration,
    /// The most pages the store holds (`stores.<name>.options.max_entries`); the
    /// least recently used go first.
    pub max_entries: u64,
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
    /// The upstream MCP endpoint (`options.server`), an `http` or `https` URL.
    pub server: Url,
    /// How the upstream is reached: HTTP versions, TLS, where to connect.
    pub egress: EgressPlan,
    /// Per-request timeout towards the upstream (`options.timeout`); it restarts
    /// whenever the upstream sends anything on the request's stream.
    pub timeout: Duration,
    /// The proxy routes of this toolkit, in config order, each with its allow-lists
    /// (`when[].tools|prompts|resources`) and the roles it needs (`guarded`). A caller
    /// sees the toolkit when a rule admits them, and an item when a rule that admits
    /// them allows it.
    pub access: Vec<AccessRule>,
    /// `options.authorization.<guard>.credentials`: forward the caller's own token,
    /// written in this format, in `Authorization`. `None`: nothing of the caller's
    /// credentials reaches this toolkit.
    pub forward: Option<CredentialFormat>,
    /// `options.credentials`: the gateway's own credential for this toolkit.
    pub credentials: Option<StaticCredentialsPlan>,
    /// `options.authorization_url`: where a caller who lacks credentials for this
    /// toolkit is sent, by URL-mode elicitation.
    pub authorization_url: Option<Url>,
    /// `options.max_concurrent_requests`: the most requests in flight to the toolkit at
    /// once; `None`: no bound.
    pub max_concurrent_requests: Option<u32>,
    /// `options.rate_limit`, defaults applied; `None`: no limit.
    pub rate_limit: Option<RateLimitPlan>,
    /// `options.circuit_breaker`, defaults applied; `None`: no breaker.
    pub circuit_breaker: Option<CircuitBreakerPlan>,
    /// `options.retries`, defaults applied; `None`: no retries.
    pub retries: Option<RetryPlan>,
}

/// A toolkit's retries of requests that are safe to repeat (`options.retries`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPlan {
    /// Tries after the first (at least 1).
    pub attempts: u32,
    /// The longest wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
}

/// A toolkit's rate limit (`options.rate_limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitPlan {
    /// Requests allowed per `per` (at least 1), and the largest burst.
    pub requests: u32,
    /// The period.
    pub per: Duration,
}

/// A toolkit's circuit breaker (`options.circuit_breaker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitBreakerPlan {
    /// Consecutive failures that open the breaker (at least 1).
    pub failures: u32,
    /// How long it stays open before one probe request is let through.
    pub cool_down: Duration,
}

/// What of a toolkit clients may see and use (`when[].tools|prompts|resources`).
///
/// Patterns apply to the upstream's own names, before any toolkit prefix is added.
/// For each kind, `None` (the field left out) allows everything and an empty list
/// allows nothing; otherwise a name is allowed when any pattern matches it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Allow {
    /// Patterns of tool names (`when[].tools`).
    pub tools: Option<Vec<NamePattern>>,
    /// Patterns of prompt names (`when[].prompts`).
    pub prompts: Option<Vec<NamePattern>>,
    /// Patterns of resource URIs, also applied to resource templates' `uriTemplate`
    /// (`when[].resources`).
    pub resources: Option<Vec<NamePattern>>,
}

impl Allow {
    /// Whether the tool `name` (un-prefixed) may be listed and called.
    pub fn tool(&self, name: &str) -> bool {
        allows(self.tools.as_deref(), name)
    }

    /// Whether the prompt `name` (un-prefixed) may be listed and got.
    pub fn prompt(&self, name: &str) -> bool {
        allows(self.prompts.as_deref(), name)
    }

    /// Whether the resource `uri` (un-prefixed) may be listed, read and subscribed to;
    /// also used for a resource template's `uriTemplate` string.
    pub fn resource(&self, uri: &str) -> bool {
        allows(self.resources.as_deref(), uri)
    }

    /// Whether no list is given at all, so that nothing needs filtering. A list that
    /// happens to match everything (such as `["*"]`) still counts as a restriction.
    pub fn is_unrestricted(&self) -> bool {
        self.tools.is_none() && self.prompts.is_none() && self.resources.is_none()
    }
}

/// `None` allows everything; a list allows what any of its patterns matches.
fn allows(patterns: Option<&[NamePattern]>, name: &str) -> bool {
    patterns.is_none_or(|patterns| patterns.iter().any(|pattern| pattern.matches(name)))
}

/// A glob pattern: `*` any run, `?` one character, the rest literal.
///
/// `*` matches any run of characters, including none and including `/`; `?` matches
/// exactly one character (a Unicode scalar value, not a byte); every other character,
/// `[`, `]` and `\` included, matches only itself. The whole name must match.
/// Matching takes at most O(pattern length × name length) steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern(String);

impl NamePattern {
    /// The pattern as written; every string is a valid pattern.
    pub fn new(pattern: &str) -> Self {
        Self(pattern.to_owned())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the whole of `name` matches the pattern.
    pub fn matches(&self, name: &str) -> bool {
        // The classic two-pointer wildcard match: on a mismatch, go back to the
        // last `*` and let it swallow one more character. Earlier stars never
        // need revisiting (a later star can absorb whatever they would have), so
        // each star restart advances through the name at most once: O(n·m).
        let pattern = self.0.as_str();
        let (mut p, mut n) = (0, 0);
        // Just after the last `*` seen, and where in `name` its match ends.
        let mut star: Option<(usize, usize)> = None;
        loop {
            match (char_at(pattern, p), char_at(name, n)) {
                (Some('*'), _) => {
                    p += 1;
                    star = Some((p, n));
                }
                (Some(expected), Some(found)) if expected == '?' || expected == found => {
                    p += expected.len_utf8();
                    n += found.len_utf8();
                }
                (None, None) => return true,
                _ => {
                    let Some((after_star, swallowed)) = star else {
                        return false;
                    };
                    let Some(next) = char_at(name, swallowed) else {
                        return false;
                    };
                    let swallowed = swallowed + next.len_utf8();
                    star = Some((after_star, swallowed));
                    (p, n) = (after_star, swallowed);
                }
            }
        }
    }
}

/// The character starting at byte `at` of `text`, if any.
fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|rest| rest.chars().next())
}

#[cfg(test)]
mod tests;
