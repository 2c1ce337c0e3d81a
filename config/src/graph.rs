//! Rules that span bindings: every exit names a binding of the right kind,
//! every binding is reachable from a tcp server, listeners don't collide, and
//! guards are named consistently (`auth`).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::error::{FieldError, Invalid};
use crate::model::{Binding, BindingKind, Config, SYS_HTTP_CLIENT};
use crate::parse::Broken;

mod auth;

/// Checks the graph. `broken` names bindings and guards that exist but could not
/// be read (already reported): exits and references to them are not checked, and
/// neither is reachability, which would only repeat their errors in another form.
pub(crate) fn check(config: &Config, broken: &Broken, errors: &mut Vec<FieldError>) {
    for (name, binding) in &config.bindings {
        let path = format!("bindings.{name}");
        match (binding, next_kind(binding.kind())) {
            (Binding::McpClient(client), _) => client_exit(&path, &client.exit, errors),
            (_, Some(expected)) => {
                for (field, target) in exits(binding) {
                    let field = format!("{path}.{field}");
                    exit(config, broken, field, target, expected, errors);
                }
            }
            (_, None) => {}
        }
    }
    listeners_are_distinct(config, errors);
    auth::check(config, broken, errors);
    if broken.bindings.is_empty() {
        reachable(config, errors);
    }
}

/// What a binding of `kind` exits to (`None`: built-ins only).
fn next_kind(kind: BindingKind) -> Option<BindingKind> {
    match kind {
        BindingKind::TcpServer => Some(BindingKind::HttpServer),
        BindingKind::HttpServer => Some(BindingKind::McpServer),
        BindingKind::McpServer => Some(BindingKind::McpProxy),
        BindingKind::McpProxy => Some(BindingKind::McpClient),
        BindingKind::McpClient => None,
    }
}

/// `(field path relative to the binding, target)` for each exit to another binding.
fn exits(binding: &Binding) -> Vec<(String, &str)> {
    match binding {
        Binding::TcpServer(tcp) => vec![("exit".to_owned(), tcp.exit.as_str())],
        Binding::HttpServer(http) => http
            .routes
            .iter()
            .enumerate()
            .map(|(index, route)| (format!("routes[{index}].exit"), route.exit.as_str()))
            .collect(),
        Binding::McpServer(server) => vec![("exit".to_owned(), server.exit.as_str())],
        Binding::McpProxy(proxy) => proxy
            .routes
            .iter()
            .enumerate()
            .map(|(index, route)| (format!("routes[{index}].exit"), route.exit.as_str()))
            .collect(),
        Binding::McpClient(_) => Vec::new(),
    }
}

fn exit(
    config: &Config,
    broken: &Broken,
    field: String,
    target: &str,
    expected: BindingKind,
    errors: &mut Vec<FieldError>,
) {
    let error = match config.bindings.get(target) {
        Some(binding) if binding.kind() == expected => return,
        Some(binding) => Invalid::WrongExit {
            target: target.to_owned(),
            found: binding.kind(),
            expected,
        },
        None if broken.bindings.contains(target) => return,
        None if target.starts_with("sys:") => Invalid::MisplacedBuiltin(target.to_owned()),
        None => Invalid::NoSuchBinding(target.to_owned()),
    };
    errors.push(FieldError::new(field, error));
}

fn client_exit(path: &str, target: &str, errors: &mut Vec<FieldError>) {
    let error = if target == SYS_HTTP_CLIENT {
        return;
    } else if target.starts_with("sys:") {
        Invalid::UnknownBuiltin(target.to_owned())
    } else {
        Invalid::not_supported_yet("an explicit `http client` chain; use `sys:http_client`")
    };
    errors.push(FieldError::new(format!("{path}.exit"), error));
}

/// Two tcp servers must not bind the same non-zero port on the same host.
fn listeners_are_distinct(config: &Config, errors: &mut Vec<FieldError>) {
    let mut first: HashMap<(String, u16), &str> = HashMap::new();
    for (name, binding) in &config.bindings {
        let Binding::TcpServer(tcp) = binding else {
            continue;
        };
        let (host, port) = (&tcp.options.host, tcp.options.port);
        if port == 0 {
            continue;
        }
        if let Some(other) = first.get(&(host.to_ascii_lowercase(), port)) {
            let error = Invalid::PortInUse {
                host: host.clone(),
                port,
                other: (*other).to_owned(),
            };
            errors.push(FieldError::new(
                format!("bindings.{name}.options.port"),
                error,
            ));
        } else {
            first.insert((host.to_ascii_lowercase(), port), name);
        }
    }
}

/// At least one tcp server, and every binding reachable from one.
fn reachable(config: &Config, errors: &mut Vec<FieldError>) {
    let mut queue: VecDeque<&str> = config
        .bindings
        .iter()
        .filter(|(_, binding)| binding.kind() == BindingKind::TcpServer)
        .map(|(name, _)| name.as_str())
        .collect();
    if queue.is_empty() {
        errors.push(FieldError::new("bindings", Invalid::NoTcpServer));
        return;
    }
    let mut seen: HashSet<&str> = queue.iter().copied().collect();
    while let Some(name) = queue.pop_front() {
        let Some(binding) = config.bindings.get(name) else {
            continue;
        };
        for (_, target) in exits(binding) {
            if config.bindings.contains_key(target) && seen.insert(target) {
                queue.push_back(target);
            }
        }
    }
    // Report only where an unreachable part starts: a typo in one exit should
    // not also flag everything behind the binding it failed to reach.
    let unreachable: Vec<&str> = config
        .bindings
        .keys()
        .map(String::as_str)
        .filter(|name| !seen.contains(name))
        .collect();
    let behind_unreachable: HashSet<&str> = unreachable
        .iter()
        .filter_map(|name| config.bindings.get(*name))
        .flat_map(|binding| exits(binding).into_iter().map(|(_, target)| target))
        .collect();
    for name in unreachable {
        if !behind_unreachable.contains(name) {
            errors.push(FieldError::new(
                format!("bindings.{name}"),
                Invalid::Unreachable,
            ));
        }
    }
}

#[cfg(test)]
mod tests;
