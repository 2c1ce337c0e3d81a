//! Field rules of the MCP bindings: `mcp server`, `mcp proxy`, `mcp client`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use url::Url;

use super::authorization::{self, CheckedAuthorization, CheckedMetadata};
use super::{clean, file_path, net};
use crate::error::{FieldError, Invalid};
use indexmap::IndexMap;

use crate::model::{
    CacheOptions, CircuitBreaker, IsoDuration, McpClient, McpProxy, McpProxyRoute, McpServer,
    Prefix, RateLimit, Retries, Store, ToolkitCondition,
};
use crate::plan::{
    AccessRule, Allow, CachePlan, CircuitBreakerPlan, McpServerPlan, NamePattern, PrefixMode,
    RateLimitPlan, RetryPlan, StaticCredentialsPlan,
};

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
/// Default of `mcp server` `options.max_sessions_per_caller`.
pub(crate) const DEFAULT_MAX_SESSIONS_PER_CALLER: u32 = 1000;
/// Default of `mcp server` `options.max_streams_per_caller`.
pub(crate) const DEFAULT_MAX_STREAMS_PER_CALLER: u32 = 100;
/// Bounds of `options.max_sessions_per_caller` and `options.max_streams_per_caller`.
const PER_CALLER: std::ops::RangeInclusive<u32> = 1..=1_000_000;
/// Longest allow-list pattern (`when[].tools[]` …), in characters.
const MAX_PATTERN_CHARS: usize = 512;
/// Default of `mcp client` `options.timeout`: one minute.
pub(crate) const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Bounds of `mcp client` `options.max_concurrent_requests`.
const MAX_CONCURRENT_REQUESTS: std::ops::RangeInclusive<u32> = 1..=100_000;
/// Bounds of `options.rate_limit.requests`.
const RATE_LIMIT_REQUESTS: std::ops::RangeInclusive<u32> = 1..=1_000_000;
/// Default of `options.rate_limit.per`: one second.
pub(crate) const DEFAULT_RATE_LIMIT_PER: Duration = Duration::from_secs(1);
/// Upper bound of `options.rate_limit.per`: one hour (`PT1H`).
const MAX_RATE_LIMIT_PER: Duration = Duration::from_secs(3_600);
/// Bounds of `options.retries.attempts`.
const RETRY_ATTEMPTS: std::ops::RangeInclusive<u32> = 1..=5;
/// Default of `options.retries.backoff`: a tenth of a second.
pub(crate) const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Upper bound of `options.retries.backoff`: ten seconds (`PT10S`).
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(10);
/// Default of `options.circuit_breaker.failures`.
pub(crate) const DEFAULT_BREAKER_FAILURES: u32 = 5;
/// Bounds of `options.circuit_breaker.failures`.
const BREAKER_FAILURES: std::ops::RangeInclusive<u32> = 1..=1000;
/// Default of `options.circuit_breaker.cool_down`: thirty seconds.
pub(crate) const DEFAULT_BREAKER_COOL_DOWN: Duration = Duration::from_secs(30);
/// Upper bound of `options.circuit_breaker.cool_down`: one hour (`PT1H`).
const MAX_BREAKER_COOL_DOWN: Duration = Duration::from_secs(3_600);

/// Default of a `memory` store's `options.max_entries`.
const DEFAULT_STORE_ENTRIES: u64 = 10_000;
/// Largest `options.max_entries` of a store.
const MAX_STORE_ENTRIES: u64 = 10_000_000;
/// Longest `options.cache.ttl`.
const MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// An `mcp proxy`'s `options.cache` at `path`, with the store it names.
fn listing_cache(
    path: &str,
    cache: &CacheOptions,
    stores: &IndexMap<String, Store>,
    broken_stores: &BTreeSet<String>,
    errors: &mut Vec<FieldError>,
) -> CachePlan {
    let ttl_path = format!("{path}.ttl");
    let ttl = positive(Some(cache.ttl), MAX_CACHE_TTL, ttl_path.clone(), errors);
    if ttl > MAX_CACHE_TTL {
        errors.push(FieldError::new(ttl_path, Invalid::TooLong("P1D")));
    }
    let max_entries = match stores.get(&cache.store) {
        None => {
            // A store that could not be read is reported already.
            if !broken_stores.contains(&cache.store) {
                let error = Invalid::NoSuchStore(cache.store.clone());
                errors.push(FieldError::new(format!("{path}.store"), error));
            }
            DEFAULT_STORE_ENTRIES
        }
        Some(store) => {
            let entries = store
                .options
                .as_ref()
                .and_then(|o| o.max_entries)
                .unwrap_or(DEFAULT_STORE_ENTRIES);
            if !(1..=MAX_STORE_ENTRIES).contains(&entries) {
                let field = format!("stores.{}.options.max_entries", cache.store);
                let error = Invalid::OutOfRange {
                    min: "1",
                    max: "10000000",
                };
                errors.push(FieldError::new(field, error));
            }
            entries
        }
    };
    CachePlan {
        store: cache.store.clone(),
        ttl,
        max_entries,
    }
}

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

/// An `mcp server`, ready for the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedServer {
    /// Its transport settings.
    pub plan: McpServerPlan,
    /// Its guard (`options.authorization`), if any.
    pub authorization: Option<CheckedAuthorization>,
    /// Its protected-resource metadata, defaults still to be filled in.
    pub metadata: CheckedMetadata,
}

/// An `mcp server`: returns its settings with defaults applied.
pub(crate) fn mcp_server(
    path: &str,
    server: &McpServer,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedServer> {
    let options = &server.options;
    let options_path = format!("{path}.options");
    clean(errors, |errors| {
        let field = format!("{options_path}.authorization");
        let authorization = authorization::authorization(&field, &options.authorization, errors);
        let metadata = match &options.resource_metadata {
            Some(metadata) => {
                let field = format!("{options_path}.resource_metadata");
                if options.authorization.is_empty() {
                    let error = Invalid::MetadataWithoutAuthorization;
                    errors.push(FieldError::new(&field, error));
                }
                authorization::resource_metadata(&field, metadata, errors)
            }
            None => CheckedMetadata::default(),
        };
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
            file_path(format!("{options_path}.session_key"), file, errors);
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
        let per_caller = |value: Option<u32>, default: u32, field: &str, errors: &mut Vec<_>| {
            let value = value.unwrap_or(default);
            if !PER_CALLER.contains(&value) {
                let error = Invalid::OutOfRange {
                    min: "1",
                    max: "1000000",
                };
                errors.push(FieldError::new(format!("{options_path}.{field}"), error));
            }
            value
        };
        let max_sessions_per_caller = per_caller(
            options.max_sessions_per_caller,
            DEFAULT_MAX_SESSIONS_PER_CALLER,
            "max_sessions_per_caller",
            errors,
        );
        let max_streams_per_caller = per_caller(
            options.max_streams_per_caller,
            DEFAULT_MAX_STREAMS_PER_CALLER,
            "max_streams_per_caller",
            errors,
        );
        let plan = McpServerPlan {
            allowed_origins,
            // In range, so it fits in any usize of 32 bits or more.
            max_request_bytes: usize::try_from(max_request_bytes).unwrap_or(usize::MAX),
            session_idle_timeout,
            session_key_file,
            initialize_timeout,
            max_sessions_per_caller,
            max_streams_per_caller,
        };
        CheckedServer {
            plan,
            authorization,
            metadata,
        }
    })
}

/// An `mcp proxy`, with toolkits still to be resolved to their clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedProxy {
    pub prefix: PrefixMode,
    /// The listing cache (`options.cache`) with its store's settings.
    pub cache: Option<CachePlan>,
    /// One per toolkit, in the order of each toolkit's first route.
    pub toolkits: Vec<CheckedToolkit>,
    /// Every role named in `guarded`, in route order, each once.
    pub roles: Vec<String>,
}

/// A toolkit of an `mcp proxy`, its client still to be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedToolkit {
    /// The toolkit name.
    pub name: String,
    /// The `mcp client` binding its routes exit to.
    pub client: String,
    /// One per route of the toolkit, in route order.
    pub access: Vec<AccessRule>,
}

/// An `mcp proxy`: one toolkit per route (several routes may share one), one
/// client per toolkit.
pub(crate) fn mcp_proxy(
    path: &str,
    proxy: &McpProxy,
    stores: &IndexMap<String, Store>,
    broken_stores: &BTreeSet<String>,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedProxy> {
    clean(errors, |errors| {
        let cache = proxy.options.cache.as_ref().map(|cache| {
            let path = format!("{path}.options.cache");
            listing_cache(&path, cache, stores, broken_stores, errors)
        });
        if proxy.routes.is_empty() {
            errors.push(FieldError::new(format!("{path}.routes"), Invalid::NoRoutes));
        }
        // The first route of each toolkit, and of each client.
        let mut route_of_toolkit: HashMap<&str, usize> = HashMap::new();
        let mut route_of_client: HashMap<&str, (usize, &str)> = HashMap::new();
        let mut toolkits: Vec<CheckedToolkit> = Vec::new();
        let mut roles: Vec<String> = Vec::new();
        for (index, route) in proxy.routes.iter().enumerate() {
            let route_path = format!("{path}.routes[{index}]");
            let guarded = guarded(&route_path, route, errors);
            for role in guarded.iter().flatten() {
                if !roles.contains(role) {
                    roles.push(role.clone());
                }
            }
            let [condition] = route.when.as_slice() else {
                let error = Invalid::ToolkitCondition;
                errors.push(FieldError::new(format!("{route_path}.when"), error));
                continue;
            };
            let condition_path = format!("{route_path}.when[0]");
            let rule = AccessRule {
                allow: allow(&condition_path, condition, errors),
                roles: guarded,
            };
            let name = condition.toolkit.as_str();
            let field = format!("{condition_path}.toolkit");
            if !is_dns_label(name) {
                errors.push(FieldError::new(field, Invalid::ToolkitName));
                continue;
            }
            if let Some(&first) = route_of_toolkit.get(name) {
                let first_exit = &proxy.routes[first].exit;
                if *first_exit == route.exit {
                    if let Some(toolkit) = toolkits.iter_mut().find(|t| t.name == name) {
                        toolkit.access.push(rule);
                    }
                } else {
                    let error = Invalid::DuplicateToolkit {
                        name: name.to_owned(),
                        first: format!("routes[{first}]"),
                        client: first_exit.clone(),
                    };
                    errors.push(FieldError::new(field, error));
                }
                continue;
            }
            if let Some((first, toolkit)) = route_of_client.get(route.exit.as_str()) {
                let error = Invalid::DuplicateClient {
                    client: route.exit.clone(),
                    first: format!("routes[{first}]"),
                    toolkit: (*toolkit).to_owned(),
                };
                errors.push(FieldError::new(format!("{route_path}.exit"), error));
                continue;
            }
            route_of_toolkit.insert(name, index);
            route_of_client.insert(&route.exit, (index, name));
            toolkits.push(CheckedToolkit {
                name: name.to_owned(),
                client: route.exit.clone(),
                access: vec![rule],
            });
        }
        let prefix = match proxy.options.prefix {
            None | Some(Prefix::Always) => PrefixMode::Always,
            Some(Prefix::Never) => {
                // Counted from the toolkit names, whether or not they are valid.
                let mut names: Vec<&str> = proxy
                    .routes
                    .iter()
                    .filter_map(|route| route.when.first())
                    .map(|condition| condition.toolkit.as_str())
                    .collect();
                names.sort_unstable();
                names.dedup();
                if names.len() != 1 {
                    let field = format!("{path}.options.prefix");
                    errors.push(FieldError::new(field, Invalid::PrefixNever));
                }
                PrefixMode::Never
            }
        };
        CheckedProxy {
            prefix,
            cache,
            toolkits,
            roles,
        }
    })
}

/// A route's `guarded`: at most one guard (whether it is the endpoint's is
/// checked in `graph`), its roles not blank. `None`: open to anyone.
fn guarded(
    route_path: &str,
    route: &McpProxyRoute,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<String>> {
    let path = format!("{route_path}.guarded");
    if route.guarded.len() > 1 {
        errors.push(FieldError::new(
            &path,
            Invalid::OneGuard(route.guarded.len()),
        ));
    }
    for (guard, roles) in &route.guarded {
        for (index, role) in roles.iter().enumerate() {
            if role.trim().is_empty() {
                let field = format!("{path}.{guard}[{index}]");
                errors.push(FieldError::new(field, Invalid::Empty));
            }
        }
    }
    route.guarded.values().next().cloned()
}

/// The allow-lists of a route's condition.
fn allow(
    condition_path: &str,
    condition: &ToolkitCondition,
    errors: &mut Vec<FieldError>,
) -> Allow {
    Allow {
        tools: patterns(condition_path, "tools", condition.tools.as_deref(), errors),
        prompts: patterns(
            condition_path,
            "prompts",
            condition.prompts.as_deref(),
            errors,
        ),
        resources: patterns(
            condition_path,
            "resources",
            condition.resources.as_deref(),
            errors,
        ),
    }
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
    /// `options.authorization`: the guard whose tokens are forwarded, and how.
    pub forward: Option<CheckedAuthorization>,
    pub credentials: Option<StaticCredentialsPlan>,
    pub authorization_url: Option<Url>,
    pub max_concurrent_requests: Option<u32>,
    pub rate_limit: Option<RateLimitPlan>,
    pub circuit_breaker: Option<CircuitBreakerPlan>,
    pub retries: Option<RetryPlan>,
}

/// An `mcp client`: its upstream URL, timeout, limits and credentials (the exit, and
/// the guard it forwards tokens of, are checked in `graph`).
pub(crate) fn mcp_client(
    path: &str,
    client: &McpClient,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedClient> {
    let options = &client.options;
    let options_path = format!("{path}.options");
    clean(errors, |errors| {
        let server = net::http_url(&options.server)
            .map_err(|error| errors.push(FieldError::new(format!("{options_path}.server"), error)))
            .ok();
        let timeout = positive(
            options.timeout,
            DEFAULT_CLIENT_TIMEOUT,
            format!("{options_path}.timeout"),
            errors,
        );
        let field = format!("{options_path}.authorization");
        let forward = authorization::authorization(&field, &options.authorization, errors);
        let credentials = options.credentials.as_ref().and_then(|credentials| {
            let field = format!("{options_path}.credentials");
            let forwards = !options.authorization.is_empty();
            authorization::static_credentials(&field, credentials, forwards, errors)
        });
        let authorization_url = options.authorization_url.as_deref().and_then(|url| {
            let field = format!("{options_path}.authorization_url");
            authorization::authorization_url(&field, url, errors)
        });
        let max_concurrent_requests = options.max_concurrent_requests;
        if max_concurrent_requests.is_some_and(|n| !MAX_CONCURRENT_REQUESTS.contains(&n)) {
            let error = Invalid::OutOfRange {
                min: "1",
                max: "100000",
            };
            let field = format!("{options_path}.max_concurrent_requests");
            errors.push(FieldError::new(field, error));
        }
        let rate_limit = options
            .rate_limit
            .as_ref()
            .map(|rate| rate_limit(&format!("{options_path}.rate_limit"), rate, errors));
        let circuit_breaker = options.circuit_breaker.as_ref().map(|breaker| {
            circuit_breaker(&format!("{options_path}.circuit_breaker"), breaker, errors)
        });
        let retries = options
            .retries
            .as_ref()
            .map(|r| retries(&format!("{options_path}.retries"), r, errors));
        Some(CheckedClient {
            server: server?,
            timeout,
            forward,
            credentials,
            authorization_url,
            max_concurrent_requests,
            rate_limit,
            circuit_breaker,
            retries,
        })
    })
    .flatten()
}

/// `options.rate_limit` of an `mcp client`, defaults applied.
fn rate_limit(path: &str, rate: &RateLimit, errors: &mut Vec<FieldError>) -> RateLimitPlan {
    if !RATE_LIMIT_REQUESTS.contains(&rate.requests) {
        let error = Invalid::OutOfRange {
            min: "1",
            max: "1000000",
        };
        errors.push(FieldError::new(format!("{path}.requests"), error));
    }
    let field = format!("{path}.per");
    let per = positive(rate.per, DEFAULT_RATE_LIMIT_PER, field.clone(), errors);
    if per > MAX_RATE_LIMIT_PER {
        errors.push(FieldError::new(field, Invalid::TooLong("PT1H")));
    }
    RateLimitPlan {
        requests: rate.requests,
        per,
    }
}

/// `options.retries` of an `mcp client`, defaults applied.
fn retries(path: &str, retries: &Retries, errors: &mut Vec<FieldError>) -> RetryPlan {
    if !RETRY_ATTEMPTS.contains(&retries.attempts) {
        let error = Invalid::OutOfRange { min: "1", max: "5" };
        errors.push(FieldError::new(format!("{path}.attempts"), error));
    }
    let field = format!("{path}.backoff");
    let backoff = positive(
        retries.backoff,
        DEFAULT_RETRY_BACKOFF,
        field.clone(),
        errors,
    );
    if backoff > MAX_RETRY_BACKOFF {
        errors.push(FieldError::new(field, Invalid::TooLong("PT10S")));
    }
    RetryPlan {
        attempts: retries.attempts,
        backoff,
    }
}

/// `options.circuit_breaker` of an `mcp client`, defaults applied.
fn circuit_breaker(
    path: &str,
    breaker: &CircuitBreaker,
    errors: &mut Vec<FieldError>,
) -> CircuitBreakerPlan {
    let failures = breaker.failures.unwrap_or(DEFAULT_BREAKER_FAILURES);
    if !BREAKER_FAILURES.contains(&failures) {
        let error = Invalid::OutOfRange {
            min: "1",
            max: "1000",
        };
        errors.push(FieldError::new(format!("{path}.failures"), error));
    }
    let field = format!("{path}.cool_down");
    let cool_down = positive(
        breaker.cool_down,
        DEFAULT_BREAKER_COOL_DOWN,
        field.clone(),
        errors,
    );
    if cool_down > MAX_BREAKER_COOL_DOWN {
        errors.push(FieldError::new(field, Invalid::TooLong("PT1H")));
    }
    CircuitBreakerPlan {
        failures,
        cool_down,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cache;
#[cfg(test)]
mod tests_limits;
