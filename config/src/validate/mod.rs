//! The field rules of each binding, checked one binding at a time.
//!
//! Each check reports every problem it finds at the path of the bad field and,
//! when the binding has none, returns its values in the form the plan needs.
//! Rules that span bindings (exits, reachability, ports, whether a south chain
//! fits its server) live in `graph`.

mod authorization;
mod guard;
mod mcp;
mod net;
mod south;
mod telemetry;

pub(crate) use guard::{guard, guard_name};
pub(crate) use mcp::{
    CheckedClient, CheckedProxy, CheckedServer, mcp_client, mcp_proxy, mcp_server,
};
pub(crate) use net::http_url;
pub(crate) use south::{CheckedTcp, CheckedTls, http_client, tcp_client, tls_client};
pub(crate) use telemetry::telemetry;

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{FieldError, Invalid};
use crate::model::{HttpServer, IsoDuration, TcpServer};
use crate::plan::HttpServerPlan;

/// The config's `name`: required, not blank.
pub(crate) fn config_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() {
        errors.push(FieldError::new("name", Invalid::Empty));
    }
}

/// A binding's name: letters, digits, `_` and `-` (so that paths stay readable
/// and `sys:` names can never clash with a binding).
pub(crate) fn binding_name(name: &str, path: &str, errors: &mut Vec<FieldError>) {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        errors.push(FieldError::new(path, Invalid::BindingName));
    }
}

/// Runs `check` and returns its value only if it added no error.
fn clean<T>(
    errors: &mut Vec<FieldError>,
    check: impl FnOnce(&mut Vec<FieldError>) -> T,
) -> Option<T> {
    let before = errors.len();
    let value = check(errors);
    (errors.len() == before).then_some(value)
}

/// A host at `field`: an IP address or host name. Whether it is one.
fn host(field: String, host: &str, errors: &mut Vec<FieldError>) -> bool {
    let error = if host.is_empty() {
        Invalid::Empty
    } else if !net::is_host(host) {
        Invalid::Host
    } else {
        return true;
    };
    errors.push(FieldError::new(field, error));
    false
}

/// The path of a file the data plane reads (a mounted Secret or ConfigMap), at
/// `field`: not empty, and without NUL, which no file system accepts.
fn file_path(field: String, file: &str, errors: &mut Vec<FieldError>) {
    if file.is_empty() {
        errors.push(FieldError::new(field, Invalid::Empty));
    } else if file.contains('\0') {
        errors.push(FieldError::new(field, Invalid::NulCharacter));
    }
}

/// The entries of the list at `path`, in order, each once; a repeat is reported
/// at its index, by its `name`.
fn distinct<T: Copy + PartialEq>(
    path: &str,
    list: &[T],
    name: impl Fn(T) -> &'static str,
    errors: &mut Vec<FieldError>,
) -> Vec<T> {
    let mut seen = Vec::new();
    for (index, &entry) in list.iter().enumerate() {
        if seen.contains(&entry) {
            let error = Invalid::Duplicate(name(entry));
            errors.push(FieldError::new(format!("{path}[{index}]"), error));
        } else {
            seen.push(entry);
        }
    }
    seen
}

/// A `tcp server`: returns the host and port to bind.
pub(crate) fn tcp_server(
    path: &str,
    tcp: &TcpServer,
    errors: &mut Vec<FieldError>,
) -> Option<(String, u16)> {
    let host_ok = host(format!("{path}.options.host"), &tcp.options.host, errors);
    host_ok.then(|| (tcp.options.host.clone(), tcp.options.port))
}

/// An `http server` route condition, flattened: one per `when` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedHttpRoute {
    /// The exact `:path`.
    pub path: String,
    /// The `mcp server` it exits to.
    pub exit: String,
}

/// Upper bound of `http server` `options.header_read_timeout`: five minutes.
const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Upper bound of `http server` `options.idle_timeout`: one hour.
const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(3_600);

/// An `http server`: returns its connection settings and one route per `when`
/// entry, in config order.
pub(crate) fn http_server(
    path: &str,
    http: &HttpServer,
    errors: &mut Vec<FieldError>,
) -> Option<(HttpServerPlan, Vec<CheckedHttpRoute>)> {
    clean(errors, |errors| {
        let defaults = HttpServerPlan::default();
        let options = &http.options;
        let settings = HttpServerPlan {
            header_read_timeout: bounded(
                options.header_read_timeout,
                defaults.header_read_timeout,
                (MAX_HEADER_READ_TIMEOUT, "PT5M"),
                format!("{path}.options.header_read_timeout"),
                errors,
            ),
            idle_timeout: bounded(
                options.idle_timeout,
                defaults.idle_timeout,
                (MAX_IDLE_TIMEOUT, "PT1H"),
                format!("{path}.options.idle_timeout"),
                errors,
            ),
        };
        if http.routes.is_empty() {
            errors.push(FieldError::new(format!("{path}.routes"), Invalid::NoRoutes));
        }
        let mut first_route_of: HashMap<&str, String> = HashMap::new();
        let mut checked = Vec::new();
        for (index, route) in http.routes.iter().enumerate() {
            let route_path = format!("{path}.routes[{index}]");
            if route.when.is_empty() {
                let error = Invalid::NoConditions;
                errors.push(FieldError::new(format!("{route_path}.when"), error));
            }
            for (when_index, condition) in route.when.iter().enumerate() {
                let headers_path = format!("{route_path}.when[{when_index}].headers");
                for name in condition.headers.keys().filter(|name| *name != ":path") {
                    let what = format!("matching on header `{name}` (only `:path` is supported)");
                    let error = Invalid::not_supported_yet(what);
                    errors.push(FieldError::new(format!("{headers_path}.{name}"), error));
                }
                let Some(request_path) = condition.headers.get(":path") else {
                    errors.push(FieldError::new(headers_path, Invalid::NoPathHeader));
                    continue;
                };
                let field = format!("{headers_path}.:path");
                if !request_path.starts_with('/') {
                    errors.push(FieldError::new(field, Invalid::PathNotAbsolute));
                } else if request_path.contains(|c: char| c == '?' || c == '#' || c.is_whitespace())
                {
                    errors.push(FieldError::new(field, Invalid::PathCharacters));
                } else if let Some(first) = first_route_of.get(request_path.as_str()) {
                    let error = Invalid::DuplicatePath {
                        path: request_path.clone(),
                        first: first.clone(),
                    };
                    errors.push(FieldError::new(field, error));
                } else {
                    first_route_of.insert(request_path, format!("routes[{index}]"));
                    checked.push(CheckedHttpRoute {
                        path: request_path.clone(),
                        exit: route.exit.clone(),
                    });
                }
            }
        }
        (settings, checked)
    })
}

/// An optional duration, defaulted, more than zero and at most `max`.
fn bounded(
    value: Option<IsoDuration>,
    default: Duration,
    (max, max_text): (Duration, &'static str),
    path: String,
    errors: &mut Vec<FieldError>,
) -> Duration {
    let duration = value.map_or(default, IsoDuration::as_duration);
    if duration.is_zero() {
        errors.push(FieldError::new(path, Invalid::ZeroDuration));
    } else if duration > max {
        errors.push(FieldError::new(path, Invalid::TooLong(max_text)));
    }
    duration
}

#[cfg(test)]
mod tests;
