//! Rules of the explicit south chains (`http client` → (`tls client` →) `tcp
//! client`): a chain agrees with the scheme of each mcp client's server, and a
//! tls client offers by ALPN only what the http client before it may speak.
//!
//! Chains may be shared by several mcp clients; each is checked, and compiled,
//! from the mcp client it starts at.

use crate::error::{FieldError, Invalid};
use crate::model::{Binding, Config, HttpClient, HttpVersion, McpClient, SYS_HTTP_CLIENT};
use crate::validate::http_url;

/// What an http client may speak when its `versions` are left out.
const EVERY_VERSION: [HttpVersion; 2] = [HttpVersion::Http11, HttpVersion::H2];

/// Where an mcp client's requests go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum South<'a> {
    /// `sys:http_client`.
    Builtin,
    /// An explicit chain.
    Chain(Chain<'a>),
}

/// The binding names of an explicit chain whose every exit names a binding of
/// the right kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chain<'a> {
    pub http: &'a str,
    pub tls: Option<&'a str>,
    pub tcp: &'a str,
}

impl Chain<'_> {
    /// The chain's bindings, in order.
    pub(crate) fn bindings(&self) -> Vec<String> {
        let names = [Some(self.http), self.tls, Some(self.tcp)];
        names.into_iter().flatten().map(str::to_owned).collect()
    }

    /// `` `a` → `b` ``, for messages.
    fn describe(&self) -> String {
        let names: Vec<String> = self.bindings().iter().map(|n| format!("`{n}`")).collect();
        names.join(" → ")
    }
}

/// The south chain that the mcp client exit `exit` leads to; `None` when an exit
/// on the way names nothing or a binding of the wrong kind (reported elsewhere).
pub(crate) fn south<'a>(config: &'a Config, exit: &'a str) -> Option<South<'a>> {
    if exit == SYS_HTTP_CLIENT {
        return Some(South::Builtin);
    }
    let Some(Binding::HttpClient(http)) = config.bindings.get(exit) else {
        return None;
    };
    let (tls, tcp) = match config.bindings.get(&http.exit)? {
        Binding::TlsClient(tls) => (Some(http.exit.as_str()), tls.exit.as_str()),
        Binding::TcpClient(_) => (None, http.exit.as_str()),
        _ => return None,
    };
    if tls.is_some() && !matches!(config.bindings.get(tcp), Some(Binding::TcpClient(_))) {
        return None;
    }
    Some(South::Chain(Chain {
        http: exit,
        tls,
        tcp,
    }))
}

/// Checks every mcp client's chain against its server, and every http client's
/// versions against the ALPN of the tls client it exits to.
pub(super) fn check(config: &Config, errors: &mut Vec<FieldError>) {
    for (name, binding) in &config.bindings {
        match binding {
            Binding::McpClient(client) => scheme_agrees(config, name, client, errors),
            Binding::HttpClient(http) => alpn_fits(config, name, http, errors),
            _ => {}
        }
    }
}

/// An `https` server needs a tls client in its chain; an `http` one must not
/// have one. Reported at the mcp client's `exit`: a shared chain may suit
/// another client, so it is this client that needs another chain (or URL).
fn scheme_agrees(config: &Config, name: &str, client: &McpClient, errors: &mut Vec<FieldError>) {
    // A server that is no http(s) URL is reported with the client's options.
    let Ok(server) = http_url(&client.options.server) else {
        return;
    };
    let Some(South::Chain(chain)) = south(config, &client.exit) else {
        return;
    };
    let error = match (server.scheme(), chain.tls) {
        ("https", None) => Invalid::TlsMissing {
            chain: chain.describe(),
            http: chain.http.to_owned(),
            tcp: chain.tcp.to_owned(),
        },
        ("http", Some(tls)) => Invalid::TlsUnwanted {
            chain: chain.describe(),
            tls: tls.to_owned(),
            http: chain.http.to_owned(),
        },
        _ => return,
    };
    errors.push(FieldError::new(format!("bindings.{name}.exit"), error));
}

/// Every ALPN protocol a tls client offers is a version the http client before
/// it may speak, and offering none leaves HTTP/1.1, which it must allow.
/// Reported at the tls client's `alpn`; its default always fits.
fn alpn_fits(config: &Config, name: &str, http: &HttpClient, errors: &mut Vec<FieldError>) {
    let Some(Binding::TlsClient(tls)) = config.bindings.get(&http.exit) else {
        return;
    };
    let Some(alpn) = &tls.options.alpn else {
        return;
    };
    let versions = http.options.versions.as_deref().unwrap_or(&EVERY_VERSION);
    if versions.is_empty() {
        // Reported with the http client's options.
        return;
    }
    let field = format!("bindings.{}.options.alpn", http.exit);
    // Each once (a repeat is reported with the http client's options).
    let listed = || {
        let names: Vec<String> = EVERY_VERSION
            .into_iter()
            .filter(|version| versions.contains(version))
            .map(|version| format!("`{}`", version.as_str()))
            .collect();
        names.join(", ")
    };
    for (index, protocol) in alpn.iter().enumerate() {
        if !versions.contains(protocol) {
            let error = Invalid::AlpnNotAVersion {
                protocol: protocol.as_str(),
                http: name.to_owned(),
                versions: listed(),
            };
            errors.push(FieldError::new(format!("{field}[{index}]"), error));
        }
    }
    if alpn.is_empty() && !versions.contains(&HttpVersion::Http11) {
        let error = Invalid::NoAlpnWithoutHttp1 {
            http: name.to_owned(),
            versions: listed(),
        };
        errors.push(FieldError::new(field, error));
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_alpn;
