//! Rules that span bindings: every exit names a binding of the right kind,
//! every binding is reachable from a tcp server, listeners don't collide,
//! guards are named consistently (`auth`), and each explicit south chain fits
//! its server (`south`).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::error::{FieldError, Invalid};
use crate::model::{Binding, BindingKind, Config, SYS_HTTP_CLIENT};
use crate::parse::Broken;

mod auth;
mod south;

pub(crate) use south::{South, south};

/// Checks the graph. `broken` names bindings and guards that exist but could not
/// be read (already reported): exits and references to them are not checked, and
/// neither is reachability, which would only repeat their errors in another form.
pub(crate) fn check(config: &Config, broken: &Broken, errors: &mut Vec<FieldError>) {
    for (name, binding) in &config.bindings {
        let path = format!("bindings.{name}");
        for (field, target) in exits(binding) {
            let field = format!("{path}.{field}");
            exit(config, broken, binding.kind(), field, target, errors);
        }
    }
    listeners_are_distinct(config, errors);
    auth::check(config, broken, errors);
    south::check(config, errors);
    if broken.bindings.is_empty() {
        reachable(config, errors);
    }
}

/// The kinds of binding that a binding of `kind` may exit to; an mcp client may
/// also exit to the built-in `sys:http_client`.
fn exit_kinds(kind: BindingKind) -> &'static [BindingKind] {
    match kind {
        BindingKind::TcpServer => &[BindingKind::HttpServer],
        BindingKind::HttpServer => &[BindingKind::McpServer],
        BindingKind::McpServer => &[BindingKind::McpProxy],
        BindingKind::McpProxy => &[BindingKind::McpClient],
        BindingKind::McpClient => &[BindingKind::HttpClient],
        BindingKind::HttpClient => &[BindingKind::TlsClient, BindingKind::TcpClient],
        BindingKind::TlsClient => &[BindingKind::TcpClient],
        BindingKind::TcpClient => &[],
    }
}

/// What a binding of `kind` may exit to, for messages: `an http client binding`,
/// `a tls client binding or a tcp client binding`.
fn expected_exits(kind: BindingKind) -> String {
    let builtin = (kind == BindingKind::McpClient).then(|| format!("`{SYS_HTTP_CLIENT}`"));
    let kinds = exit_kinds(kind).iter().map(ToString::to_string);
    builtin
        .into_iter()
        .chain(kinds)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `(field path relative to the binding, target)` for each exit of a binding.
fn exits(binding: &Binding) -> Vec<(String, &str)> {
    match binding {
        Binding::TcpServer(tcp) => single_exit(&tcp.exit),
        Binding::HttpServer(http) => route_exits(http.routes.iter().map(|r| r.exit.as_str())),
        Binding::McpServer(server) => single_exit(&server.exit),
        Binding::McpProxy(proxy) => route_exits(proxy.routes.iter().map(|r| r.exit.as_str())),
        Binding::McpClient(client) => single_exit(&client.exit),
        Binding::HttpClient(http) => single_exit(&http.exit),
        Binding::TlsClient(tls) => single_exit(&tls.exit),
        Binding::TcpClient(_) => Vec::new(),
    }
}

fn single_exit(exit: &str) -> Vec<(String, &str)> {
    vec![("exit".to_owned(), exit)]
}

fn route_exits<'a>(exits: impl Iterator<Item = &'a str>) -> Vec<(String, &'a str)> {
    let numbered = exits.enumerate();
    numbered
        .map(|(index, exit)| (format!("routes[{index}].exit"), exit))
        .collect()
}

/// The exit at `field` of a binding of kind `from` names a binding it may exit
/// to (or, for an mcp client, `sys:http_client`).
fn exit(
    config: &Config,
    broken: &Broken,
    from: BindingKind,
    field: String,
    target: &str,
    errors: &mut Vec<FieldError>,
) {
    let to_builtin = from == BindingKind::McpClient;
    let error = match config.bindings.get(target) {
        Some(binding) if exit_kinds(from).contains(&binding.kind()) => return,
        Some(binding) => Invalid::WrongExit {
            target: target.to_owned(),
            found: binding.kind(),
            expected: expected_exits(from),
        },
        None if broken.bindings.contains(target) => return,
        None if to_builtin && target == SYS_HTTP_CLIENT => return,
        None if to_builtin && target.starts_with("sys:") => {
            Invalid::UnknownBuiltin(target.to_owned())
        }
        None if target.starts_with("sys:") => Invalid::MisplacedBuiltin(target.to_owned()),
        None => Invalid::NoSuchBinding(target.to_owned()),
    };
    errors.push(FieldError::new(field, error));
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
