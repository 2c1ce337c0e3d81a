//! Fixtures and assertions shared by the unit tests.

use crate::error::FieldError;
use crate::model::{
    Config, HttpRoute, HttpServer, McpClient, McpProxy, McpProxyRoute, McpServer, TcpServer,
};

/// The aggregation demo from the workspace's `examples/`.
pub(crate) const DEMO: &str = include_str!("../../examples/demo.yaml");

/// The guarded endpoint from the workspace's `examples/`.
pub(crate) const GUARDED: &str = include_str!("../../examples/guarded.yaml");

/// The demo with `from` replaced by `to`; `from` must occur exactly once, so a
/// fixture cannot silently stop testing anything when the demo changes.
#[track_caller]
pub(crate) fn demo_with(from: &str, to: &str) -> String {
    replace_once(DEMO, "demo.yaml", from, to)
}

/// [`demo_with`] for guarded.yaml.
#[track_caller]
pub(crate) fn guarded_with(from: &str, to: &str) -> String {
    replace_once(GUARDED, "guarded.yaml", from, to)
}

#[track_caller]
fn replace_once(yaml: &str, file: &str, from: &str, to: &str) -> String {
    assert_eq!(
        yaml.matches(from).count(),
        1,
        "`{from}` must occur once in {file}"
    );
    yaml.replacen(from, to, 1)
}

/// The issuer and audience of guarded.yaml's guard, as lines of its `options`.
pub(crate) const JWT_BASICS: &str =
    "      issuer: https://auth.example.com\n      audience: http://127.0.0.1:7114/mcp\n";

/// guarded.yaml with the options of its guard `authn_jwt` replaced by `options`
/// (YAML lines indented by six spaces, e.g. [`JWT_BASICS`] and more).
#[track_caller]
pub(crate) fn with_jwt_options(options: &str) -> String {
    let start = GUARDED.find("      issuer:");
    let end = GUARDED.find("bindings:");
    match (start, end) {
        (Some(start), Some(end)) => format!("{}{options}{}", &GUARDED[..start], &GUARDED[end..]),
        _ => panic!("guarded.yaml has no guard options before its bindings"),
    }
}

/// The demo without the lines that contain any of `markers`; each marker must
/// match at least one line.
#[track_caller]
pub(crate) fn demo_without(markers: &[&str]) -> String {
    for marker in markers {
        assert!(
            DEMO.contains(marker),
            "`{marker}` does not occur in demo.yaml"
        );
    }
    DEMO.lines()
        .filter(|line| !markers.iter().any(|marker| line.contains(marker)))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Every error of compiling `yaml`, as `path: message` lines (none if it compiles).
pub(crate) fn errors(yaml: &str) -> Vec<String> {
    match crate::compile_yaml(yaml) {
        Ok(_) => Vec::new(),
        Err(error) => error.errors.iter().map(FieldError::to_string).collect(),
    }
}

/// Asserts that compiling `yaml` fails with exactly these `path: message` lines.
#[track_caller]
pub(crate) fn assert_errors(yaml: &str, expected: &[&str]) {
    assert_eq!(errors(yaml), expected, "errors of:\n{yaml}");
}

/// Asserts that compiling `yaml` reports, among others, an error at `path`
/// whose message contains `needle`.
#[track_caller]
pub(crate) fn assert_rejects(yaml: &str, path: &str, needle: &str) {
    let errors = errors(yaml);
    let prefix = format!("{path}: ");
    assert!(
        errors
            .iter()
            .any(|e| e.strip_prefix(&prefix).is_some_and(|m| m.contains(needle))),
        "expected `{path}: …{needle}…`, got:\n{}",
        errors.join("\n")
    );
}

/// A small valid config built in Rust, the way the operator builds one.
pub(crate) fn rust_config() -> Config {
    Config::new("rust")
        .with_binding("tcp", TcpServer::new("127.0.0.1", 0, "http"))
        .with_binding("http", HttpServer::new([HttpRoute::path("/mcp", "server")]))
        .with_binding("server", McpServer::new("proxy"))
        .with_binding(
            "proxy",
            McpProxy::new([McpProxyRoute::toolkit("time", "client")]),
        )
        .with_binding("client", McpClient::new("http://127.0.0.1:3002/mcp"))
}
