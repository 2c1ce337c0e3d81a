//! Render one McpGateway and the McpToolkits in its namespace into the data
//! plane's binding config, through the `mcpgw-config` model (the contract
//! both sides share), with a verdict for every resource involved.
//!
//! Pure: no API calls. What the cluster holds comes in as [`Inputs`], so the
//! same inputs always give byte-identical YAML (and so the same SHA-256,
//! which is how the operator recognises pods serving this config).

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use mcpgw_config::model::IsoDuration;
use mcpgw_config::model::{
    Config, HttpRoute, HttpServer, McpClient, McpProxy, McpProxyRoute, McpServer, TcpServer,
    ToolkitCondition,
};
use mcpgw_config::{compile, config_sha256, to_yaml};
use mcpgw_crds::{McpGateway, McpToolkit, reason};

use crate::selector::{self, SelectorError};

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
    /// Whether the session-key Secret (and its key) exists, when one is referenced.
    pub session_key_found: bool,
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
    /// The binding config, when there is one to serve.
    pub config: Option<RenderedConfig>,
    /// `Programmed` of the gateway, as far as rendering goes.
    pub programmed: Verdict,
    /// Toolkit names served, sorted.
    pub served: Vec<String>,
    /// Per McpToolkit object name (only those whose `spec.gateway` names this gateway).
    pub toolkits: BTreeMap<String, ToolkitVerdict>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedConfig {
    pub yaml: String,
    pub sha256: String,
}

/// Render `inputs` into the gateway's binding config and verdicts.
pub fn render(inputs: &Inputs<'_>) -> Rendered {
    let gateway = inputs.gateway;
    let spec = &gateway.spec;
    let mut toolkits = BTreeMap::new();
    let ours: Vec<&McpToolkit> = inputs
        .toolkits
        .iter()
        .filter(|t| t.spec.gateway == gateway.name_any())
        .collect();

    let refused = |reason: &'static str,
                   message: String,
                   toolkits: &mut BTreeMap<String, ToolkitVerdict>| Rendered {
        accepted: Verdict::no(reason, message.clone()),
        config: None,
        programmed: Verdict::no(reason, message),
        served: vec![],
        toolkits: std::mem::take(toolkits),
    };
    let selector = match spec
        .toolkit_selector
        .as_ref()
        .map(selector::Selector::new)
        .transpose()
    {
        Ok(s) => s,
        Err(SelectorError(e)) => {
            let message = format!("spec.toolkitSelector: {e}");
            for t in &ours {
                toolkits.insert(
                    t.name_any(),
                    not_accepted(
                        reason::INVALID,
                        "the gateway's toolkitSelector is invalid",
                        None,
                    ),
                );
            }
            return refused(reason::INVALID, message, &mut toolkits);
        }
    };
    if spec.session_key_secret_ref.is_some() && !inputs.session_key_found {
        let secret = spec
            .session_key_secret_ref
            .as_ref()
            .map(|r| (r.name.as_str(), r.key.as_str()));
        let (name, key) = secret.unwrap_or_default();
        let message =
            format!("spec.sessionKeySecretRef: Secret {name:?} with key {key:?} not found");
        for t in &ours {
            toolkits.insert(
                t.name_any(),
                not_accepted(
                    reason::SECRET_NOT_FOUND,
                    "the gateway is not accepted",
                    None,
                ),
            );
        }
        return refused(reason::SECRET_NOT_FOUND, message, &mut toolkits);
    }

    // Candidates: selected, references resolved, first holder of their name.
    let mut candidates: Vec<(&McpToolkit, String)> = Vec::new();
    let mut by_age = ours.clone();
    by_age.sort_by(|a, b| {
        (
            a.metadata.creation_timestamp.as_ref().map(|t| t.0),
            a.name_any(),
        )
            .cmp(&(
                b.metadata.creation_timestamp.as_ref().map(|t| t.0),
                b.name_any(),
            ))
    });
    let mut holders: BTreeMap<&str, String> = BTreeMap::new();
    for toolkit in by_age {
        let name = toolkit.name_any();
        let refs = resolve(toolkit, inputs);
        if let Some(selector) = &selector
            && !selector.matches(toolkit.labels())
        {
            toolkits.insert(
                name,
                not_accepted(
                    reason::NOT_SELECTED,
                    "the gateway's toolkitSelector does not match this McpToolkit's labels",
                    Some(refs),
                ),
            );
            continue;
        }
        if let Some(holder) = holders.get(toolkit.spec.toolkit.as_str()) {
            let message = format!(
                "toolkit name {:?} is already used by McpToolkit {holder:?} of this gateway",
                toolkit.spec.toolkit
            );
            toolkits.insert(
                name,
                not_accepted(reason::DUPLICATE_TOOLKIT_NAME, message, Some(refs)),
            );
            continue;
        }
        holders.insert(&toolkit.spec.toolkit, name.clone());
        let server = match (
            &refs.status,
            server_url(toolkit, &gateway.namespace().unwrap_or_default()),
        ) {
            (true, Some(url)) => url,
            _ => {
                toolkits.insert(
                    name,
                    ToolkitVerdict {
                        accepted: Verdict::yes(
                            reason::ACCEPTED,
                            "served once its references resolve",
                        ),
                        resolved_refs: refs,
                    },
                );
                continue;
            }
        };
        toolkits.insert(
            name.clone(),
            ToolkitVerdict {
                accepted: Verdict::yes(reason::ACCEPTED, "served by the gateway"),
                resolved_refs: refs,
            },
        );
        candidates.push((toolkit, server));
    }

    // Compile; a toolkit the config rejects is refused with the config's own words.
    loop {
        if candidates.is_empty() {
            let message =
                "no McpToolkit is served: create one whose spec.gateway names this gateway"
                    .to_owned();
            return Rendered {
                accepted: Verdict::yes(reason::ACCEPTED, "the gateway is valid"),
                config: None,
                programmed: Verdict::no(reason::NO_TOOLKITS, message),
                served: vec![],
                toolkits,
            };
        }
        let config = binding_config(gateway, &candidates);
        let errors = match compile(&config) {
            Ok(_) => {
                let yaml = match to_yaml(&config) {
                    Ok(y) => y,
                    Err(e) => {
                        return Rendered {
                            accepted: Verdict::yes(reason::ACCEPTED, "the gateway is valid"),
                            config: None,
                            programmed: Verdict::no(
                                reason::INVALID_CONFIG,
                                format!("rendering YAML: {e}"),
                            ),
                            served: vec![],
                            toolkits,
                        };
                    }
                };
                let mut served: Vec<String> = candidates
                    .iter()
                    .map(|(t, _)| t.spec.toolkit.clone())
                    .collect();
                served.sort();
                return Rendered {
                    accepted: Verdict::yes(reason::ACCEPTED, "the gateway is valid"),
                    config: Some(RenderedConfig {
                        sha256: config_sha256(yaml.as_bytes()),
                        yaml,
                    }),
                    programmed: Verdict::yes(
                        reason::PROGRAMMED,
                        format!("config rendered for {} toolkit(s)", served.len()),
                    ),
                    served,
                    toolkits,
                };
            }
            Err(e) => e.errors,
        };
        let before = candidates.len();
        candidates.retain(|(toolkit, _)| {
            let prefix = format!("bindings.{}.", client_binding(&toolkit.spec.toolkit));
            let mine: Vec<_> = errors
                .iter()
                .filter(|e| e.path.starts_with(&prefix) || e.path == prefix.trim_end_matches('.'))
                .collect();
            if mine.is_empty() {
                return true;
            }
            let message = mine
                .iter()
                .map(|e| e.message.clone())
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
        if candidates.len() == before {
            // Not a single toolkit's fault: the gateway's own settings.
            let message = errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            return Rendered {
                accepted: Verdict::no(reason::INVALID, message.clone()),
                config: None,
                programmed: Verdict::no(reason::INVALID_CONFIG, message),
                served: vec![],
                toolkits,
            };
        }
    }
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

/// `ResolvedRefs`: a URL needs nothing; a Service must exist with the port.
fn resolve(toolkit: &McpToolkit, inputs: &Inputs<'_>) -> Verdict {
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
            "http://{}.{namespace}.svc:{}{}",
            s.name, s.port, s.path
        )),
        (None, None) => None,
    }
}

fn client_binding(toolkit: &str) -> String {
    format!("south_mcp_client_{toolkit}")
}

/// The binding config (Zilla vocabulary) serving `toolkits`, in toolkit-name order.
fn binding_config(gateway: &McpGateway, toolkits: &[(&McpToolkit, String)]) -> Config {
    let spec = &gateway.spec;
    let mut server = McpServer::new("north_mcp_proxy");
    if let Some(secret) = &spec.session_key_secret_ref {
        server.options.session_key = Some(format!("{SESSION_DIR}/{}", secret.key));
    }
    let mut sorted: Vec<_> = toolkits.iter().collect();
    sorted.sort_by(|a, b| a.0.spec.toolkit.cmp(&b.0.spec.toolkit));
    let routes = sorted.iter().map(|(toolkit, _)| {
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
        McpProxyRoute::new(condition, client_binding(&s.toolkit))
    });
    let port =
        u16::try_from(spec.listener.port).unwrap_or(mcpgw_crds::DEFAULT_LISTENER_PORT as u16);
    let mut config = Config::new(format!(
        "{}/{}",
        gateway.namespace().unwrap_or_default(),
        gateway.name_any()
    ))
    .with_binding(
        "north_tcp_server",
        TcpServer::new("0.0.0.0", port, "north_http_server"),
    )
    .with_binding(
        "north_http_server",
        HttpServer::new([HttpRoute::path(&spec.listener.path, "north_mcp_server")]),
    )
    .with_binding("north_mcp_server", server)
    .with_binding("north_mcp_proxy", McpProxy::new(routes.collect::<Vec<_>>()));
    for (toolkit, url) in sorted {
        let mut client = McpClient::new(url.clone());
        // NB: an unparsable timeout is left out here; the API server's pattern already
        // refuses what the config parser would.
        client.options.timeout = toolkit.spec.timeout.parse::<IsoDuration>().ok();
        config = config.with_binding(client_binding(&toolkit.spec.toolkit), client);
    }
    config
}

#[cfg(test)]
mod tests;
