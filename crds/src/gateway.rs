//! `McpGateway`: one MCP endpoint, and the data plane that serves it.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::GatewayAuth;
use crate::toolkit::{ISO_DURATION_MESSAGE, ISO_DURATION_RULE};

/// Port the listener uses when `spec.listener.port` is left out.
pub const DEFAULT_LISTENER_PORT: i32 = 7114;
/// Path the listener serves when `spec.listener.path` is left out.
pub const DEFAULT_LISTENER_PATH: &str = "/mcp";
/// Data-plane replicas when `spec.replicas` is left out.
pub const DEFAULT_REPLICAS: i32 = 1;
/// Key read from the session-key Secret when `spec.sessionKeySecretRef.key` is left out.
pub const DEFAULT_SESSION_KEY: &str = "session.key";

// NB: `Option` fields carry `#[schemars(with = "T")]` so that the schema does not mark them
// `nullable`: the API server then drops an explicit `null`, which means "left out", instead
// of storing it (and CEL `has()` never sees a null).

/// Desired state of an `McpGateway`: where clients reach it, how its data plane is
/// deployed, and which `McpToolkit`s it serves.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
// NB: clippy reads the repeated keys of kube's `printcolumn(...)` lists as duplicated
// attributes.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "mcpgw.dev",
    version = "v1alpha1",
    kind = "McpGateway",
    namespaced,
    status = "McpGatewayStatus",
    derive = "PartialEq",
    // NB: not `mcpgw`, the category: kubectl expands categories before short names.
    shortname = "mcpgtw",
    category = "mcpgw",
    doc = "An MCP gateway: one Streamable HTTP endpoint that aggregates the McpToolkits \
           (upstream MCP servers) of its namespace that name it. The operator renders it into \
           a binding config and runs the data plane (a Deployment and a Service) that serves it.",
    validation = Rule::new(
        "self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')"
    )
    .message(
        "McpGateway names must be DNS-1035 labels (lower-case letters, digits and '-', \
         starting with a letter, at most 63 characters): the gateway's Service is named after it"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the data-plane replicas serve the current spec"
    ),
    printcolumn(
        name = "Toolkits",
        type_ = "string",
        json_path = ".status.toolkits",
        description = "Names of the toolkits the gateway serves"
    ),
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".status.endpoint",
        description = "URL of the MCP endpoint inside the cluster"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct McpGatewaySpec {
    /// Where the data plane accepts MCP clients. Default: port 7114, path `/mcp`.
    #[serde(default)]
    pub listener: Listener,
    /// Number of data-plane replicas, at least 0. Default 1. With more than one, set
    /// `sessionKeySecretRef` so that any replica can serve any session.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0))]
    pub replicas: i32,
    /// Container image of the data plane, e.g. `ghcr.io/mcpgw/mcpgw-dataplane:0.1.0`.
    /// Default: the data-plane image the operator was installed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 1024))]
    pub image: Option<String>,
    /// Compute resources (requests and limits) of the data-plane container. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ResourceRequirements")]
    pub resources: Option<ResourceRequirements>,
    /// Threads the data plane serves requests on (`--worker-threads`). Left out: one when
    /// the container may use at most 2 CPUs (its CPU limit, else the node's CPUs), else one
    /// per CPU. 1 serves on one thread with no hand-offs between threads: lower latency
    /// and less CPU per call; more threads serve more calls at once on more cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i32", range(min = 1, max = 256))]
    pub worker_threads: Option<u16>,
    /// Which of the McpToolkits that name this gateway (`spec.gateway`) it serves, by their
    /// labels. Left out: all of them. An McpToolkit that names the gateway but does not match
    /// is not served and reports `Accepted=False` with reason `NotSelected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "LabelSelector")]
    pub toolkit_selector: Option<LabelSelector>,
    /// The Secret, in the gateway's namespace, holding the data plane's 32-byte session key
    /// (32 raw bytes, 64 hex digits or the base64 of 32 bytes; e.g. made with
    /// `openssl rand -hex 32`). It is mounted into every replica, so that any replica can
    /// serve any session. Left out: each replica generates a random key when it starts, so
    /// a session lives only on the replica that created it and ends when that replica
    /// restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SecretKeyReference")]
    pub session_key_secret_ref: Option<SecretKeyReference>,
    /// Type of the Service in front of the data plane: `ClusterIP` (reachable inside the
    /// cluster only), `NodePort` or `LoadBalancer`. Default `ClusterIP`.
    #[serde(default)]
    pub service_type: ServiceType,
    /// How callers are authenticated: a JWT guard (issuer, audiences, keys) and the OAuth
    /// protected-resource metadata. Left out: every caller is anonymous, and toolkits with
    /// `requiredRoles` or `forwardCallerToken` are not served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "GatewayAuth")]
    pub auth: Option<GatewayAuth>,
    /// Answer `tools/list`, `prompts/list`, `resources/list` and `resources/templates/list`
    /// from a per-replica cache of each toolkit's pages for `ttl`. It is correct per caller
    /// (keyed by toolkit, version, client capabilities and, for toolkits that get the
    /// caller's token, the caller; roles are applied after it) and dropped on a toolkit's
    /// `list_changed` and when the toolkit's spec changes. Left out: no cache; every list
    /// asks the toolkits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ListingCache")]
    pub listing_cache: Option<ListingCache>,
    /// Where the data plane sends its traces (a span per client request, a child per
    /// upstream exchange, W3C `traceparent` to upstreams), rendered into the config's
    /// `telemetry` section. Left out: no traces. Metrics need nothing here: they are
    /// scraped from `/metrics` on the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Telemetry")]
    pub telemetry: Option<Telemetry>,
    /// Bounds on each client of the data plane: how long a connection may take to send a
    /// request's headers or stay idle, and how many sessions and standalone SSE streams one
    /// caller may hold. Left out: the defaults of each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ClientLimits")]
    pub client_limits: Option<ClientLimits>,
}

/// Bounds on each client of a gateway's data plane.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientLimits {
    /// Longest a client may take to send a request's headers (on HTTP/1.1 also the longest
    /// a kept-alive connection waits for its next request), as an ISO-8601 duration longer
    /// than zero and at most `PT5M`; then the connection is closed. Default `PT10S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(ISO_DURATION_RULE).message(ISO_DURATION_MESSAGE))]
    pub header_read_timeout: Option<String>,
    /// Longest a connection may stay open with no request in flight (an open SSE stream is
    /// one), as an ISO-8601 duration longer than zero and at most `PT1H`. Default `PT60S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(ISO_DURATION_RULE).message(ISO_DURATION_MESSAGE))]
    pub idle_timeout: Option<String>,
    /// The most sessions one caller may hold on a replica, 1 to 1000000. Default 1000. A
    /// caller is the identity the JWT guard established; an anonymous caller is its client
    /// IP address as the data plane sees it. Over the bound, `initialize` gets HTTP 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i32", range(min = 1, max = 1000000))]
    pub max_sessions_per_caller: Option<i32>,
    /// The most standalone SSE streams (`GET`) one caller may hold open on a replica, 1 to
    /// 1000000. Default 100. Over the bound, the `GET` gets HTTP 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i32", range(min = 1, max = 1000000))]
    pub max_streams_per_caller: Option<i32>,
}

/// Where a gateway exports traces.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Telemetry {
    /// The base URL of an OpenTelemetry collector's OTLP/HTTP receiver, e.g.
    /// `http://otel-collector.observability:4318`. Spans are posted as protobuf to
    /// `<otlpEndpoint>/v1/traces` unless `tracesPath` says otherwise.
    #[schemars(length(min = 1, max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/]+')")
        .message("must be an http:// or https:// URL"))]
    pub otlp_endpoint: String,
    /// The path traces are posted to, replacing `/v1/traces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 1024))]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("must start with /"))]
    pub traces_path: Option<String>,
}

/// The listing cache of a gateway.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingCache {
    /// How long a page is served, as an ISO-8601 duration longer than zero and at most a
    /// day, e.g. `PT5M`. Default `PT5M`.
    #[serde(default = "default_cache_ttl")]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(
        "self.matches('^[Pp]([0-9]+[Dd])?([Tt]([0-9]+[Hh])?([0-9]+[Mm])?([0-9]+([.][0-9]{1,9})?[Ss])?)?$') \
         && self.matches('[DdHhMmSs]$') && self.matches('[1-9]')"
    ).message("must be an ISO-8601 duration longer than zero, such as PT30S, PT5M or PT1H"))]
    pub ttl: String,
    /// The most pages each replica keeps, 1 to 10000000; the least useful go first.
    /// Default 10000.
    #[serde(default = "default_cache_entries")]
    #[schemars(range(min = 1, max = 10000000))]
    pub max_entries: i64,
}

impl Default for ListingCache {
    fn default() -> Self {
        Self {
            ttl: default_cache_ttl(),
            max_entries: default_cache_entries(),
        }
    }
}

/// `spec.listingCache.ttl` when left out.
pub const DEFAULT_CACHE_TTL: &str = "PT5M";

fn default_cache_ttl() -> String {
    DEFAULT_CACHE_TTL.to_owned()
}

fn default_cache_entries() -> i64 {
    10_000
}

impl Default for McpGatewaySpec {
    /// The spec an empty `spec: {}` is defaulted to.
    fn default() -> Self {
        Self {
            listener: Listener::default(),
            replicas: DEFAULT_REPLICAS,
            image: None,
            resources: None,
            worker_threads: None,
            toolkit_selector: None,
            session_key_secret_ref: None,
            service_type: ServiceType::default(),
            auth: None,
            listing_cache: None,
            telemetry: None,
            client_limits: None,
        }
    }
}

fn default_replicas() -> i32 {
    DEFAULT_REPLICAS
}

/// Where the data plane accepts MCP clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// TCP port of the data-plane container and of the Service, 1 to 65535. Default 7114.
    #[serde(default = "default_listener_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// HTTP path of the MCP endpoint: starts with `/`, no `?`, `#` or whitespace.
    /// Default `/mcp`. Other paths get 404.
    #[serde(default = "default_listener_path")]
    #[schemars(length(min = 1, max = 1024), pattern(r"^/[^?#\s]*$"))]
    pub path: String,
}

impl Default for Listener {
    fn default() -> Self {
        Self {
            port: DEFAULT_LISTENER_PORT,
            path: DEFAULT_LISTENER_PATH.to_owned(),
        }
    }
}

fn default_listener_port() -> i32 {
    DEFAULT_LISTENER_PORT
}

fn default_listener_path() -> String {
    DEFAULT_LISTENER_PATH.to_owned()
}

/// A key of a Secret in the same namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key within the Secret's data. Default `session.key`.
    #[serde(default = "default_session_key")]
    #[schemars(length(min = 1, max = 253), pattern(r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

impl SecretKeyReference {
    /// The default key (`session.key`) of the Secret `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: DEFAULT_SESSION_KEY.to_owned(),
        }
    }
}

fn default_session_key() -> String {
    DEFAULT_SESSION_KEY.to_owned()
}

/// How the data plane's Service is exposed (the Service's `spec.type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    /// Reachable only from inside the cluster.
    #[default]
    ClusterIP,
    /// Also on a port of every node.
    NodePort,
    /// Also through the cloud provider's load balancer.
    LoadBalancer,
}

/// Observed state of an `McpGateway`, written by the operator.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpGatewayStatus {
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub observed_generation: Option<i64>,
    /// `Accepted`: the spec is valid and its references resolve. `Programmed`: the binding
    /// config for this generation is rendered (ConfigMap `<gateway>-config`). `Ready`: every
    /// ready data-plane replica reports serving that config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Toolkit names (`McpToolkit` `spec.toolkit`) the rendered config serves, in the order
    /// their listings are merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toolkits: Vec<String>,
    /// URL of the MCP endpoint inside the cluster, e.g. `http://demo.default.svc:7114/mcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub endpoint: Option<String>,
    /// Number of data-plane replicas that are ready and serve the current config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i32", range(min = 0))]
    pub ready_replicas: Option<i32>,
}
