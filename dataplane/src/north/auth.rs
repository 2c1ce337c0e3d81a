//! The guard of one endpoint (`options.authorization`): who makes each
//! request, the `WWW-Authenticate` challenges that tell a client how to get
//! a token, and the RFC 9728 protected-resource metadata they point at.
//!
//! No token makes an anonymous caller, who reaches only open routes; when no
//! route is open, a request without a token gets 401 so that the client
//! starts authorization. A token that does not pass gets 401 and the request
//! goes no further.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use mcpgw_config::{AuthorizationPlan, EndpointPlan};
use serde_json::{Value, json};
use url::Position;

use super::rejection::Rejection;
use crate::guard::{Denied, GuardError, JwtGuard, KeyFetcher};
use crate::metrics::{Metrics, Refusal};
use crate::principal::Principal;
use crate::south::HttpClient;

/// Where protected-resource metadata is served (RFC 9728 §3), followed by
/// the endpoint's path.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// A guard whose settings the data plane cannot use (e.g. an inline key it
/// cannot read), named by its config path.
#[derive(Debug, thiserror::Error)]
#[error("guards.{guard}.options.{source}")]
pub struct GuardBuildError {
    guard: String,
    source: GuardError,
}

/// The guard of an endpoint.
#[derive(Debug)]
pub struct Authenticator {
    plan: AuthorizationPlan,
    guard: Arc<JwtGuard>,
    /// The endpoint's path, e.g. `/mcp`.
    path: String,
    /// Whether any route admits anonymous callers.
    open_routes: bool,
    metrics: Arc<Metrics>,
}

impl Authenticator {
    /// The guard of `endpoint` at `path`, if it has one. The key cache of
    /// `previous` (the endpoint this one replaces on reload) is kept when the
    /// guard's settings did not change.
    pub fn new(
        endpoint: &EndpointPlan,
        path: &str,
        previous: Option<&Authenticator>,
        metrics: Arc<Metrics>,
        http: &HttpClient,
    ) -> Result<Option<Self>, GuardBuildError> {
        let Some(plan) = &endpoint.authorization else {
            return Ok(None);
        };
        let guard = match previous {
            Some(p) if p.plan.jwt == plan.jwt => p.guard.clone(),
            _ => {
                // NB: a guard that trusts CA bundles of its own gets a client of
                // its own; the rest share the gateway's default one.
                let fetcher = if plan.jwt.trust_files.is_empty() {
                    KeyFetcher::over(http.clone())
                } else {
                    KeyFetcher::over(HttpClient::trusting(&plan.jwt.trust_files))
                };
                let guard =
                    JwtGuard::new(&plan.jwt, fetcher).map_err(|source| GuardBuildError {
                        guard: plan.guard.clone(),
                        source,
                    })?;
                // Keys from a file or URL load now, not on the first caller's request.
                guard.warm();
                Arc::new(guard)
            }
        };
        let open_routes = endpoint
            .proxy
            .toolkits
            .iter()
            .flat_map(|t| &t.access)
            .any(|rule| rule.roles.is_none());
        Ok(Some(Self {
            plan: plan.clone(),
            guard,
            path: path.to_owned(),
            open_routes,
            metrics,
        }))
    }

    /// Who makes the request with these headers; 401 when the token does not
    /// pass, or when there is none and no route is open to anonymous callers.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Rejection> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            if headers.contains_key(header::AUTHORIZATION) {
                return Err(self.invalid(headers, "the request has several Authorization headers"));
            }
            if self.open_routes {
                return Ok(Principal::Anonymous);
            }
            self.metrics.refused(Refusal::NoToken);
            return Err(self.unauthorized(headers, None, "this endpoint needs a bearer token"));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| self.plan.credentials.extract(v.trim()));
        let Some(token) = token else {
            let expected = self.plan.credentials.template();
            let reason = format!("the Authorization header is not of the form `{expected}`");
            return Err(self.invalid(headers, &reason));
        };
        match self.guard.verify(token).await {
            Ok(caller) => Ok(Principal::Caller(Arc::new(caller))),
            // NB: not the caller's fault; a 401 would send clients to re-authorize
            // in a loop while the issuer's keys are out of reach.
            Err(Denied::KeysUnavailable) => {
                tracing::warn!("a token could not be checked: the guard's keys are unavailable");
                Err(Rejection::GuardUnavailable)
            }
            Err(denied) => {
                tracing::debug!(reason = %denied, "token refused");
                Err(self.invalid(headers, &denied.to_string()))
            }
        }
    }

    /// 401 `invalid_token`.
    fn invalid(&self, headers: &HeaderMap, reason: &str) -> Rejection {
        self.metrics.refused(Refusal::InvalidToken);
        let reason = format!("Unauthorized: {reason}");
        self.unauthorized(headers, Some(("invalid_token", &reason)), &reason)
    }

    fn unauthorized(
        &self,
        headers: &HeaderMap,
        error: Option<(&str, &str)>,
        message: &str,
    ) -> Rejection {
        let scope = self.plan.resource_metadata.scopes_supported.join(" ");
        Rejection::Challenge {
            status: StatusCode::UNAUTHORIZED,
            challenge: self.challenge(headers, error, &scope),
            message: message.to_owned(),
        }
    }

    /// The caller sees the toolkit but lacks `roles` for the item asked for:
    /// 403 `insufficient_scope` naming them, or 401 for an anonymous caller,
    /// who has no token to step up from.
    pub fn needs_roles(
        &self,
        headers: &HeaderMap,
        principal: &Principal,
        roles: &[String],
    ) -> Rejection {
        self.metrics.refused(Refusal::InsufficientScope);
        let scope = roles.join(" ");
        let (status, error, message) = match principal {
            Principal::Anonymous => (
                StatusCode::UNAUTHORIZED,
                None,
                format!("Unauthorized: this needs a token with scope `{scope}`"),
            ),
            Principal::Caller(_) => (
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
                format!("Forbidden: this needs scope `{scope}`"),
            ),
        };
        let error = error.map(|e| (e, message.as_str()));
        Rejection::Challenge {
            status,
            challenge: self.challenge(headers, error, &scope),
            message,
        }
    }

    /// `Bearer resource_metadata="…"[, scope="…"][, error="…", error_description="…"]`.
    fn challenge(
        &self,
        headers: &HeaderMap,
        error: Option<(&str, &str)>,
        scope: &str,
    ) -> HeaderValue {
        let mut value = format!(
            "Bearer resource_metadata=\"{}\"",
            quoted(&self.metadata_url(headers))
        );
        if !scope.is_empty() {
            value.push_str(&format!(", scope=\"{}\"", quoted(scope)));
        }
        if let Some((error, description)) = error {
            value.push_str(&format!(
                ", error=\"{error}\", error_description=\"{}\"",
                quoted(description)
            ));
        }
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    /// The URL of this endpoint's metadata document.
    pub fn metadata_url(&self, headers: &HeaderMap) -> String {
        let (origin, path) = self.resource(headers);
        let suffix = if path == "/" { "" } else { path.as_str() };
        format!("{origin}{METADATA_PATH}{suffix}")
    }

    /// The resource identifier, split where its path starts: configured, or
    /// the URL the client called.
    fn resource(&self, headers: &HeaderMap) -> (String, String) {
        if let Some(resource) = &self.plan.resource_metadata.resource {
            let path = resource[Position::BeforePath..].trim_end_matches('/');
            return (resource[..Position::BeforePath].to_owned(), path.to_owned());
        }
        let scheme = forwarded(headers, "x-forwarded-proto")
            .filter(|p| *p == "https" || *p == "http")
            .unwrap_or("http");
        let host = forwarded(headers, "x-forwarded-host")
            .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
            .filter(|h| is_authority(h))
            .unwrap_or("localhost");
        (format!("{scheme}://{host}"), self.path.clone())
    }

    /// The RFC 9728 metadata document.
    pub fn metadata(&self, headers: &HeaderMap) -> Value {
        let metadata = &self.plan.resource_metadata;
        let (origin, path) = self.resource(headers);
        let mut document = json!({
            "resource": origin + &path,
            "authorization_servers": metadata.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !metadata.scopes_supported.is_empty() {
            document["scopes_supported"] = json!(metadata.scopes_supported);
        }
        if let Some(name) = &metadata.resource_name {
            document["resource_name"] = json!(name);
        }
        if let Some(docs) = &metadata.resource_documentation {
            document["resource_documentation"] = json!(docs);
        }
        document
    }
}

/// The first value of a proxy's `X-Forwarded-*` header.
fn forwarded<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.split(',').next()?.trim())
}

/// A plausible `host[:port]`: nothing that could break out of a URL or a quoted string.
fn is_authority(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Escape for a quoted-string (RFC 9110 §5.6.4); control characters dropped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator(resource: Option<&str>, path: &str) -> Authenticator {
        let plan = AuthorizationPlan {
            guard: "jwt".into(),
            jwt: mcpgw_config::JwtGuardPlan {
                issuer: "https://auth.example.test".into(),
                audiences: vec!["a".into()],
                // Never read: these tests check no token.
                keys: mcpgw_config::KeySource::File("/nonexistent/jwks.json".into()),
                algorithms: mcpgw_config::JwtAlgorithm::ALL.to_vec(),
                leeway: std::time::Duration::ZERO,
                roles_claim: "scope".into(),
                identity_claim: "sub".into(),
                refresh_interval: std::time::Duration::from_secs(60),
                trust_files: Vec::new(),
            },
            credentials: mcpgw_config::CredentialFormat::bearer(),
            resource_metadata: mcpgw_config::ResourceMetadataPlan {
                resource: resource.map(|r| url::Url::parse(r).expect("a URL")),
                authorization_servers: vec![],
                scopes_supported: vec![],
                resource_name: None,
                resource_documentation: None,
            },
        };
        Authenticator {
            guard: Arc::new(JwtGuard::new(&plan.jwt, KeyFetcher::default()).expect("a guard")),
            plan,
            path: path.into(),
            open_routes: true,
            metrics: Arc::default(),
        }
    }

    #[test]
    fn metadata_urls_put_the_well_known_path_before_the_resource_path() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_static("gw.example.com:8443"),
        );
        let cases = [
            (
                Some("https://mcp.example.com/mcp/"),
                "/mcp",
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                Some("https://mcp.example.com/"),
                "/mcp",
                "https://mcp.example.com",
                "https://mcp.example.com/.well-known/oauth-protected-resource",
            ),
            (
                None,
                "/mcp",
                "http://gw.example.com:8443/mcp",
                "http://gw.example.com:8443/.well-known/oauth-protected-resource/mcp",
            ),
            (
                None,
                "/",
                "http://gw.example.com:8443/",
                "http://gw.example.com:8443/.well-known/oauth-protected-resource",
            ),
        ];
        for (resource, path, expected_resource, expected_url) in cases {
            let auth = authenticator(resource, path);
            assert_eq!(
                auth.metadata_url(&headers),
                expected_url,
                "{resource:?} {path}"
            );
            assert_eq!(auth.metadata(&headers)["resource"], expected_resource);
        }
    }

    #[test]
    fn quoting_keeps_header_values_valid() {
        assert_eq!(quoted(r#"a "b" \c"#), r#"a \"b\" \\c"#);
        assert_eq!(quoted("x\r\ny\u{e9}"), "xy");
        assert!(is_authority("gw.example.com:8443"));
        assert!(is_authority("[::1]:7114"));
        assert!(!is_authority("evil.com/\"x"));
        assert!(!is_authority(""));
    }
}
