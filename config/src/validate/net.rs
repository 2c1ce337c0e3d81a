//! Network names and addresses: listener hosts, allowed origins, upstream URLs.

use std::net::IpAddr;

use url::Url;

use crate::error::Invalid;

/// An IP address (v4 or v6, without brackets) or an RFC 1123 host name.
pub(crate) fn is_host(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok() || is_host_name(host)
}

fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    // An all-digit last label would make it an (invalid) IPv4 address.
    let last_is_numeric = labels
        .last()
        .is_some_and(|label| label.bytes().all(|b| b.is_ascii_digit()));
    host.len() <= 253 && labels.iter().all(label_ok) && !last_is_numeric
}

/// An allowed origin, `scheme://host[:port]`, normalised the way browsers send
/// the `Origin` header: lower case, default port removed.
pub(crate) fn origin(raw: &str) -> Result<String, Invalid> {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(Invalid::Origin("missing `scheme://`".to_owned()));
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(Invalid::Origin(
            "the scheme must be `http` or `https`".to_owned(),
        ));
    }
    if rest.contains(['/', '?', '#']) {
        let reason = "must not have a path, query or fragment";
        return Err(Invalid::Origin(reason.to_owned()));
    }
    if rest.contains('@') {
        return Err(Invalid::Origin("must not contain user info".to_owned()));
    }
    let url = Url::parse(raw).map_err(|error| Invalid::Origin(error.to_string()))?;
    Ok(url.origin().ascii_serialization())
}

/// An upstream MCP endpoint: an absolute `http` URL with a host, without user
/// info or fragment.
pub(crate) fn http_url(raw: &str) -> Result<Url, Invalid> {
    let url = absolute_url(raw, Schemes::Http)?;
    if url.fragment().is_some() {
        return Err(Invalid::UrlFragment);
    }
    Ok(url)
}

/// A URL the gateway fetches or shows to clients (a JWKS, an authorization
/// server, a page to visit): an absolute `http` or `https` URL with a host and
/// without user info. Callers that need it refuse a fragment themselves.
pub(crate) fn web_url(raw: &str) -> Result<Url, Invalid> {
    absolute_url(raw, Schemes::Web)
}

/// [`web_url`] without a fragment.
pub(crate) fn web_url_without_fragment(raw: &str) -> Result<Url, Invalid> {
    let url = web_url(raw)?;
    if url.fragment().is_some() {
        return Err(Invalid::UrlFragment);
    }
    Ok(url)
}

/// The schemes a URL may have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Schemes {
    /// `http` or `https`, for upstream MCP endpoints.
    Http,
    /// `http` or `https`.
    Web,
}

fn absolute_url(raw: &str, schemes: Schemes) -> Result<Url, Invalid> {
    let (invalid, expected, shape): (fn(String) -> Invalid, _, _) = match schemes {
        Schemes::Http => (
            Invalid::NotHttpUrl,
            "`http` or `https`",
            "`http(s)://host[:port]/path`",
        ),
        Schemes::Web => (
            Invalid::NotWebUrl,
            "`http` or `https`",
            "`http(s)://host[:port]/path`",
        ),
    };
    let url = Url::parse(raw).map_err(|error| invalid(error.to_string()))?;
    let scheme_length = match (url.scheme(), schemes) {
        ("http", _) => "http://".len(),
        ("https", _) => "https://".len(),
        (other, _) => return Err(invalid(format!("scheme `{other}`, expected {expected}"))),
    };
    // NB: the url crate repairs `http:host` and `http:/host`; insist on the real thing.
    let has_slashes = raw
        .get(..scheme_length)
        .is_some_and(|start| start.eq_ignore_ascii_case(&format!("{}://", url.scheme())));
    if !has_slashes || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("expected {shape}")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::UrlUserinfo);
    }
    Ok(url)
}
