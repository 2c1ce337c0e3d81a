//! The mcpgw custom resources, API group `mcpgw.dev`, version `v1alpha1`.
//!
//! - [`McpGateway`] (short name `mcpgtw`): one MCP endpoint and the data plane serving it.
//! - [`McpToolkit`] (short name `mcptk`): one upstream MCP server a gateway serves under a
//!   name prefix.
//!
//! Both are in the category `mcpgw` (`kubectl get mcpgw` lists both kinds).
//!
//! The types derive kube's `CustomResource`; their doc comments become the CRD
//! descriptions (and `docs/crds.md`). The CRD YAML is generated from them, committed
//! under `crds/`, and rewritten with `cargo run -p mcpgw-crds --example gen-crds`; a test
//! fails when it drifts. This crate holds types only: no client, no IO.

mod auth;
mod conditions;
mod gateway;
mod tls;
mod toolkit;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use auth::{
    CredentialSecretReference, DEFAULT_IDENTITY_CLAIM, DEFAULT_ROLES_CLAIM, GatewayAuth,
    JwtAlgorithm, JwtAuth, KeyReference, ResourceMetadata, SecretOrConfigMapKey,
};
pub use conditions::{condition_type, reason};
pub use gateway::{
    ClientLimits, DEFAULT_CACHE_TTL, DEFAULT_LISTENER_PATH, DEFAULT_LISTENER_PORT,
    DEFAULT_REPLICAS, DEFAULT_SESSION_KEY, Listener, ListingCache, McpGateway, McpGatewaySpec,
    McpGatewayStatus, SecretKeyReference, ServiceType, Telemetry,
};
pub use tls::{
    HttpVersion, TLS_SECRET_CERTIFICATE, TLS_SECRET_PRIVATE_KEY, TlsSecretReference,
    UpstreamScheme, UpstreamTls,
};
pub use toolkit::{
    CircuitBreaker, DEFAULT_TIMEOUT, DEFAULT_UPSTREAM_PATH, McpToolkit, McpToolkitSpec,
    McpToolkitStatus, RateLimit, Retries, ServiceReference, Upstream,
};

/// The API group of both kinds.
pub const GROUP: &str = "mcpgw.dev";
/// The API version of both kinds.
pub const VERSION: &str = "v1alpha1";

/// The command that rewrites the committed CRD files.
pub const GENERATE_COMMAND: &str = "cargo run -p mcpgw-crds --example gen-crds";

/// One generated CRD file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrdFile {
    /// File name, relative to the `crds/` crate directory (and to the chart's `crds/`).
    pub name: &'static str,
    /// The file's content: a header comment and the CRD as YAML.
    pub yaml: String,
}

/// Both CRDs, McpGateway first.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![McpGateway::crd(), McpToolkit::crd()]
}

/// The generated CRD files, exactly as committed.
pub fn crd_files() -> Result<Vec<CrdFile>, serde_yaml_ng::Error> {
    Ok(vec![
        CrdFile {
            name: "mcpgateway.yaml",
            yaml: crd_yaml(&McpGateway::crd())?,
        },
        CrdFile {
            name: "mcptoolkit.yaml",
            yaml: crd_yaml(&McpToolkit::crd())?,
        },
    ])
}

/// A CRD as YAML, after a header saying how it was made.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml_ng::Error> {
    // Field order is fixed by the k8s-openapi structs and the schema's BTreeMaps, so the
    // output is stable from run to run.
    let yaml = serde_yaml_ng::to_string(crd)?;
    Ok(format!(
        "# Generated from the mcpgw-crds Rust types by `{GENERATE_COMMAND}`; do not edit.\n{yaml}"
    ))
}
