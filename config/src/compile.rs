//! Validated model → [`Plan`]: run every check, then assemble the plan from
//! the checked values.

use std::collections::HashMap;

use crate::error::{ConfigError, FieldError, ROOT};
use crate::model::{Binding, Config};
use crate::parse::Broken;
use crate::plan::{
    AuthorizationPlan, EgressPlan, EndpointPlan, HttpRoutePlan, JwtGuardPlan, ListenerPlan, Plan,
    ProxyPlan, ToolkitPlan,
};
use crate::validate::{self, CheckedClient, CheckedHttpRoute, CheckedProxy, CheckedServer};

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
    http: HashMap<&'a str, Vec<CheckedHttpRoute>>,
    /// The server's settings and the proxy it exits to.
    server: HashMap<&'a str, (CheckedServer, &'a str)>,
    proxy: HashMap<&'a str, CheckedProxy>,
    client: HashMap<&'a str, CheckedClient>,
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
                if let Some(socket) = validate::tcp_server(&path, tcp, errors) {
                    checked.tcp.insert(name, socket);
                }
            }
            Binding::HttpServer(http) => {
                if let Some(routes) = validate::http_server(&path, http, errors) {
                    checked.http.insert(name, routes);
                }
            }
            Binding::McpServer(server) => {
                if let Some(plan) = validate::mcp_server(&path, server, errors) {
                    checked.server.insert(name, (plan, server.exit.as_str()));
                }
            }
            Binding::McpProxy(proxy) => {
                if let Some(proxy) = validate::mcp_proxy(&path, proxy, errors) {
                    checked.proxy.insert(name, proxy);
                }
            }
            Binding::McpClient(client) => {
                if let Some(client) = validate::mcp_client(&path, client, errors) {
                    checked.client.insert(name, client);
                }
            }
        }
    }
    crate::graph::check(config, broken, &mut errors);
    if !errors.is_empty() || !broken.is_empty() {
        return Err(errors);
    }
    // NB: cannot fail once every check passed; reported rather than panicking.
    assemble(config, &checked).ok_or_else(|| {
        let message = "internal error: a checked config did not compile; please report it";
        vec![FieldError::new(ROOT, message)]
    })
}

fn assemble(config: &Config, checked: &Checked<'_>) -> Option<Plan> {
    let listeners = config
        .bindings
        .iter()
        .filter_map(|(name, binding)| match binding {
            Binding::TcpServer(tcp) => Some(listener(name, &tcp.exit, checked)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Plan {
        name: config.name.clone(),
        listeners,
    })
}

fn listener(name: &str, http: &str, checked: &Checked<'_>) -> Option<ListenerPlan> {
    let (host, port) = checked.tcp.get(name)?;
    let routes = checked
        .http
        .get(http)?
        .iter()
        .map(|route| {
            Some(HttpRoutePlan {
                path: route.path.clone(),
                endpoint: endpoint(&route.exit, checked)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ListenerPlan {
        binding: name.to_owned(),
        host: host.clone(),
        port: *port,
        routes,
    })
}

fn endpoint(server_binding: &str, checked: &Checked<'_>) -> Option<EndpointPlan> {
    let (server, proxy_binding) = checked.server.get(server_binding)?;
    let proxy = checked.proxy.get(*proxy_binding)?;
    let toolkits = proxy
        .toolkits
        .iter()
        .map(|toolkit| {
            let client = checked.client.get(toolkit.client.as_str())?;
            Some(ToolkitPlan {
                name: toolkit.name.clone(),
                client_binding: toolkit.client.clone(),
                server: client.server.clone(),
                egress: EgressPlan::for_server(&client.server),
                timeout: client.timeout,
                access: toolkit.access.clone(),
                forward: client.forward.as_ref().map(|f| f.credentials.clone()),
                credentials: client.credentials.clone(),
                authorization_url: client.authorization_url.clone(),
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
            cache: None,
        },
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_auth;
