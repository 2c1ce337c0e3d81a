//! Fixtures and assertions shared by the unit tests.

use crate::error::FieldError;
use crate::model::{
    Config, HttpRoute, HttpServer, McpClient, McpProxy, McpProxyRoute, McpServer, TcpServer,
};

/// The aggregation demo from the workspace's `examples/`.
pub(crate) const DEMO: &str = include_str!("../../examples/demo.yaml");

/// The guarded endpoint from the workspace's `examples/`.
pub(crate) const GUARDED: &str = include_str!("../../examples/guarded.yaml");

/// GitHub's toolkit over an explicit south chain, from the workspace's `examples/`.
pub(crate) const GITHUB: &str = include_str!("../../examples/github.yaml");

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

/// github.yaml with each `(from, to)` applied in turn, as [`demo_with`] does.
#[track_caller]
pub(crate) fn github_with(edits: &[(&str, &str)]) -> String {
    edits.iter().fold(GITHUB.to_owned(), |yaml, (from, to)| {
        replace_once(&yaml, "github.yaml", from, to)
    })
}

/// The tls client of github.yaml.
pub(crate) const GITHUB_TLS: &str = "south_tls_client_github";

/// github.yaml with the tls client's options written as `options` (YAML lines
/// indented by six spaces; empty: every option left out).
pub(crate) fn github_with_tls_options(options: &str) -> String {
    let mut body =
        "    type: tls\n    kind: client\n    exit: south_tcp_client_github\n".to_owned();
    if !options.is_empty() {
        body.push_str(&format!("    options:\n{options}"));
    }
    with_binding_body(GITHUB, GITHUB_TLS, &body)
}

/// `yaml` (one of the examples) with the lines of the binding `name` after its
/// `name:` line replaced by `body` (YAML lines indented by four spaces).
#[track_caller]
pub(crate) fn with_binding_body(yaml: &str, name: &str, body: &str) -> String {
    edit_binding(yaml, name, Some(body))
}

/// `yaml` (one of the examples) without the binding `name`.
#[track_caller]
pub(crate) fn without_binding(yaml: &str, name: &str) -> String {
    edit_binding(yaml, name, None)
}

/// Replaces the body of the binding `name` (written on several lines), or with
/// `None` removes the binding.
#[track_caller]
fn edit_binding(yaml: &str, name: &str, body: Option<&str>) -> String {
    let head = format!("  {name}:");
    assert!(
        yaml.lines().any(|line| line == head),
        "no binding `{name}` written on several lines"
    );
    let mut edited = String::new();
    let mut inside = false;
    for line in yaml.lines() {
        if inside && line.starts_with("    ") {
            continue;
        }
        inside = line == head;
        match (inside, body) {
            (true, None) => continue,
            (true, Some(body)) => edited.push_str(&format!("{line}\n{body}")),
            (false, _) => edited.push_str(&format!("{line}\n")),
        }
    }
    edited
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
