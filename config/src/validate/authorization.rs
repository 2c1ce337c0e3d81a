//! Field rules of the credential settings of the MCP bindings: `options.authorization`
//! (mcp server and mcp client), `options.resource_metadata` (mcp server), and
//! `options.credentials` and `options.authorization_url` (mcp client).
//!
//! Whether the guards they name exist and agree with each other spans bindings;
//! that is checked in `graph`.

use url::Url;

use super::net;
use crate::error::{FieldError, Invalid};
use crate::model::{AuthorizationMap, ResourceMetadata, StaticCredentials};
use crate::plan::{CredentialFormat, ResourceMetadataPlan, StaticCredentialsPlan};

/// Default of `options.credentials.header`.
const DEFAULT_CREDENTIALS_HEADER: &str = "authorization";

/// Headers a static credential may not go in: the gateway sets them itself, for
/// the MCP transport or for HTTP, and a second value would break the exchange.
const RESERVED_HEADERS: [&str; 11] = [
    "mcp-session-id",
    "mcp-protocol-version",
    "content-type",
    "accept",
    "host",
    "content-length",
    "last-event-id",
    "connection",
    "transfer-encoding",
    "te",
    "upgrade",
];

/// `options.authorization` with its one guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedAuthorization {
    /// The guard's name (whether it exists is checked in `graph`).
    pub guard: String,
    /// Where the token sits in `Authorization`.
    pub credentials: CredentialFormat,
}

/// `options.authorization` at `path`: one guard and a template with the
/// placeholder once. `None` when left out (or empty) or wrong.
pub(crate) fn authorization(
    path: &str,
    map: &AuthorizationMap,
    errors: &mut Vec<FieldError>,
) -> Option<CheckedAuthorization> {
    if map.len() > 1 {
        errors.push(FieldError::new(path, Invalid::OneGuard(map.len())));
    }
    let mut checked = None;
    for (guard, authorization) in map {
        let field = format!("{path}.{guard}.credentials");
        let credentials = credential_format(&field, &authorization.credentials, errors);
        checked = checked.or(credentials.map(|credentials| CheckedAuthorization {
            guard: guard.clone(),
            credentials,
        }));
    }
    checked.filter(|_| map.len() == 1)
}

/// A template such as `Bearer {credentials}`: the placeholder exactly once, and
/// what surrounds it fit for an HTTP header value.
fn credential_format(
    path: &str,
    template: &str,
    errors: &mut Vec<FieldError>,
) -> Option<CredentialFormat> {
    let Some(format) = CredentialFormat::parse(template) else {
        errors.push(FieldError::new(path, Invalid::CredentialsPlaceholder));
        return None;
    };
    // NB: a header value is trimmed on the wire, so a prefix with a leading space
    // could never be matched; CR, LF and other controls would split the header.
    let fits = template
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
        && !template.starts_with([' ', '\t'])
        && !template.ends_with([' ', '\t']);
    if !fits {
        errors.push(FieldError::new(path, Invalid::HeaderValue));
        return None;
    }
    Some(format)
}

/// `options.resource_metadata` of an mcp server, its defaults still to be filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CheckedMetadata {
    resource: Option<Url>,
    /// Empty: the guard's issuer.
    authorization_servers: Vec<String>,
    /// `None`: every role named by the endpoint's guarded routes.
    scopes_supported: Option<Vec<String>>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
}

impl CheckedMetadata {
    /// The metadata of an endpoint whose guard has this issuer and whose guarded
    /// routes name these roles.
    pub(crate) fn plan(&self, issuer: &str, roles: &[String]) -> ResourceMetadataPlan {
        let authorization_servers = if self.authorization_servers.is_empty() {
            vec![issuer.to_owned()]
        } else {
            self.authorization_servers.clone()
        };
        ResourceMetadataPlan {
            resource: self.resource.clone(),
            authorization_servers,
            scopes_supported: self
                .scopes_supported
                .clone()
                .unwrap_or_else(|| roles.to_vec()),
            resource_name: self.resource_name.clone(),
            resource_documentation: self.resource_documentation.clone(),
        }
    }
}

/// `options.resource_metadata` at `path`.
pub(crate) fn resource_metadata(
    path: &str,
    metadata: &ResourceMetadata,
    errors: &mut Vec<FieldError>,
) -> CheckedMetadata {
    let field = |name: &str| format!("{path}.{name}");
    let resource = metadata.resource.as_deref().and_then(|resource| {
        net::web_url_without_fragment(resource)
            .map_err(|error| errors.push(FieldError::new(field("resource"), error)))
            .ok()
    });
    // Kept as written: an issuer identifier is compared character for character,
    // and the url crate would add a `/` to `https://auth.example.com`.
    for (index, server) in metadata.authorization_servers.iter().enumerate() {
        if let Err(error) = net::web_url_without_fragment(server) {
            let at = format!("{path}.authorization_servers[{index}]");
            errors.push(FieldError::new(at, error));
        }
    }
    for (index, scope) in metadata.scopes_supported.iter().flatten().enumerate() {
        if scope.trim().is_empty() {
            let at = format!("{path}.scopes_supported[{index}]");
            errors.push(FieldError::new(at, Invalid::Empty));
        }
    }
    if metadata
        .resource_name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
    {
        errors.push(FieldError::new(field("resource_name"), Invalid::Empty));
    }
    if let Some(Err(error)) = metadata.resource_documentation.as_deref().map(net::web_url) {
        errors.push(FieldError::new(field("resource_documentation"), error));
    }
    CheckedMetadata {
        resource,
        authorization_servers: metadata.authorization_servers.clone(),
        scopes_supported: metadata.scopes_supported.clone(),
        resource_name: metadata.resource_name.clone(),
        resource_documentation: metadata.resource_documentation.clone(),
    }
}

/// `options.credentials` of an mcp client at `path`. `forwards`: the client also
/// forwards the caller's token (`options.authorization`), in `Authorization`.
pub(crate) fn static_credentials(
    path: &str,
    credentials: &StaticCredentials,
    forwards: bool,
    errors: &mut Vec<FieldError>,
) -> Option<StaticCredentialsPlan> {
    let before = errors.len();
    super::file_path(format!("{path}.file"), &credentials.file, errors);
    let header_path = format!("{path}.header");
    let header = credentials
        .header
        .as_deref()
        .unwrap_or(DEFAULT_CREDENTIALS_HEADER)
        .to_ascii_lowercase();
    if !is_header_name(&header) {
        errors.push(FieldError::new(&header_path, Invalid::HeaderName));
    } else if RESERVED_HEADERS.contains(&header.as_str()) {
        errors.push(FieldError::new(
            &header_path,
            Invalid::ReservedHeader(header.clone()),
        ));
    } else if forwards && header == DEFAULT_CREDENTIALS_HEADER {
        // Point at the header when it is written, else at the credentials as a whole.
        let at = if credentials.header.is_some() {
            header_path
        } else {
            path.to_owned()
        };
        errors.push(FieldError::new(at, Invalid::CredentialsConflict));
    }
    let format = match &credentials.format {
        Some(template) => credential_format(&format!("{path}.format"), template, errors),
        None => Some(CredentialFormat::bearer()),
    };
    let plan = StaticCredentialsPlan {
        file: credentials.file.clone(),
        header,
        format: format?,
    };
    (errors.len() == before).then_some(plan)
}

/// An RFC 9110 field name: a token of letters, digits and ``!#$%&'*+-.^_`|~``.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `options.authorization_url` of an mcp client at `path`.
pub(crate) fn authorization_url(
    path: &str,
    url: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Url> {
    net::web_url(url)
        .map_err(|error| errors.push(FieldError::new(path, error)))
        .ok()
}

#[cfg(test)]
mod tests;
