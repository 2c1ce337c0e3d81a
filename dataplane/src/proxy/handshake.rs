//! The downstream `initialize`: open every toolkit's upstream session with the
//! client's own capabilities, then answer with what the toolkits offer together.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::relay::{upstream_challenge, upstream_error};
use super::{Challenge, Naming, Proxy};
use crate::call::Call;
use crate::jsonrpc::ErrorObject;
use crate::metrics::{Operation, Outcome};
use crate::south::UpstreamSession;

impl Proxy {
    /// The `InitializeResult` for a new session, after at most `bound`: toolkits
    /// slower than that keep opening in the background and join when ready.
    /// Only the toolkits `principal` may see are opened. Fails only when no
    /// toolkit answers: with a toolkit's challenge when one refused the
    /// caller's credentials (the client can act on it), else with an error.
    pub async fn initialize(
        &self,
        call: &Call,
        bound: Duration,
    ) -> Result<Value, InitializeFailure> {
        let mut observed = self.metrics.observe("initialize", None, "");
        if crate::telemetry::enabled() {
            crate::telemetry::record_request("initialize", None, "");
        }
        let answer = self.open_all(call, bound).await;
        observed.finish(match &answer {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::UpstreamError,
        });
        answer
    }

    pub(super) async fn open_all(
        &self,
        call: &Call,
        bound: Duration,
    ) -> Result<Value, InitializeFailure> {
        let visible = self.visible(&call.principal);
        let opens = visible.iter().map(|toolkit| {
            let open = call.upstream(toolkit).open_within(
                toolkit.client.clone(),
                call.hello.clone(),
                call.caller().cloned(),
                bound,
            );
            async move { (toolkit, open.await) }
        });
        let mut opened = Vec::new();
        let mut first_error = None;
        let mut first_challenge = None;
        let mut any_failed = false;
        for (toolkit, result) in futures_util::future::join_all(opens).await {
            let error = match result {
                Ok(upstream) => {
                    opened.push((toolkit.name.clone(), upstream));
                    continue;
                }
                // The toolkit stays closed; its session opens on first use.
                // A toolkit that sends callers to its authorization URL does so on
                // first use; the session opens without it meanwhile.
                Err(e) if toolkit.elicits_authorization(&e) => {
                    tracing::info!(toolkit = %toolkit.name, "toolkit awaits the caller's authorization");
                    any_failed = true;
                    continue;
                }
                Err(e) => {
                    if first_challenge.is_none() {
                        first_challenge = upstream_challenge(&toolkit.name, &e);
                    }
                    upstream_error(&toolkit.name, &e)
                }
            };
            tracing::warn!(toolkit = %toolkit.name, error = %error.message, "toolkit not ready at initialize");
            self.metrics
                .toolkit_failed(&toolkit.name, Operation::Initialize);
            any_failed = true;
            first_error.get_or_insert(error);
        }
        if opened.is_empty() {
            if let Some(challenge) = first_challenge {
                return Err(InitializeFailure::Challenge(challenge));
            }
            if let Some(e) = first_error {
                return Err(InitializeFailure::Error(e));
            }
        }
        let mut result = match (&self.naming, opened.as_slice()) {
            // One toolkit, unchanged names: the client sees that server itself.
            (Naming::Unchanged { .. }, [(_, only)]) => only.init.clone(),
            _ => self.merged_init(&opened, any_failed),
        };
        if let Some(obj) = result.as_object_mut() {
            obj.insert("protocolVersion".into(), Value::from(call.version));
        }
        Ok(result)
    }

    fn merged_init(&self, opened: &[(Arc<str>, Arc<UpstreamSession>)], any_failed: bool) -> Value {
        let mut capabilities = Value::Object(Map::new());
        for (_, upstream) in opened {
            merge(&mut capabilities, upstream.capabilities());
        }
        // The gateway relays list changes from any toolkit, and a toolkit that
        // is down now may offer anything once it is back.
        for list in ["tools", "prompts", "resources"] {
            let present = capabilities.get(list).is_some();
            if present || any_failed {
                merge(&mut capabilities, &json!({ list: { "listChanged": true } }));
            }
        }
        let instructions: Vec<String> = opened
            .iter()
            .filter_map(|(name, upstream)| {
                let text = upstream.init.get("instructions")?.as_str()?;
                Some(format!("## Toolkit `{name}`\n\n{text}"))
            })
            .collect();
        let mut result = json!({
            "capabilities": capabilities,
            "serverInfo": self.server_info(),
        });
        if !instructions.is_empty() {
            result["instructions"] = Value::from(instructions.join("\n\n"));
        }
        result
    }
}

/// Why a session could not be initialized.
#[derive(Debug)]
pub enum InitializeFailure {
    /// No toolkit answered; the first one's error.
    Error(ErrorObject),
    /// No toolkit answered, and one refused the caller's credentials.
    Challenge(Challenge),
}

/// Union of two capability objects: keys from both, objects merged deeply,
/// `true` wins over `false`.
fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                match into.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Bool(into), Value::Bool(from)) => *into |= *from,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_merge_as_a_union() {
        let mut caps = json!({"tools": {"listChanged": false}, "logging": {}});
        merge(
            &mut caps,
            &json!({"tools": {"listChanged": true}, "resources": {"subscribe": true}}),
        );
        assert_eq!(
            caps,
            json!({"tools": {"listChanged": true}, "logging": {}, "resources": {"subscribe": true}})
        );
    }
}
