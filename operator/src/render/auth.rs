//! The authentication side of rendering: the gateway's JWT guard and resource
//! metadata, a toolkit's credentials, whether the Secrets and ConfigMaps they name
//! exist, and the files the data plane finds them in.
//!
//! NB: only names of objects and keys pass through here, never their values:
//! the Deployment mounts the objects and the config names the files.

use mcpgw_config::model::{
    Audience, Guard, IsoDuration, JwtAlgorithm as ModelAlgorithm, JwtKeys, JwtOptions,
    ResourceMetadata, StaticCredentials,
};
use mcpgw_crds::{JwtAlgorithm, JwtAuth, McpGateway, McpToolkit, reason};

use super::mounts::KeySource;
use super::{Inputs, Verdict};

/// Name of the gateway's one guard in the binding config.
pub const JWT_GUARD: &str = "jwt";
/// Where the JWT keys' Secret or ConfigMap key is mounted.
pub const JWKS_DIR: &str = "/etc/mcpgw/jwks";
/// The file name of the JWT keys in [`JWKS_DIR`].
// NB: a fixed name rather than the object's key, so that no key (say `..data`, which
// the kubelet uses itself) can clash with the volume's own files.
pub const JWKS_FILE: &str = "jwks.json";
/// Where toolkits' credential Secrets are mounted, one directory per toolkit.
pub const CREDENTIALS_DIR: &str = "/etc/mcpgw/credentials";
/// The file name of a toolkit's credential in `CREDENTIALS_DIR/<toolkit>/`.
pub const CREDENTIAL_FILE: &str = "credential";

/// The path of a toolkit's credential file.
pub fn credential_path(toolkit: &str) -> String {
    format!("{CREDENTIALS_DIR}/{toolkit}/{CREDENTIAL_FILE}")
}

/// The JWT guard of a gateway's `spec.auth.jwt`.
pub fn guard(jwt: &JwtAuth) -> Guard {
    let audience = match jwt.audiences.as_slice() {
        [one] => Audience::One(one.clone()),
        many => Audience::Many(many.to_vec()),
    };
    let (keys, keys_file) = match (&jwt.jwks_url, &jwt.keys_from) {
        (Some(url), _) => (Some(JwtKeys::Url(url.clone())), None),
        (None, _) => (None, Some(format!("{JWKS_DIR}/{JWKS_FILE}"))),
    };
    Guard::jwt(JwtOptions {
        issuer: jwt.issuer.clone(),
        audience,
        keys,
        keys_file,
        algorithms: jwt
            .algorithms
            .as_ref()
            .map(|list| list.iter().map(|a| algorithm(*a)).collect()),
        // NB: an unparsable leeway is left out here; the CRD's CEL rule already refuses
        // what the config parser would.
        leeway: jwt
            .leeway
            .as_deref()
            .and_then(|l| l.parse::<IsoDuration>().ok()),
        roles: Some(jwt.roles_claim.clone()),
        identity: Some(jwt.identity_claim.clone()),
        refresh_interval: None,
        trust: Vec::new(),
    })
}

fn algorithm(algorithm: JwtAlgorithm) -> ModelAlgorithm {
    match algorithm {
        JwtAlgorithm::RS256 => ModelAlgorithm::RS256,
        JwtAlgorithm::RS384 => ModelAlgorithm::RS384,
        JwtAlgorithm::RS512 => ModelAlgorithm::RS512,
        JwtAlgorithm::PS256 => ModelAlgorithm::PS256,
        JwtAlgorithm::PS384 => ModelAlgorithm::PS384,
        JwtAlgorithm::PS512 => ModelAlgorithm::PS512,
        JwtAlgorithm::ES256 => ModelAlgorithm::ES256,
        JwtAlgorithm::ES384 => ModelAlgorithm::ES384,
        JwtAlgorithm::EdDSA => ModelAlgorithm::EdDSA,
    }
}

/// The protected-resource metadata of `spec.auth.resourceMetadata`.
pub fn resource_metadata(metadata: &mcpgw_crds::ResourceMetadata) -> ResourceMetadata {
    ResourceMetadata {
        resource: metadata.resource.clone(),
        authorization_servers: metadata.authorization_servers.clone().unwrap_or_default(),
        scopes_supported: metadata.scopes_supported.clone(),
        resource_name: metadata.resource_name.clone(),
        resource_documentation: metadata.resource_documentation.clone(),
    }
}

/// A toolkit's `options.credentials`, when it names a credential Secret.
pub fn credentials(toolkit: &McpToolkit) -> Option<StaticCredentials> {
    let reference = toolkit.spec.credential_secret_ref.as_ref()?;
    Some(StaticCredentials {
        file: credential_path(&toolkit.spec.toolkit),
        header: reference.header.clone(),
        format: reference.format.clone(),
    })
}

/// `ResolvedRefs` of the gateway: its session-key Secret and its JWT keys' object exist
/// with their keys.
pub fn gateway_refs(gateway: &McpGateway, inputs: &Inputs<'_>) -> Verdict {
    let spec = &gateway.spec;
    let session_key = spec.session_key_secret_ref.as_ref().and_then(|r| {
        KeySource::secret(&r.name, &r.key).missing("spec.sessionKeySecretRef", inputs)
    });
    let jwks = || {
        let keys_from = spec.auth.as_ref()?.jwt.keys_from.as_ref()?;
        let source = KeySource::of(keys_from)?;
        source.missing(
            &format!("spec.auth.jwt.keysFrom.{}", source.field()),
            inputs,
        )
    };
    session_key
        .or_else(jwks)
        .unwrap_or_else(|| Verdict::yes(reason::RESOLVED_REFS, "every referenced object exists"))
}

/// `ResolvedRefs=False` of a toolkit whose credential Secret (or its key) is missing.
pub fn missing_credential(toolkit: &McpToolkit, inputs: &Inputs<'_>) -> Option<Verdict> {
    let r = toolkit.spec.credential_secret_ref.as_ref()?;
    KeySource::secret(&r.name, &r.key).missing("spec.credentialSecretRef", inputs)
}

/// Why a toolkit cannot be served by a gateway without `spec.auth`, if it cannot.
pub fn needs_gateway_auth(toolkit: &McpToolkit, gateway: &McpGateway) -> Option<Verdict> {
    if gateway.spec.auth.is_some() {
        return None;
    }
    let spec = &toolkit.spec;
    let fields: Vec<&str> = [
        spec.required_roles.is_some().then_some("requiredRoles"),
        spec.forward_caller_token.then_some("forwardCallerToken"),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!fields.is_empty()).then(|| {
        Verdict::no(
            reason::GATEWAY_AUTH_MISSING,
            format!(
                "spec.{} needs callers' tokens, but McpGateway {:?} has no spec.auth: \
                 add a JWT guard to the gateway or drop the field",
                fields.join(" and spec."),
                spec.gateway
            ),
        )
    })
}
