//! `McpToolkit`: one upstream MCP server, served by a gateway under a name prefix.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::auth::CredentialSecretReference;
use crate::tls::{UpstreamScheme, UpstreamTls};

/// Per-request timeout towards the upstream when `spec.timeout` is left out.
pub const DEFAULT_TIMEOUT: &str = "PT60S";
/// The CEL rule of a duration field: an ISO-8601 duration longer than zero, in the form
/// the config's parser reads.
pub(crate) const ISO_DURATION_RULE: &str = "self.matches('^[Pp]([0-9]+[Dd])?([Tt]([0-9]+[Hh])?([0-9]+[Mm])?([0-9]+([.][0-9]{1,9})?[Ss])?)?$') \
     && self.matches('[DdHhMmSs]$') && self.matches('[1-9]')";
pub(crate) const ISO_DURATION_MESSAGE: &str =
    "must be an ISO-8601 duration longer than zero, such as PT30S, PT1M30S, PT0.5S or P1D";
/// Path of the MCP endpoint on a Service when `spec.upstream.service.path` is left out.
pub const DEFAULT_UPSTREAM_PATH: &str = "/mcp";

// NB: `Option` fields carry `#[schemars(with = "T")]` so that the schema does not mark them
// `nullable`: the API server then drops an explicit `null`, which means "left out", instead
// of storing it (and CEL `has()` never sees a null).

/// Desired state of an `McpToolkit`: which gateway serves it, under which name, and where
/// its upstream MCP server is.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
// NB: clippy reads the repeated keys of kube's `printcolumn(...)` lists as duplicated
// attributes.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "mcpgw.dev",
    version = "v1alpha1",
    kind = "McpToolkit",
    namespaced,
    status = "McpToolkitStatus",
    derive = "PartialEq",
    shortname = "mcptk",
    category = "mcpgw",
    doc = "An MCP toolkit: an upstream MCP server that an McpGateway in the same namespace \
           serves. Clients see its tools and prompts as `<toolkit>__<name>` and its resources \
           as `<toolkit>+<uri>`.",
    selectable = ".spec.gateway",
    selectable = ".spec.toolkit",
    printcolumn(
        name = "Gateway",
        type_ = "string",
        json_path = ".spec.gateway",
        description = "The McpGateway that serves this toolkit"
    ),
    printcolumn(
        name = "Toolkit",
        type_ = "string",
        json_path = ".spec.toolkit",
        description = "The toolkit name: the prefix clients see"
    ),
    printcolumn(
        name = "Accepted",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Accepted\")].status",
        description = "Whether the gateway serves this toolkit"
    ),
    printcolumn(
        name = "ResolvedRefs",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"ResolvedRefs\")].status",
        description = "Whether the upstream Service and the Secrets and ConfigMaps named were found"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new(
    "!self.forwardCallerToken || !has(self.credentialSecretRef) \
     || (has(self.credentialSecretRef.header) && self.credentialSecretRef.header.lowerAscii() != 'authorization')"
).message(
    "forwardCallerToken sends the caller's token in the Authorization header, where \
     credentialSecretRef would go too: set credentialSecretRef.header to another header, \
     or drop one of the two"
))]
#[x_kube(validation = Rule::new(
    "!has(self.tls) || (has(self.upstream.url) ? self.upstream.url.startsWith('https://') \
     : (has(self.upstream.service) && has(self.upstream.service.scheme) && self.upstream.service.scheme == 'https'))"
).message(
    "tls applies to an https upstream only: use an upstream.url starting with https://, or \
     set upstream.service.scheme to https"
))]
#[serde(rename_all = "camelCase")]
pub struct McpToolkitSpec {
    /// Name of the McpGateway, in the same namespace, that serves this toolkit.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub gateway: String,
    /// The toolkit name: the prefix clients see (`<toolkit>__<tool>`). A DNS-1123 label:
    /// lower-case letters, digits and `-`, starting and ending with a letter or digit, at
    /// most 63 characters. Unique within the gateway; immutable.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("toolkit name is immutable"))]
    pub toolkit: String,
    /// The upstream MCP server (Streamable HTTP): exactly one of `url` and `service`.
    pub upstream: Upstream,
    /// The tools clients may see and call: patterns of the upstream's tool names, without
    /// the toolkit prefix. `*` matches any run of characters, `?` one character, anything
    /// else itself; a pattern must match the whole name. Left out: every tool; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 512)))]
    pub tools: Option<Vec<String>>,
    /// The prompts clients may see and get: patterns of the upstream's prompt names, as for
    /// `tools`. Left out: every prompt; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 512)))]
    pub prompts: Option<Vec<String>>,
    /// The resources clients may see, read and subscribe to: patterns, as for `tools`, of the
    /// upstream's resource URIs (e.g. `demo://resource/static/*`); they apply to resource
    /// templates' `uriTemplate` too. Left out: every resource; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 512)))]
    pub resources: Option<Vec<String>>,
    /// Per-request timeout towards the upstream, as an ISO-8601 duration longer than zero
    /// (`PnDTnHnMn.nS`, e.g. `PT30S`, `PT1M30S`, `PT0.5S`, `P1D`). It restarts whenever the
    /// upstream sends anything on the request's stream. Default `PT60S`.
    #[serde(default = "default_timeout")]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(ISO_DURATION_RULE).message(ISO_DURATION_MESSAGE))]
    pub timeout: String,
    /// The roles (from the gateway's `auth.jwt.rolesClaim`) a caller needs to see and call
    /// this toolkit: all of them. `[]`: any authenticated caller. Left out: anyone,
    /// anonymous callers too. Needs the gateway's `auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Vec<String>",
        length(max = 64),
        inner(length(min = 1, max = 256), pattern(r"^\S+$"))
    )]
    pub required_roles: Option<Vec<String>>,
    /// Forward the caller's own token (validated by the gateway's JWT guard) to this
    /// toolkit as `Authorization: Bearer <token>`. Default `false`: nothing of the caller's
    /// `Authorization` header reaches the toolkit. Needs the gateway's `auth`.
    #[serde(default)]
    pub forward_caller_token: bool,
    /// The gateway's own credential for this toolkit: a key of a Secret in the toolkit's
    /// namespace. The Secret is mounted into the data plane (its value never goes into the
    /// config), which re-reads it when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "CredentialSecretReference")]
    pub credential_secret_ref: Option<CredentialSecretReference>,
    /// Where a caller who lacks the credentials this toolkit needs can get them, an `https`
    /// (or `http`) URL: such a caller is sent there by a URL-mode elicitation rather than
    /// getting a bare failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 2048),
        pattern(r"^https?://[^\s/?#@]+([/?][^\s#]*)?$")
    )]
    pub authorization_url: Option<String>,
    /// TLS towards the upstream, which must be `https` (a `url` starting with `https://`,
    /// or a `service` with `scheme: https`): a CA bundle to trust, a client certificate,
    /// the server name, ALPN and HTTP versions. Left out: an `https` upstream is verified
    /// against the system's roots and its host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "UpstreamTls")]
    pub tls: Option<UpstreamTls>,
    /// The most requests this toolkit may have in flight at once, from every caller
    /// together, from 1 to 100000. A request over the bound is refused at once: the caller
    /// gets HTTP 503 with `Retry-After` and a JSON-RPC error, and lists leave the toolkit
    /// out. Left out: no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i32", range(min = 1, max = 100000))]
    pub max_concurrent_requests: Option<i32>,
    /// The most requests sent to this toolkit in a period, from every caller together: at
    /// most `requests` in any `per`, in bursts of up to `requests`. A request over the rate
    /// is refused at once: the caller gets HTTP 429 with `Retry-After` and a JSON-RPC error,
    /// and lists leave the toolkit out. Left out: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "RateLimit")]
    pub rate_limit: Option<RateLimit>,
    /// Stop sending requests to this toolkit while it keeps failing: after `failures`
    /// consecutive failed requests (unreachable, too slow, 5xx or garbage) every request is
    /// refused at once for `coolDown` (HTTP 503 with `Retry-After`; lists leave the toolkit
    /// out), then one probe request decides whether it closes or opens again. Left out: no
    /// breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "CircuitBreaker")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Send a request that is safe to repeat (`initialize`, `ping`, the lists,
    /// `resources/read`, `prompts/get`, `completion/complete`; never `tools/call`) again
    /// when the toolkit could not take it (unreachable, connection closed or reset, 502,
    /// 503, 504), after a jittered wait that doubles from `backoff`. Left out: no retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Retries")]
    pub retries: Option<Retries>,
}

/// A toolkit's retries of requests that are safe to repeat.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retries {
    /// Tries after the first, from 1 to 5.
    #[schemars(range(min = 1, max = 5))]
    pub attempts: i32,
    /// The longest wait before the first retry, as an ISO-8601 duration longer than zero
    /// and at most `PT10S`; it doubles for each further retry. Default `PT0.1S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(ISO_DURATION_RULE).message(ISO_DURATION_MESSAGE))]
    pub backoff: Option<String>,
}

/// A toolkit's rate limit.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests allowed per period, from 1 to 1000000; also the largest burst.
    #[schemars(range(min = 1, max = 1000000))]
    pub requests: i32,
    /// The period, as an ISO-8601 duration longer than zero and at most `PT1H` (e.g.
    /// `PT1M`). Default `PT1S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(ISO_DURATION_RULE).message(ISO_DURATION_MESSAGE))]
    pub per: Option<String>,
}

/// A toolkit's circuit breaker.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// Consecutive failed requests that open the breaker, from 1 to 1000. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i32", range(min = 1, max = 1000))]
    pub failures: Option<i32>,
    /// How long the breaker stays open before a probe, as an ISO-8601 duration longer than
    /// zero and at most `PT1H` (e.g. `PT30S`). Default `PT30S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(ISO_DURATION_RULE).message(ISO_DURATION_MESSAGE))]
    pub cool_down: Option<String>,
}

impl McpToolkitSpec {
    /// The toolkit `toolkit` of the gateway `gateway`, reached at `upstream`, with
    /// everything allowed and the default timeout.
    pub fn new(gateway: impl Into<String>, toolkit: impl Into<String>, upstream: Upstream) -> Self {
        Self {
            gateway: gateway.into(),
            toolkit: toolkit.into(),
            upstream,
            tools: None,
            prompts: None,
            resources: None,
            timeout: default_timeout(),
            required_roles: None,
            forward_caller_token: false,
            credential_secret_ref: None,
            authorization_url: None,
            tls: None,
            max_concurrent_requests: None,
            rate_limit: None,
            circuit_breaker: None,
            retries: None,
        }
    }
}

fn default_timeout() -> String {
    DEFAULT_TIMEOUT.to_owned()
}

/// Where a toolkit's upstream MCP server is: exactly one of `url` and `service`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.url) != has(self.service)")
    .message("set exactly one of upstream.url and upstream.service"))]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    /// Absolute `http` or `https` URL of the MCP endpoint, e.g.
    /// `http://everything.tools.svc:3001/mcp`. No user info (credentials never go in a
    /// URL) and no fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 2048),
        pattern(r"^https?://[^\s/?#@]+([/?][^\s#]*)?$")
    )]
    pub url: Option<String>,
    /// A Service in the toolkit's namespace; the gateway calls
    /// `<scheme>://<name>.<namespace>.svc:<port><path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ServiceReference")]
    pub service: Option<ServiceReference>,
}

impl Upstream {
    /// An upstream at this URL.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            service: None,
        }
    }

    /// An upstream behind this Service.
    pub fn service(service: ServiceReference) -> Self {
        Self {
            url: None,
            service: Some(service),
        }
    }
}

/// A port of a Service in the toolkit's namespace, and the path of the MCP endpoint on it.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReference {
    /// Name of the Service.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// The Service's port number (its `port`, not the `targetPort`), 1 to 65535.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// HTTP path of the MCP endpoint: starts with `/`, no fragment or whitespace.
    /// Default `/mcp`.
    #[serde(default = "default_upstream_path")]
    #[schemars(length(min = 1, max = 1024), pattern(r"^/[^#\s]*$"))]
    pub path: String,
    /// `http`, or `https` for a Service that serves TLS (see `spec.tls` for whom to
    /// trust: by default the system's roots, verified against `<name>.<namespace>.svc`).
    /// Default `http`.
    #[serde(default)]
    pub scheme: UpstreamScheme,
}

impl ServiceReference {
    /// Port `port` of the Service `name`, at the default path `/mcp`.
    pub fn new(name: impl Into<String>, port: i32) -> Self {
        Self {
            name: name.into(),
            port,
            path: default_upstream_path(),
            scheme: UpstreamScheme::Http,
        }
    }
}

fn default_upstream_path() -> String {
    DEFAULT_UPSTREAM_PATH.to_owned()
}

/// Observed state of an `McpToolkit`, written by the operator.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpToolkitStatus {
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub observed_generation: Option<i64>,
    /// `Accepted`: the named gateway exists, selects this toolkit and serves it under its
    /// name. `ResolvedRefs`: the upstream Service and port exist, and so do the Secrets and
    /// ConfigMaps it names (credential, CA bundle, client certificate) with their keys. A
    /// `False` status carries a reason saying what to fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}
