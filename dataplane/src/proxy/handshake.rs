//! The downstream `initialize`: open every toolkit's upstream session with the
//! client's own capabilities, then answer with what the toolkits offer together.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::relay::upstream_error;
use super::{Naming, Proxy};
use crate::jsonrpc::ErrorObject;
use crate::north::Session;
use crate::south::UpstreamSession;

impl Proxy {
    /// The `InitializeResult` for a new session. Fails only when no toolkit answers.
    pub async fn initialize(&self, session: &Arc<Session>) -> Result<Value, ErrorObject> {
        let opens = self.toolkits.iter().map(|toolkit| async move {
            let slot = session.upstream(&toolkit.name);
            (toolkit, slot.get(&toolkit.client, &session.hello).await)
        });
        let mut opened = Vec::new();
        let mut first_error = None;
        let mut any_failed = false;
        for (toolkit, result) in futures_util::future::join_all(opens).await {
            match result {
                Ok(upstream) => opened.push((toolkit.name.clone(), upstream)),
                Err(e) => {
                    // The toolkit stays closed; its session opens on first use.
                    tracing::warn!(toolkit = %toolkit.name, error = %e, "upstream initialize failed");
                    any_failed = true;
                    first_error.get_or_insert_with(|| upstream_error(&toolkit.name, &e));
                }
            }
        }
        if opened.is_empty()
            && let Some(e) = first_error
        {
            return Err(e);
        }
        let mut result = match (&self.naming, opened.as_slice()) {
            // One toolkit, unchanged names: the client sees that server itself.
            (Naming::Unchanged { .. }, [(_, only)]) => only.init.clone(),
            _ => self.merged_init(&opened, any_failed),
        };
        if let Some(obj) = result.as_object_mut() {
            obj.insert(
                "protocolVersion".into(),
                Value::from(session.protocol_version),
            );
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
            "serverInfo": {
                "name": "mcpgw",
                "title": self.title,
                "version": env!("CARGO_PKG_VERSION"),
            },
        });
        if !instructions.is_empty() {
            result["instructions"] = Value::from(instructions.join("\n\n"));
        }
        result
    }
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
