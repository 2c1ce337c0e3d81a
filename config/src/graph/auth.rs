//! Rules about guards that span bindings: every guard named exists, and a
//! guarded route or a client that forwards tokens uses the guard of the
//! endpoint (`mcp server`) that reaches it.

use crate::error::{FieldError, Invalid};
use crate::model::{Binding, Config};
use crate::parse::Broken;

/// Checks every reference to a guard. A guard that exists but could not be read
/// (`broken`) counts as existing: its own errors are already reported.
pub(super) fn check(config: &Config, broken: &Broken, errors: &mut Vec<FieldError>) {
    let exists = |name: &str| config.guards.contains_key(name) || broken.guards.contains(name);
    for (name, binding) in &config.bindings {
        let path = format!("bindings.{name}");
        let references: Vec<(String, &String)> = match binding {
            Binding::McpServer(server) => server
                .options
                .authorization
                .keys()
                .map(|guard| (format!("{path}.options.authorization"), guard))
                .collect(),
            Binding::McpClient(client) => client
                .options
                .authorization
                .keys()
                .map(|guard| (format!("{path}.options.authorization"), guard))
                .collect(),
            Binding::McpProxy(proxy) => proxy
                .routes
                .iter()
                .enumerate()
                .flat_map(|(index, route)| {
                    let field = format!("{path}.routes[{index}].guarded");
                    route
                        .guarded
                        .keys()
                        .map(move |guard| (field.clone(), guard))
                })
                .collect(),
            _ => Vec::new(),
        };
        for (field, guard) in references {
            if !exists(guard) {
                let error = Invalid::NoSuchGuard(guard.clone());
                errors.push(FieldError::new(format!("{field}.{guard}"), error));
            }
        }
    }
    for (server_name, binding) in &config.bindings {
        let Binding::McpServer(server) = binding else {
            continue;
        };
        let Some(Binding::McpProxy(proxy)) = config.bindings.get(&server.exit) else {
            continue;
        };
        let mut server_guards = server.options.authorization.keys();
        let server_guard = match (server_guards.next(), server_guards.next()) {
            (None, _) => None,
            (Some(guard), None) if exists(guard) => Some(guard),
            // Several guards or an unknown one: already reported, and comparing
            // with it would only repeat that.
            _ => continue,
        };
        let disagreement = |guard: &String, route: bool| {
            let (guard, server) = (guard.clone(), server_name.clone());
            match (server_guard, route) {
                (None, true) => Some(Invalid::RouteGuardWithoutServerGuard { guard, server }),
                (None, false) => Some(Invalid::ForwardWithoutServerGuard { guard, server }),
                (Some(same), _) if *same == guard => None,
                (Some(other), true) => Some(Invalid::RouteGuardMismatch {
                    guard,
                    server,
                    server_guard: other.clone(),
                }),
                (Some(other), false) => Some(Invalid::ForwardGuardMismatch {
                    guard,
                    server,
                    server_guard: other.clone(),
                }),
            }
        };
        for (index, route) in proxy.routes.iter().enumerate() {
            for guard in route.guarded.keys().filter(|guard| exists(guard)) {
                if let Some(error) = disagreement(guard, true) {
                    let field = format!("bindings.{}.routes[{index}].guarded.{guard}", server.exit);
                    push_once(errors, FieldError::new(field, error));
                }
            }
            let Some(Binding::McpClient(client)) = config.bindings.get(&route.exit) else {
                continue;
            };
            for guard in client
                .options
                .authorization
                .keys()
                .filter(|guard| exists(guard))
            {
                if let Some(error) = disagreement(guard, false) {
                    let field = format!("bindings.{}.options.authorization.{guard}", route.exit);
                    push_once(errors, FieldError::new(field, error));
                }
            }
        }
    }
}

/// A client behind several routes, or a proxy behind several servers, would
/// otherwise report the same disagreement more than once.
fn push_once(errors: &mut Vec<FieldError>, error: FieldError) {
    if !errors.contains(&error) {
        errors.push(error);
    }
}

#[cfg(test)]
mod tests;
