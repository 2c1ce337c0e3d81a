//! Condition types and reasons of the `status.conditions` of both kinds.
//!
//! Conditions follow the Kubernetes conventions (`metav1.Condition`): `status` is `True`,
//! `False` or `Unknown`; `reason` is one of the CamelCase words below, for programs and
//! for `kubectl get` columns; `message` says, for people, what is wrong and what to do.

/// Values of a condition's `type`.
pub mod condition_type {
    /// McpGateway: the spec is valid and its Secret exists. McpToolkit: its gateway exists,
    /// selects it, and serves it under its toolkit name.
    pub const ACCEPTED: &str = "Accepted";
    /// McpGateway: the binding config for the current generation is rendered into the
    /// ConfigMap `<gateway>-config`, and the Deployment and Service are applied.
    pub const PROGRAMMED: &str = "Programmed";
    /// McpGateway: the ready data-plane replicas report serving the config of the current
    /// generation.
    pub const READY: &str = "Ready";
    /// McpToolkit: the upstream Service and port exist (always `True` for an upstream URL),
    /// and so do the Secrets and ConfigMaps it names (credential, TLS CA bundle, client
    /// certificate) with their keys. McpGateway: the Secrets and ConfigMaps it names
    /// (session key, JWT keys) exist with their keys.
    pub const RESOLVED_REFS: &str = "ResolvedRefs";
}

/// Values of a condition's `reason`. Each names the condition type and status it goes with.
pub mod reason {
    /// `Accepted=True` (both kinds).
    pub const ACCEPTED: &str = "Accepted";
    /// `Accepted=False` (both kinds): the spec passed the API server's checks but cannot be
    /// served as written, e.g. an invalid `toolkitSelector`, or a toolkit's `tls` that the
    /// binding config refuses; the message says which field and why.
    pub const INVALID: &str = "Invalid";
    /// `Accepted=False` and `ResolvedRefs=False` (McpGateway): the session-key Secret or
    /// the JWT keys' Secret, or the key in it, does not exist; create it or fix
    /// `spec.sessionKeySecretRef` / `spec.auth.jwt.keysFrom`. `ResolvedRefs=False`
    /// (McpToolkit): the credential Secret, the CA bundle's Secret or the client
    /// certificate's Secret, or the key in it, does not exist; create it or fix
    /// `spec.credentialSecretRef` / `spec.tls`.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// `Accepted=False` and `ResolvedRefs=False` (McpGateway): the ConfigMap holding the JWT
    /// keys, or the key in it, does not exist; create it or fix `spec.auth.jwt.keysFrom`.
    /// `ResolvedRefs=False` (McpToolkit): the ConfigMap of `spec.tls.caBundle`, or its key,
    /// does not exist.
    pub const CONFIG_MAP_NOT_FOUND: &str = "ConfigMapNotFound";
    /// `Programmed=True` (McpGateway).
    pub const PROGRAMMED: &str = "Programmed";
    /// `Programmed=False` (McpGateway): no McpToolkit is accepted, and a gateway needs at
    /// least one to serve; create an McpToolkit whose `spec.gateway` names the gateway.
    pub const NO_TOOLKITS: &str = "NoToolkits";
    /// `Programmed=False` (McpGateway): the rendered binding config was rejected; the
    /// message carries the path-qualified validation errors.
    pub const INVALID_CONFIG: &str = "InvalidConfig";
    /// `Programmed=Unknown` or `Ready=False` (McpGateway): not done yet, e.g. replicas still
    /// rolling out or not yet reporting the current config.
    pub const PENDING: &str = "Pending";
    /// `Ready=True` (McpGateway).
    pub const READY: &str = "Ready";
    /// `Ready=False` (McpGateway): `spec.replicas` is 0, so nothing serves the endpoint.
    pub const SCALED_TO_ZERO: &str = "ScaledToZero";
    /// `Accepted=False` (McpToolkit): no McpGateway of the name in `spec.gateway` exists in
    /// the toolkit's namespace; create it or fix `spec.gateway`.
    pub const GATEWAY_NOT_FOUND: &str = "GatewayNotFound";
    /// `Accepted=False` (McpToolkit): the gateway's `toolkitSelector` does not match the
    /// toolkit's labels; fix the labels or the selector.
    pub const NOT_SELECTED: &str = "NotSelected";
    /// `Accepted=False` (McpToolkit): another McpToolkit of the same gateway already uses
    /// this toolkit name (the older one, by creation time then name, keeps it); choose
    /// another `spec.toolkit` (by recreating the McpToolkit, since the name is immutable).
    pub const DUPLICATE_TOOLKIT_NAME: &str = "DuplicateToolkitName";
    /// `Accepted=False` (McpToolkit): the toolkit sets `requiredRoles` or
    /// `forwardCallerToken`, which need callers' tokens, but its gateway has no `spec.auth`;
    /// add `auth` to the gateway or drop those fields.
    pub const GATEWAY_AUTH_MISSING: &str = "GatewayAuthMissing";
    /// `ResolvedRefs=True` (both kinds).
    pub const RESOLVED_REFS: &str = "ResolvedRefs";
    /// `ResolvedRefs=False` (McpToolkit): the Service in `spec.upstream.service.name` does
    /// not exist in the toolkit's namespace.
    pub const SERVICE_NOT_FOUND: &str = "ServiceNotFound";
    /// `ResolvedRefs=False` (McpToolkit): the Service exists but has no port
    /// `spec.upstream.service.port`.
    pub const SERVICE_PORT_NOT_FOUND: &str = "ServicePortNotFound";
}
