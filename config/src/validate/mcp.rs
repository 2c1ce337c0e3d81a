//! Field rules of the MCP bindings: `mcp server`, `mcp proxy`, `mcp client`.

use std::collections::HashMap;
use std::time::Duration;

use url::Url;

use super::{clean, net};
use crate::error::{FieldError, Invalid};
use crate::model::{IsoDuration, McpClient, McpProxy, McpServer, Prefix};
use crate::plan::{Allow, McpServerPlan, NamePattern, PrefixMode};

/// Default of `mcp server` `options.max_request_bytes`: 4 MiB.
pub(crate) const DEFAULT_MAX_REQUEST_BYTES: u64 = 4 * 1024 * 1024;
/// Bounds of `options.max_request_bytes`.
const MAX_REQUEST_BYTES: std::ops::RangeInclusive<u64> = 1024..=64 * 1024 * 1024;
/// Default of `mcp server` `options.session_idle_timeout`: one hour.
pub(crate) const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(3_600);
/// Default of `mcp server` `options.initialize_timeout`: five seconds.
pub(crate) const DEFAULT_INITIALIZE_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound of `options.initialize_timeout`: five minutes (`PT5M`).
const MAX_INITIALIZE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest allow-list pattern (`when[].tools[]` …), in characters.
const MAX_PATTERN_CHARS: usize = 512;
/// Default of `mcp client` `options.timeout`: one minute.
pub(crate) const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// An optional duration, defaulted, that must not be zero.
fn positive(
    value: Option<IsoDuration>,
    default: Duration,
    path: String,
    errors: &mut Vec<FieldError>,
) -> Duration {
    let duration = value.map_or(default, IsoDuration::as_duration);
    if duration.is_zero() {
        errors.push(FieldError::new(path, Invalid::ZeroDuration));
    }
    duration
}

/// An `mcp server`: returns its settings with defaults applied.
pub(crate) fn mcp_server(
    path: &str,
    server: &McpServer,
    errors: &mut Vec<FieldError>,
) -> Option<McpServerPlan> {
    let options = &server.options;
    let options_path = format!("{path}.options");
    clean(errors, |errors| {
        let mut allowed_origins = Vec::new();
        for (index, raw) in options.origins.iter().enumerate() {
            match net::origin(raw) {
                // Listing an origin twice (perhaps in two spellings) is harmless.
                Ok(origin) if allowed_origins.contains(&origin) => {}
                Ok(origin) => allowed_origins.push(origin),
                Err(error) => {
                    let field = format!("{options_path}.origins[{index}]");
                    errors.push(FieldError::new(field, error));
                }
            }
        }
        let max_request_bytes = options
            .max_request_bytes
            .unwrap_or(DEFAULT_MAX_REQUEST_BYTES);
        if !MAX_REQUEST_BYTES.contains(&max_request_bytes) {
            let error = Invalid::OutOfRange {
                min: "1024",
                max: "67108864 (64 MiB)",
            };
            errors.push(FieldError::new(
                format!("{options_path}.max_request_bytes"),
                error,
            ));
        }
        let session_idle_timeout = positive(
            options.session_idle_timeout,
            DEFAULT_SESSION_IDLE_TIMEOUT,
            format!("{options_path}.session_idle_timeout"),
            errors,
        );
        let session_key_file = options.session_key.clone();
        if let Some(file) = &session_key_file {
            let field = format!("{options_path}.session_key");
            if file.is_empty() {
                errors.push(FieldError::new(field, Invalid::Empty));
            } else if file.contains('\0') {
                errors.push(FieldError::new(field, Invalid::NulCharacter));
            }
        }
        let field = format!("{options_path}.initialize_timeout");
        let initialize_timeout = positive(
            options.initialize_timeout,
            DEFAULT_INITIALIZE_TIMEOUT,
            field.clone(),
            errors,
        );
        if initialize_timeout > MAX_INITIALIZE_TIMEOUT {
            errors.push(FieldError::new(field, Invalid::TooLong("PT5M")));
        }
        McpServerPlan {
            allowed_origins,
            // In range, so it fits in any usize of 32 bits or more.
            max_request_bytes: usize::try_from(max_request_bytes).unwrap_or(usize::MAX),
            session_idle_timeout,
            session_key_file,
            initialize_timeout,
        }
    })
}

/// An `mcp proxy`, with toolkits still to be resolved to their clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedProxy {
    pub prefix: PrefixMode,
    /// One per route, in route order.
    pub toolkits: Vec<CheckedToolkit>,
}

/// A route of an `mcp proxy`, its client still to be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedToolkit {
    /// The toolkit name.
    pub name: String,
    /// The `mcp client` binding the route exits to.
    pub client: String,
    /// What of the toolkit clients may use.
    pub allow: Allow,
}

/// An `mcp proxy`: one toolkit per route, unique names, one client per toolkit.
pub(crate) fn mcp_proxy(
    path: &str,
    proxy: &McpProxy,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedProxy> {
    clean(errors, |errors| {
        if proxy.routes.is_empty() {
            errors.push(FieldError::new(format!("{path}.routes"), Invalid::NoRoutes));
        }
        let prefix = match proxy.options.prefix {
            None | Some(Prefix::Always) => PrefixMode::Always,
            Some(Prefix::Never) => {
                if proxy.routes.len() != 1 {
                    let field = format!("{path}.options.prefix");
                    errors.push(FieldError::new(field, Invalid::PrefixNever));
                }
                PrefixMode::Never
            }
        };
        let mut route_of_toolkit: HashMap<&str, String> = HashMap::new();
        let mut route_of_client: HashMap<&str, String> = HashMap::new();
        let mut toolkits = Vec::new();
        for (index, route) in proxy.routes.iter().enumerate() {
            let route_path = format!("{path}.routes[{index}]");
            let this_route = format!("routes[{index}]");
            if let Some(first) = route_of_client.get(route.exit.as_str()) {
                let error = Invalid::DuplicateClient {
                    client: route.exit.clone(),
                    first: first.clone(),
                };
                errors.push(FieldError::new(format!("{route_path}.exit"), error));
            } else {
                route_of_client.insert(&route.exit, this_route.clone());
            }
            let [condition] = route.when.as_slice() else {
                let error = Invalid::ToolkitCondition;
                errors.push(FieldError::new(format!("{route_path}.when"), error));
                continue;
            };
            let condition_path = format!("{route_path}.when[0]");
            let allow = Allow {
                tools: patterns(&condition_path, "tools", condition.tools.as_deref(), errors),
                prompts: patterns(
                    &condition_path,
                    "prompts",
                    condition.prompts.as_deref(),
                    errors,
                ),
                resources: patterns(
                    &condition_path,
                    "resources",
                    condition.resources.as_deref(),
                    errors,
                ),
            };
            let name = condition.toolkit.as_str();
            let field = format!("{condition_path}.toolkit");
            if !is_dns_label(name) {
                errors.push(FieldError::new(field, Invalid::ToolkitName));
            } else if let Some(first) = route_of_toolkit.get(name) {
                let error = Invalid::DuplicateToolkit {
                    name: name.to_owned(),
                    first: first.clone(),
                };
                errors.push(FieldError::new(field, error));
            } else {
                route_of_toolkit.insert(name, this_route);
                toolkits.push(CheckedToolkit {
                    name: name.to_owned(),
                    client: route.exit.clone(),
                    allow,
                });
            }
        }
        CheckedProxy { prefix, toolkits }
    })
}

/// An allow-list (`when[0].<field>`): each pattern non-empty and at most
/// [`MAX_PATTERN_CHARS`] characters. `None` (no list) allows everything.
fn patterns(
    condition_path: &str,
    field: &str,
    list: Option<&[String]>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<NamePattern>> {
    let list = list?;
    for (index, pattern) in list.iter().enumerate() {
        let error = if pattern.is_empty() {
            Invalid::Empty
        } else if pattern.chars().count() > MAX_PATTERN_CHARS {
            Invalid::PatternTooLong(MAX_PATTERN_CHARS)
        } else {
            continue;
        };
        errors.push(FieldError::new(
            format!("{condition_path}.{field}[{index}]"),
            error,
        ));
    }
    Some(
        list.iter()
            .map(|pattern| NamePattern::new(pattern))
            .collect(),
    )
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 63 characters. Such a name can
/// never contain the `__` and `+` separators of prefixed names.
fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// An `mcp client`, ready for the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedClient {
    pub server: Url,
    pub timeout: Duration,
}

/// An `mcp client`: its upstream URL and timeout (the exit is checked in `graph`).
pub(crate) fn mcp_client(
    path: &str,
    client: &McpClient,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedClient> {
    let options_path = format!("{path}.options");
    let server = net::http_url(&client.options.server)
        .map_err(|error| errors.push(FieldError::new(format!("{options_path}.server"), error)))
        .ok();
    let timeout = clean(errors, |errors| {
        positive(
            client.options.timeout,
            DEFAULT_CLIENT_TIMEOUT,
            format!("{options_path}.timeout"),
            errors,
        )
    });
    Some(CheckedClient {
        server: server?,
        timeout: timeout?,
    })
}
