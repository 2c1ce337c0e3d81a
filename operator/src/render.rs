//! Render one McpGateway and the McpToolkits in its namespace into the data
//! plane's binding config, through the `mcpgw-config` model (the contract
//! both sides share), with a verdict for every resource involved.
//!
//! Pure: no API calls. What the cluster holds comes in as [`Inputs`], so the
//! same inputs always give byte-identical YAML (and so the same SHA-256,
//! which is how the operator recognises pods serving this config).

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use mcpgw_config::model::{self, IsoDuration};
use mcpgw_config::model::{
    Authorization, CacheOptions, Config, HttpRoute, HttpServer, McpClient, McpProxy, McpProxyRoute,
    McpServer, Store, StoreOptions, StoreType, TcpServer, ToolkitCondition,
};
use mcpgw_config::{FieldError, compile, config_sha256, to_yaml};
use mcpgw_crds::{ListingCache, McpGateway, McpGatewaySpec, McpToolkit, reason};

use crate::selector::{Selector, SelectorError};

mod auth;
mod mounts;
mod tls;

pub use auth::{CREDENTIAL_FILE, CREDENTIALS_DIR, JWKS_DIR, JWKS_FILE, JWT_GUARD, credential_path};
pub use mounts::{KeySource, Mounts, TlsFiles};
pub use tls::{CA_BUNDLE_FILE, CLIENT_CERTIFICATE_FILE, CLIENT_KEY_FILE, TLS_DIR, tls_path};

/// Where the data plane finds its config (the ConfigMap mount) and session key.
pub const CONFIG_DIR: &str = "/etc/mcpgw/config";
/// The ConfigMap key (and file name) of the binding config.
pub const CONFIG_KEY: &str = "config.yaml";
/// Where the session-key Secret is mounted.
pub const SESSION_DIR: &str = "/etc/mcpgw/session";

/// What the cluster holds that the rendering depends on.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub gateway: &'a McpGateway,
    /// Every McpToolkit in the gateway's namespace.
    pub toolkits: &'a [McpToolkit],
    /// The Services in the gateway's namespace: name → its ports.
    pub services: &'a BTreeMap<String, BTreeSet<i32>>,
    /// The Secrets the gateway and its toolkits reference that exist: name → the keys of
    /// their data (never the values).
    pub secrets: &'a BTreeMap<String, BTreeSet<String>>,
    /// The same for the ConfigMaps they reference.
    pub config_maps: &'a BTreeMap<String, BTreeSet<String>>,
}

/// One condition to set: status, reason, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Verdict {
    fn yes(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: true,
            reason,
            message: message.into(),
        }
    }

    fn no(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: false,
            reason,
            message: message.into(),
        }
    }
}

/// The verdicts of one McpToolkit that names this gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolkitVerdict {
    pub accepted: Verdict,
    pub resolved_refs: Verdict,
}

/// The outcome for one gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// `Accepted` of the gateway.
    pub accepted: Verdict,
    /// `ResolvedRefs` of the gateway: its Secrets and ConfigMaps exist.
    pub resolved_refs: Verdict,
    /// The binding config, when there is one to serve.
    pub config: Option<RenderedConfig>,
    /// `Programmed` of the gateway, as far as rendering goes.
    pub programmed: Verdict,
    /// Toolkit names served, sorted.
    pub served: Vec<String>,
    /// Per McpToolkit object name (only those whose `spec.gateway` names this gateway).
    pub toolkits: BTreeMap<String, ToolkitVerdict>,
    /// What the Deployment mounts for the config's files (empty without a config).
    pub mounts: Mounts,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedConfig {
    pub yaml: String,
    pub sha256: String,
}

/// Render `inputs` into the gateway's binding config and verdicts: check the
/// gateway itself, judge each of its toolkits, and compile those that may be
/// served.
pub fn render(inputs: &Inputs<'_>) -> Rendered {
    let gateway = inputs.gateway;
    let ours: Vec<&McpToolkit> = inputs
        .toolkits
        .iter()
        .filter(|t| t.spec.gateway == gateway.name_any())
        .collect();
    let resolved_refs = auth::gateway_refs(gateway, inputs);
    let selector = match check_gateway(gateway, &resolved_refs) {
        Ok(selector) => selector,
        Err(refusal) => return refusal.rendered(&ours, resolved_refs),
    };
    let mut judged = Judged {
        resolved_refs,
        toolkits: BTreeMap::new(),
    };
    let candidates = candidates(inputs, ours, selector.as_ref(), &mut judged.toolkits);
    program(gateway, candidates, judged)
}

/// A toolkit to try serving, with the URL the data plane is to dial.
type Candidate<'a> = (&'a McpToolkit, String);

/// Why a gateway is refused before any of its toolkits is looked at.
struct Refusal {
    reason: &'static str,
    message: String,
    /// What each of its toolkits is told.
    to_toolkits: &'static str,
}

impl Refusal {
    fn rendered(self, ours: &[&McpToolkit], resolved_refs: Verdict) -> Rendered {
        let toolkits = ours
            .iter()
            .map(|t| {
                (
                    t.name_any(),
                    not_accepted(self.reason, self.to_toolkits, None),
                )
            })
            .collect();
        let judged = Judged {
            resolved_refs,
            toolkits,
        };
        judged.unserved(
            Verdict::no(self.reason, self.message.clone()),
            Verdict::no(self.reason, self.message),
        )
    }
}

/// The gateway's own checks, in this order: its toolkitSelector is valid, and
/// its references resolve.
fn check_gateway<'g>(
    gateway: &'g McpGateway,
    resolved_refs: &Verdict,
) -> Result<Option<Selector<'g>>, Refusal> {
    let selector = gateway
        .spec
        .toolkit_selector
        .as_ref()
        .map(Selector::new)
        .transpose()
        .map_err(|SelectorError(e)| Refusal {
            reason: reason::INVALID,
            message: format!("spec.toolkitSelector: {e}"),
            to_toolkits: "the gateway's toolkitSelector is invalid",
        })?;
    if !resolved_refs.status {
        return Err(Refusal {
            reason: resolved_refs.reason,
            message: resolved_refs.message.clone(),
            to_toolkits: "the gateway is not accepted",
        });
    }
    Ok(selector)
}

/// The verdicts so far: the gateway's references, and each of its toolkits.
struct Judged {
    resolved_refs: Verdict,
    /// Per McpToolkit object name.
    toolkits: BTreeMap<String, ToolkitVerdict>,
}

impl Judged {
    /// The outcome when there is no config to serve.
    fn unserved(self, accepted: Verdict, programmed: Verdict) -> Rendered {
        Rendered {
            accepted,
            resolved_refs: self.resolved_refs,
            config: None,
            programmed,
            served: vec![],
            toolkits: self.toolkits,
            mounts: Mounts::default(),
        }
    }

    /// The outcome serving `candidates` with `config` (compiled, so valid).
    fn served(
        self,
        gateway: &McpGateway,
        candidates: &[Candidate<'_>],
        config: &Config,
    ) -> Rendered {
        let yaml = match to_yaml(config) {
            Ok(yaml) => yaml,
            Err(e) => {
                let programmed =
                    Verdict::no(reason::INVALID_CONFIG, format!("rendering YAML: {e}"));
                return self.unserved(valid_gateway(), programmed);
            }
        };
        let mut served: Vec<String> = candidates
            .iter()
            .map(|(t, _)| t.spec.toolkit.clone())
            .collect();
        served.sort();
        Rendered {
            accepted: valid_gateway(),
            resolved_refs: self.resolved_refs,
            mounts: mounts::mounts(gateway, candidates.iter().map(|(t, _)| *t)),
            config: Some(RenderedConfig {
                sha256: config_sha256(yaml.as_bytes()),
                yaml,
            }),
            programmed: Verdict::yes(
                reason::PROGRAMMED,
                format!("config rendered for {} toolkit(s)", served.len()),
            ),
            served,
            toolkits: self.toolkits,
        }
    }
}

fn valid_gateway() -> Verdict {
    Verdict::yes(reason::ACCEPTED, "the gateway is valid")
}

/// The toolkits to try serving: selected, references resolved, first holder of
/// their name (the oldest McpToolkit keeps it). Each of `ours` gets its verdict
/// in `toolkits`.
fn candidates<'a>(
    inputs: &Inputs<'_>,
    mut ours: Vec<&'a McpToolkit>,
    selector: Option<&Selector<'_>>,
    toolkits: &mut BTreeMap<String, ToolkitVerdict>,
) -> Vec<Candidate<'a>> {
    ours.sort_by_key(|t| {
        let created = t.metadata.creation_timestamp.as_ref().map(|time| time.0);
        (created, t.name_any())
    });
    let mut holders: BTreeMap<&str, String> = BTreeMap::new();
    let mut candidates = Vec::new();
    for toolkit in ours {
        let (verdict, server) = judge(toolkit, inputs, selector, &mut holders);
        toolkits.insert(toolkit.name_any(), verdict);
        candidates.extend(server.map(|server| (toolkit, server)));
    }
    candidates
}

/// One toolkit's verdicts, and the URL to dial when it is to be served.
/// `holders`: toolkit name → the McpToolkit holding it, of those judged before.
fn judge<'a>(
    toolkit: &'a McpToolkit,
    inputs: &Inputs<'_>,
    selector: Option<&Selector<'_>>,
    holders: &mut BTreeMap<&'a str, String>,
) -> (ToolkitVerdict, Option<String>) {
    let gateway = inputs.gateway;
    let refs = resolve(toolkit, inputs);
    if let Some(selector) = selector
        && !selector.matches(toolkit.labels())
    {
        let message = "the gateway's toolkitSelector does not match this McpToolkit's labels";
        return (
            not_accepted(reason::NOT_SELECTED, message, Some(refs)),
            None,
        );
    }
    if let Some(holder) = holders.get(toolkit.spec.toolkit.as_str()) {
        let message = format!(
            "toolkit name {:?} is already used by McpToolkit {holder:?} of this gateway",
            toolkit.spec.toolkit
        );
        let verdict = not_accepted(reason::DUPLICATE_TOOLKIT_NAME, message, Some(refs));
        return (verdict, None);
    }
    holders.insert(&toolkit.spec.toolkit, toolkit.name_any());
    if let Some(accepted) = auth::needs_gateway_auth(toolkit, gateway) {
        let verdict = ToolkitVerdict {
            accepted,
            resolved_refs: refs,
        };
        return (verdict, None);
    }
    let namespace = gateway.namespace().unwrap_or_default();
    let server = server_url(toolkit, &namespace).filter(|_| refs.status);
    let accepted = match server {
        Some(_) => Verdict::yes(reason::ACCEPTED, "served by the gateway"),
        None => Verdict::yes(reason::ACCEPTED, "served once its references resolve"),
    };
    let verdict = ToolkitVerdict {
        accepted,
        resolved_refs: refs,
    };
    (verdict, server)
}

/// Compile the candidates into the binding config. A toolkit the config rejects
/// is refused in the config's own words and the rest compiled again; errors
/// that are no single toolkit's fault refuse the gateway.
fn program(
    gateway: &McpGateway,
    mut candidates: Vec<Candidate<'_>>,
    mut judged: Judged,
) -> Rendered {
    loop {
        if candidates.is_empty() {
            let message =
                "no McpToolkit is served: create one whose spec.gateway names this gateway";
            return judged.unserved(valid_gateway(), Verdict::no(reason::NO_TOOLKITS, message));
        }
        let config = binding_config(gateway, &candidates);
        let errors = match compile(&config) {
            Ok(_) => return judged.served(gateway, &candidates, &config),
            Err(e) => e.errors,
        };
        if !refuse_rejected(&mut candidates, &errors, &mut judged.toolkits) {
            // Not a single toolkit's fault: the gateway's own settings.
            let message = errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            return judged.unserved(
                Verdict::no(reason::INVALID, message.clone()),
                Verdict::no(reason::INVALID_CONFIG, message),
            );
        }
    }
}

/// Drop from `candidates` each toolkit that `errors` are about (its client
/// binding, its TLS chain or its route), telling it why in `toolkits`. Whether any
/// was dropped.
fn refuse_rejected(
    candidates: &mut Vec<Candidate<'_>>,
    errors: &[FieldError],
    toolkits: &mut BTreeMap<String, ToolkitVerdict>,
) -> bool {
    let before = candidates.len();
    // Routes are rendered in toolkit-name order: a route's index names its toolkit.
    let mut names: Vec<String> = candidates
        .iter()
        .map(|(t, _)| t.spec.toolkit.clone())
        .collect();
    names.sort_unstable();
    candidates.retain(|(toolkit, _)| {
        let name = &toolkit.spec.toolkit;
        let bindings: Vec<String> = std::iter::once(client_binding(name))
            .chain(tls::binding_names(name))
            .map(|binding| format!("bindings.{binding}"))
            .collect();
        let route = names
            .binary_search(&toolkit.spec.toolkit)
            .ok()
            .map(|index| format!("bindings.north_mcp_proxy.routes[{index}]"));
        let under = |path: &str, prefix: &str| {
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        };
        let mine: Vec<_> = errors
            .iter()
            .filter(|e| {
                bindings.iter().any(|b| under(&e.path, b))
                    || route.as_ref().is_some_and(|r| under(&e.path, r))
            })
            .collect();
        if mine.is_empty() {
            return true;
        }
        // NB: each error keeps the path of the rendered config's field, so a
        // user comparing it with the ConfigMap finds the field at once.
        let message = mine
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        if let Some(v) = toolkits.get_mut(&toolkit.name_any()) {
            v.accepted = Verdict::no(
                reason::INVALID,
                format!("the gateway cannot serve this upstream: {message}"),
            );
        }
        false
    });
    candidates.len() != before
}

fn not_accepted(
    reason: &'static str,
    message: impl Into<String>,
    refs: Option<Verdict>,
) -> ToolkitVerdict {
    ToolkitVerdict {
        accepted: Verdict::no(reason, message),
        resolved_refs: refs.unwrap_or_else(|| Verdict::yes(reason::RESOLVED_REFS, "not checked")),
    }
}

/// `ResolvedRefs`: a URL needs nothing; a Service must exist with the port; a
/// credential Secret, a CA bundle and a client certificate must exist with their keys.
fn resolve(toolkit: &McpToolkit, inputs: &Inputs<'_>) -> Verdict {
    let service = resolve_service(toolkit, inputs);
    if !service.status {
        return service;
    }
    auth::missing_credential(toolkit, inputs)
        .or_else(|| tls::missing(toolkit, inputs))
        .unwrap_or(service)
}

fn resolve_service(toolkit: &McpToolkit, inputs: &Inputs<'_>) -> Verdict {
    let Some(service) = &toolkit.spec.upstream.service else {
        return Verdict::yes(reason::RESOLVED_REFS, "the upstream is a URL");
    };
    match inputs.services.get(&service.name) {
        None => Verdict::no(
            reason::SERVICE_NOT_FOUND,
            format!("Service {:?} not found in this namespace", service.name),
        ),
        Some(ports) if !ports.contains(&service.port) => Verdict::no(
            reason::SERVICE_PORT_NOT_FOUND,
            format!("Service {:?} has no port {}", service.name, service.port),
        ),
        Some(_) => Verdict::yes(
            reason::RESOLVED_REFS,
            format!("Service {:?} port {}", service.name, service.port),
        ),
    }
}

/// The upstream URL the data plane dials.
fn server_url(toolkit: &McpToolkit, namespace: &str) -> Option<String> {
    match (&toolkit.spec.upstream.url, &toolkit.spec.upstream.service) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(s)) => Some(format!(
            "{}://{}.{namespace}.svc:{}{}",
            s.scheme.as_str(),
            s.name,
            s.port,
            s.path
        )),
        (None, None) => None,
    }
}

fn client_binding(toolkit: &str) -> String {
    format!("south_mcp_client_{toolkit}")
}

/// The store of `spec.listingCache`.
const CACHE_STORE: &str = "cache";
/// The name of the config's one exporter.
const OTLP_EXPORTER: &str = "otlp";

/// The gateway's proxy: its routes, and the listing cache when the spec asks for one.
fn proxy(spec: &McpGatewaySpec, routes: Vec<McpProxyRoute>) -> McpProxy {
    let mut proxy = McpProxy::new(routes);
    proxy.options.cache = spec.listing_cache.as_ref().map(|cache| CacheOptions {
        store: CACHE_STORE.to_owned(),
        // NB: the API server's pattern already refuses what the parser would;
        // the default stands in for the impossible rest.
        ttl: cache
            .ttl
            .parse::<IsoDuration>()
            .unwrap_or_else(|_| IsoDuration::from(std::time::Duration::from_secs(300))),
    });
    proxy
}

/// A memory store of `cache.maxEntries` pages.
fn cache_store(cache: &ListingCache) -> Store {
    Store {
        store_type: StoreType::Memory,
        options: Some(StoreOptions {
            max_entries: u64::try_from(cache.max_entries).ok(),
        }),
    }
}

/// The binding config (Zilla vocabulary) serving `toolkits`, in toolkit-name order:
/// the north chain, then each toolkit's mcp client followed by its TLS chain when
/// it has `spec.tls`.
fn binding_config(gateway: &McpGateway, toolkits: &[Candidate<'_>]) -> Config {
    let spec = &gateway.spec;
    let mut sorted: Vec<_> = toolkits.iter().collect();
    sorted.sort_by(|a, b| a.0.spec.toolkit.cmp(&b.0.spec.toolkit));
    let routes = sorted.iter().map(|(toolkit, _)| route(toolkit)).collect();
    let mut config = north_chain(gateway, routes);
    config.telemetry = spec.telemetry.as_ref().map(telemetry);
    if let Some(cache) = &spec.listing_cache {
        config
            .stores
            .insert(CACHE_STORE.to_owned(), cache_store(cache));
    }
    for (toolkit, url) in sorted {
        config = with_toolkit_client(config, toolkit, url);
    }
    config
}

/// The config's `telemetry`: one OTLP/HTTP exporter of traces to the gateway's collector.
fn telemetry(spec: &mcpgw_crds::Telemetry) -> model::Telemetry {
    let exporter = model::Exporter {
        exporter_type: model::ExporterType::Otlp,
        options: model::OtlpOptions {
            signals: None,
            endpoint: model::OtlpEndpoint {
                protocol: None,
                location: spec.otlp_endpoint.clone(),
                overrides: spec.traces_path.clone().map(|traces| model::OtlpOverrides {
                    traces: Some(traces),
                }),
            },
        },
    };
    model::Telemetry {
        exporters: [(OTLP_EXPORTER.to_owned(), exporter)].into_iter().collect(),
    }
}

/// The config named after the gateway, with its guard and the north chain:
/// tcp server → http server → mcp server → mcp proxy (routing to `routes`).
fn north_chain(gateway: &McpGateway, routes: Vec<McpProxyRoute>) -> Config {
    let spec = &gateway.spec;
    let port =
        u16::try_from(spec.listener.port).unwrap_or(mcpgw_crds::DEFAULT_LISTENER_PORT as u16);
    let mut config = Config::new(format!(
        "{}/{}",
        gateway.namespace().unwrap_or_default(),
        gateway.name_any()
    ));
    if let Some(gateway_auth) = &spec.auth {
        config = config.with_guard(JWT_GUARD, auth::guard(&gateway_auth.jwt));
    }
    config
        .with_binding(
            "north_tcp_server",
            TcpServer::new("0.0.0.0", port, "north_http_server"),
        )
        .with_binding("north_http_server", http_server(spec))
        .with_binding("north_mcp_server", mcp_server(spec))
        .with_binding("north_mcp_proxy", proxy(spec, routes))
}

/// The http server: the listener's path, and the connection bounds of `clientLimits`.
fn http_server(spec: &McpGatewaySpec) -> HttpServer {
    let mut http = HttpServer::new([HttpRoute::path(&spec.listener.path, "north_mcp_server")]);
    if let Some(limits) = &spec.client_limits {
        // NB: the API server's rules refuse a duration the config parser would not read.
        let duration = |d: &Option<String>| d.as_deref().and_then(|d| d.parse().ok());
        http.options.header_read_timeout = duration(&limits.header_read_timeout);
        http.options.idle_timeout = duration(&limits.idle_timeout);
    }
    http
}

/// The mcp server: its session key file, the per-caller bounds of `clientLimits`
/// and, on a guarded gateway, the authorization and the protected-resource metadata.
fn mcp_server(spec: &McpGatewaySpec) -> McpServer {
    let mut server = McpServer::new("north_mcp_proxy");
    if let Some(limits) = &spec.client_limits {
        // NB: the API server keeps these in range; a negative one becomes 0, which the
        // config refuses in its own words.
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        server.options.max_sessions_per_caller = limits.max_sessions_per_caller.map(count);
        server.options.max_streams_per_caller = limits.max_streams_per_caller.map(count);
    }
    if let Some(secret) = &spec.session_key_secret_ref {
        server.options.session_key = Some(format!("{SESSION_DIR}/{}", secret.key));
    }
    if let Some(gateway_auth) = &spec.auth {
        server
            .options
            .authorization
            .insert(JWT_GUARD.to_owned(), Authorization::bearer());
        server.options.resource_metadata = gateway_auth
            .resource_metadata
            .as_ref()
            .map(auth::resource_metadata);
    }
    server
}

/// The proxy's route to a toolkit: its name, its filters, and its roles.
fn route(toolkit: &McpToolkit) -> McpProxyRoute {
    let s = &toolkit.spec;
    let mut condition = ToolkitCondition::new(&s.toolkit);
    if let Some(p) = &s.tools {
        condition = condition.with_tools(p.clone());
    }
    if let Some(p) = &s.prompts {
        condition = condition.with_prompts(p.clone());
    }
    if let Some(p) = &s.resources {
        condition = condition.with_resources(p.clone());
    }
    let route = McpProxyRoute::new(condition, client_binding(&s.toolkit));
    match &s.required_roles {
        Some(roles) => route.guarded(JWT_GUARD, roles.iter().cloned()),
        None => route,
    }
}

/// `config` with the toolkit's mcp client at `url`, and after it the explicit
/// http → tls → tcp chain when the toolkit has `spec.tls`.
fn with_toolkit_client(mut config: Config, toolkit: &McpToolkit, url: &str) -> Config {
    let mut client = McpClient::new(url.to_owned());
    // NB: an unparsable timeout is left out here; the API server's pattern already
    // refuses what the config parser would.
    client.options.timeout = toolkit.spec.timeout.parse::<IsoDuration>().ok();
    // NB: the API server keeps these in range; a negative one becomes 0, which the
    // config refuses in its own words rather than dropping the limit.
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    // NB: as for the timeout, the API server's rules refuse what would not parse.
    let duration = |d: &Option<String>| d.as_deref().and_then(|d| d.parse().ok());
    let spec = &toolkit.spec;
    client.options.max_concurrent_requests = spec.max_concurrent_requests.map(count);
    client.options.rate_limit = spec.rate_limit.as_ref().map(|rate| model::RateLimit {
        requests: count(rate.requests),
        per: duration(&rate.per),
    });
    client.options.circuit_breaker =
        spec.circuit_breaker
            .as_ref()
            .map(|breaker| model::CircuitBreaker {
                failures: breaker.failures.map(count),
                cool_down: duration(&breaker.cool_down),
            });
    client.options.retries = spec.retries.as_ref().map(|retries| model::Retries {
        attempts: count(retries.attempts),
        backoff: duration(&retries.backoff),
    });
    if toolkit.spec.forward_caller_token {
        client
            .options
            .authorization
            .insert(JWT_GUARD.to_owned(), Authorization::bearer());
    }
    client.options.credentials = auth::credentials(toolkit);
    client.options.authorization_url = toolkit.spec.authorization_url.clone();
    let chain = tls::chain(toolkit).unwrap_or_default();
    if let Some((http_client, _)) = chain.first() {
        client = client.with_exit(http_client);
    }
    config = config.with_binding(client_binding(&toolkit.spec.toolkit), client);
    for (name, binding) in chain {
        config = config.with_binding(name, binding);
    }
    config
}

#[cfg(test)]
mod tests;
