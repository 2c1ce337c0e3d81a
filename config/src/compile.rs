//! Validated model → [`Plan`]: run every check, then assemble the plan from
//! the checked values.

use std::collections::HashMap;

use url::Url;

use crate::error::{ConfigError, FieldError, ROOT};
use crate::graph::{self, South};
use crate::model::{Binding, Config};
use crate::parse::Broken;
use crate::plan::{
    AuthorizationPlan, EgressPlan, EndpointPlan, HttpRoutePlan, HttpServerPlan, HttpVersions,
    JwtGuardPlan, ListenerPlan, Plan, ProxyPlan, TelemetryPlan, ToolkitPlan,
};
use crate::validate::{
    self, CheckedClient, CheckedHttpRoute, CheckedProxy, CheckedServer, CheckedTcp, CheckedTls,
};

/// Validates a config built in Rust (e.g. by the operator) and compiles it.
///
/// Reports every problem, each at the path of the bad field.
pub fn compile(config: &Config) -> Result<Plan, ConfigError> {
    compile_parsed(config, &Broken::default()).map_err(ConfigError::from)
}

/// The checked values of each valid binding, by binding name.
#[derive(Default)]
struct Checked<'a> {
    guards: HashMap<&'a str, JwtGuardPlan>,
    tcp: HashMap<&'a str, (String, u16)>,
    http: HashMap<&'a str, (HttpServerPlan, Vec<CheckedHttpRoute>)>,
    /// The server's settings and the proxy it exits to.
    server: HashMap<&'a str, (CheckedServer, &'a str)>,
    proxy: HashMap<&'a str, CheckedProxy>,
    /// The client's settings and its exit.
    client: HashMap<&'a str, (CheckedClient, &'a str)>,
    http_client: HashMap<&'a str, HttpVersions>,
    tls_client: HashMap<&'a str, CheckedTls>,
    tcp_client: HashMap<&'a str, CheckedTcp>,
}

/// Compiles a config some of whose bindings and guards (`broken`) could not be parsed.
pub(crate) fn compile_parsed(config: &Config, broken: &Broken) -> Result<Plan, Vec<FieldError>> {
    let mut errors = Vec::new();
    validate::config_name(&config.name, &mut errors);
    let mut checked = Checked::default();
    for (name, guard) in &config.guards {
        let path = format!("guards.{name}");
        validate::guard_name(name, &path, &mut errors);
        if let Some(plan) = validate::guard(&path, guard, &mut errors) {
            checked.guards.insert(name, plan);
        }
    }
    for (name, binding) in &config.bindings {
        let path = format!("bindings.{name}");
        validate::binding_name(name, &path, &mut errors);
        let name = name.as_str();
        let errors = &mut errors;
        match binding {
            Binding::TcpServer(tcp) => {
                let values = validate::tcp_server(&path, tcp, errors);
                keep(&mut checked.tcp, name, values);
            }
            Binding::HttpServer(http) => {
                let values = validate::http_server(&path, http, errors);
                keep(&mut checked.http, name, values);
            }
            Binding::McpServer(server) => {
                let plan = validate::mcp_server(&path, server, errors);
                let with_exit = plan.map(|plan| (plan, server.exit.as_str()));
                keep(&mut checked.server, name, with_exit);
            }
            Binding::McpProxy(proxy) => {
                let values =
                    validate::mcp_proxy(&path, proxy, &config.stores, &broken.stores, errors);
                keep(&mut checked.proxy, name, values);
            }
            Binding::McpClient(client) => {
                let settings = validate::mcp_client(&path, client, errors);
                let with_exit = settings.map(|settings| (settings, client.exit.as_str()));
                keep(&mut checked.client, name, with_exit);
            }
            Binding::HttpClient(http) => {
                let versions = validate::http_client(&path, http, errors);
                keep(&mut checked.http_client, name, versions);
            }
            Binding::TlsClient(tls) => {
                let values = validate::tls_client(&path, tls, errors);
                keep(&mut checked.tls_client, name, values);
            }
            Binding::TcpClient(tcp) => {
                let values = validate::tcp_client(&path, tcp, errors);
                keep(&mut checked.tcp_client, name, values);
            }
        }
    }
    let telemetry = config
        .telemetry
        .as_ref()
        .and_then(|t| validate::telemetry(t, &mut errors));
    graph::check(config, broken, &mut errors);
    if !errors.is_empty() || !broken.is_empty() {
        return Err(errors);
    }
    // NB: cannot fail once every check passed; reported rather than panicking.
    assemble(config, &checked, telemetry).ok_or_else(|| {
        let message = "internal error: a checked config did not compile; please report it";
        vec![FieldError::new(ROOT, message)]
    })
}

/// Records the checked values of the binding `name`, when it had no error.
fn keep<'a, T>(checked: &mut HashMap<&'a str, T>, name: &'a str, values: Option<T>) {
    if let Some(values) = values {
        checked.insert(name, values);
    }
}

fn assemble(
    config: &Config,
    checked: &Checked<'_>,
    telemetry: Option<TelemetryPlan>,
) -> Option<Plan> {
    let listeners = config
        .bindings
        .iter()
        .filter_map(|(name, binding)| match binding {
            Binding::TcpServer(tcp) => Some(listener(config, name, &tcp.exit, checked)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Plan {
        name: config.name.clone(),
        listeners,
        telemetry,
    })
}

fn listener(
    config: &Config,
    name: &str,
    http: &str,
    checked: &Checked<'_>,
) -> Option<ListenerPlan> {
    let (host, port) = checked.tcp.get(name)?;
    let (settings, routes) = checked.http.get(http)?;
    let routes = routes
        .iter()
        .map(|route| {
            Some(HttpRoutePlan {
                path: route.path.clone(),
                endpoint: endpoint(config, &route.exit, checked)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ListenerPlan {
        binding: name.to_owned(),
        host: host.clone(),
        port: *port,
        http: *settings,
        routes,
    })
}

fn endpoint(config: &Config, server_binding: &str, checked: &Checked<'_>) -> Option<EndpointPlan> {
    let (server, proxy_binding) = checked.server.get(server_binding)?;
    let proxy = checked.proxy.get(*proxy_binding)?;
    let toolkits = proxy
        .toolkits
        .iter()
        .map(|toolkit| {
            let (client, exit) = checked.client.get(toolkit.client.as_str())?;
            Some(ToolkitPlan {
                name: toolkit.name.clone(),
                client_binding: toolkit.client.clone(),
                server: client.server.clone(),
                egress: egress(config, exit, &client.server, checked)?,
                timeout: client.timeout,
                access: toolkit.access.clone(),
                forward: client.forward.as_ref().map(|f| f.credentials.clone()),
                credentials: client.credentials.clone(),
                authorization_url: client.authorization_url.clone(),
                max_concurrent_requests: client.max_concurrent_requests,
                rate_limit: client.rate_limit,
                retries: client.retries,
                circuit_breaker: client.circuit_breaker,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let authorization = match &server.authorization {
        Some(authorization) => {
            let jwt = checked.guards.get(authorization.guard.as_str())?.clone();
            let resource_metadata = server.metadata.plan(&jwt.issuer, &proxy.roles);
            Some(AuthorizationPlan {
                guard: authorization.guard.clone(),
                jwt,
                credentials: authorization.credentials.clone(),
                resource_metadata,
            })
        }
        None => None,
    };
    Some(EndpointPlan {
        server_binding: server_binding.to_owned(),
        server: server.plan.clone(),
        authorization,
        proxy_binding: (*proxy_binding).to_owned(),
        proxy: ProxyPlan {
            prefix: proxy.prefix,
            toolkits,
            cache: proxy.cache.clone(),
        },
    })
}

/// How an mcp client exiting to `exit` reaches `server`: `sys:http_client`'s
/// defaults, or its explicit chain, each part from the binding that sets it.
fn egress(config: &Config, exit: &str, server: &Url, checked: &Checked<'_>) -> Option<EgressPlan> {
    let chain = match graph::south(config, exit)? {
        South::Builtin => return Some(EgressPlan::for_server(server)),
        South::Chain(chain) => chain,
    };
    let versions = *checked.http_client.get(chain.http)?;
    let tls = match chain.tls {
        Some(tls) => Some(checked.tls_client.get(tls)?.plan(versions)),
        None => None,
    };
    Some(EgressPlan {
        versions,
        tls,
        connect: checked.tcp_client.get(chain.tcp)?.connect(server)?,
        bindings: chain.bindings(),
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_auth;
#[cfg(test)]
mod tests_chain;
#[cfg(test)]
mod tests_egress;
#[cfg(test)]
mod tests_tls;
