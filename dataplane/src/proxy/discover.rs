//! `server/discover` (2026-07-28): what the toolkits offer together, the
//! versions the gateway serves and who it is, asked of each toolkit the
//! caller sees as the handshake asks it (through the toolkits' upstream
//! sessions for stateless clients, opened here when needed).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{InitializeFailure, Proxy};
use crate::call::Call;
use crate::era;
use crate::metrics::Outcome;

impl Proxy {
    /// The gateway's `Implementation`: its name, the config's name as title, its version.
    pub fn server_info(&self) -> Value {
        server_info(&self.title)
    }

    /// Each toolkit with the protocol eras its upstream was found to speak
    /// (for `/readyz`).
    pub fn toolkit_eras(&self) -> impl Iterator<Item = (&str, Value)> {
        self.toolkits.iter().map(|t| (&*t.name, t.eras()))
    }

    /// The `DiscoverResult` for `call` (without `resultType` and caching
    /// hints, which the edge stamps on every result), after at most `bound`.
    /// Fails as `initialize` does: only when no toolkit answers.
    pub async fn discover(&self, call: &Call, bound: Duration) -> Result<Value, InitializeFailure> {
        let mut observed = self.metrics.observe("server/discover", None, "");
        if crate::telemetry::enabled() {
            crate::telemetry::record_request("server/discover", None, "");
        }
        let opened = self.open_all(call, bound).await;
        observed.finish(match &opened {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::UpstreamError,
        });
        let init = opened?;
        let mut result = Map::new();
        result.insert("supportedVersions".into(), Value::from(era::all_versions()));
        let mut capabilities = init.get("capabilities").cloned().unwrap_or(json!({}));
        offered_without_a_session(&mut capabilities);
        result.insert("capabilities".into(), capabilities);
        if let Some(instructions) = init.get("instructions") {
            result.insert("instructions".into(), instructions.clone());
        }
        let info = init
            .get("serverInfo")
            .cloned()
            .unwrap_or_else(|| self.server_info());
        result.insert("_meta".into(), json!({ era::meta::SERVER_INFO: info }));
        Ok(Value::Object(result))
    }
}

/// Capabilities as a stateless client can use them: change notifications and
/// resource subscriptions stay (the gateway serves `subscriptions/listen`);
/// tasks are an extension in that era, which the gateway does not offer (yet).
fn offered_without_a_session(capabilities: &mut Value) {
    if let Some(obj) = capabilities.as_object_mut() {
        obj.remove("tasks");
    }
}

/// The gateway's `Implementation`, titled with the config's name.
pub(super) fn server_info(title: &str) -> Value {
    json!({
        "name": "mcpgw",
        "title": title,
        "version": env!("CARGO_PKG_VERSION"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_not_offered_without_a_session_but_subscriptions_are() {
        let mut caps = json!({
            "tools": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true},
            "tasks": {"list": {}},
            "completions": {},
            "logging": {},
        });
        offered_without_a_session(&mut caps);
        assert_eq!(
            caps,
            json!({
                "tools": {"listChanged": true},
                "resources": {"subscribe": true, "listChanged": true},
                "completions": {},
                "logging": {},
            })
        );
    }
}
