//! The JSON Schema of the config, generated from [`crate::model`].
//!
//! The committed copy (`config/schema/mcpgw-config.schema.json`) is rewritten by
//! `cargo run -p mcpgw-config --example gen-schema`; a test fails when it drifts.

use serde_json::Value;

use crate::model::Config;

/// Where the committed schema lives, relative to the `config/` crate directory.
pub const SCHEMA_FILE: &str = "schema/mcpgw-config.schema.json";

/// The JSON Schema (draft 2020-12) of a config, pretty-printed with sorted keys
/// and a final newline: exactly the content of [`SCHEMA_FILE`].
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Config);
    // `{:#}` is serde_json's pretty printer; unlike `to_string_pretty` it has no
    // error case to handle for a `Value`.
    format!("{:#}\n", sorted(schema.to_value()))
}

/// Keys in sorted order whatever serde_json's `preserve_order` feature says, so
/// that the file does not depend on how the workspace unifies features.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
