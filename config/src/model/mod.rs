//! What the user writes: the binding config, in Zilla's vocabulary.
//!
//! These types derive `Serialize`, `Deserialize` and `JsonSchema`, so the
//! operator can build a config in Rust and render it with [`crate::to_yaml`],
//! and the JSON Schema (`config/schema/mcpgw-config.schema.json`) is generated
//! from them; their doc comments are the schema's descriptions.
//!
//! Deserializing with serde directly works but reports only the first problem;
//! [`crate::compile_yaml`] and [`crate::parse_yaml`] report every problem with
//! its path.

mod binding;
mod guard;
mod mcp;
mod north;
mod south;
mod telemetry;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::duration::IsoDuration;
pub use binding::{Binding, BindingKind};
pub use guard::{
    Audience, Authorization, AuthorizationMap, Guard, GuardType, Jwk, JwtAlgorithm, JwtKeys,
    JwtOptions, ResourceMetadata, StaticCredentials,
};
pub use mcp::{
    CacheOptions, CircuitBreaker, McpClient, McpClientOptions, McpProxy, McpProxyOptions,
    McpProxyRoute, McpServer, McpServerOptions, Prefix, RateLimit, Retries, ToolkitCondition,
};
pub use north::{
    HttpCondition, HttpRoute, HttpServer, HttpServerOptions, TcpServer, TcpServerOptions,
};
pub use south::{
    HttpClient, HttpClientOptions, HttpVersion, TcpClient, TcpClientOptions, TlsClient,
    TlsClientOptions,
};
pub use telemetry::{
    Exporter, ExporterType, OtlpEndpoint, OtlpOptions, OtlpOverrides, OtlpProtocol, Signal,
    Telemetry,
};

/// The built-in exit of an `mcp client`: towards the URL in `options.server`, TLS for
/// `https` (the system's roots, SNI from the host, ALPN `h2` then `http/1.1`), HTTP/1.1
/// or the h2 that ALPN chose.
pub const SYS_HTTP_CLIENT: &str = "sys:http_client";

/// Whether a field holds its default, so that rendering leaves it out.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// An mcpgw binding config: a graph of named bindings, in Zilla's vocabulary.
///
/// North chain: `tcp server` → `http server` → `mcp server` → `mcp proxy`;
/// south chain, one per toolkit: `mcp client` → `sys:http_client`, or an explicit
/// `http client` → (`tls client` →) `tcp client`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mcpgw binding config")]
pub struct Config {
    /// Name of this config, e.g. the gateway's name. Must not be empty.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Named guards, referenced by `mcp server` and `mcp client` `options.authorization`
    /// and by `mcp proxy` routes' `guarded`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub guards: IndexMap<String, Guard>,
    /// Named stores, referenced by an `mcp proxy`'s `options.cache.store`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub stores: IndexMap<String, Store>,
    /// Where traces are exported (OpenTelemetry, OTLP over HTTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
    /// The bindings, by name (letters, digits, `_` and `-`). Order is kept: listeners
    /// start in config order.
    pub bindings: IndexMap<String, Binding>,
}

impl Config {
    /// A config with this name and no bindings yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            guards: IndexMap::new(),
            stores: IndexMap::new(),
            telemetry: None,
            bindings: IndexMap::new(),
        }
    }

    /// This config with one more guard (replacing any guard of the same name).
    pub fn with_guard(mut self, name: impl Into<String>, guard: Guard) -> Self {
        self.guards.insert(name.into(), guard);
        self
    }

    /// This config with one more binding (replacing any binding of the same name).
    pub fn with_binding(mut self, name: impl Into<String>, binding: impl Into<Binding>) -> Self {
        self.bindings.insert(name.into(), binding.into());
        self
    }
}

/// A named store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Store {
    /// The kind of store; only `memory` is known.
    #[serde(rename = "type")]
    pub store_type: StoreType,
    /// The store's settings; all optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<StoreOptions>,
}

/// Options of a `memory` store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreOptions {
    /// The most entries (listing pages) the store holds, from 1 to 10000000; the least
    /// useful go first. Default 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000000), extend("default" = 10000))]
    pub max_entries: Option<u64>,
}

/// Kinds of store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreType {
    /// In-process memory, private to each data-plane replica.
    Memory,
}
