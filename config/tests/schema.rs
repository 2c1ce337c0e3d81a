//! The committed JSON Schema must match the model it is generated from.

use std::path::Path;

#[test]
fn committed_schema_matches_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(mcpgw_config::SCHEMA_FILE);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == mcpgw_config::json_schema(),
        "{} is out of date with the config model; regenerate it with \
         `cargo run -p mcpgw-config --example gen-schema` and review the diff",
        path.display()
    );
}

#[test]
fn schema_has_one_branch_per_binding_kind() {
    let schema: serde_json::Value = match serde_json::from_str(&mcpgw_config::json_schema()) {
        Ok(schema) => schema,
        Err(error) => panic!("the schema is not JSON: {error}"),
    };
    let branches = schema
        .pointer("/$defs/Binding/oneOf")
        .and_then(serde_json::Value::as_array)
        .map(|branches| {
            let tag = |branch: &serde_json::Value, field: &str| {
                let pointer = format!("/properties/{field}/const");
                branch
                    .pointer(&pointer)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let pairs = branches.iter().map(|b| (tag(b, "type"), tag(b, "kind")));
            pairs.collect::<Vec<_>>()
        });
    let pair = |t: &str, k: &str| (Some(t.to_owned()), Some(k.to_owned()));
    assert_eq!(
        branches,
        Some(vec![
            pair("tcp", "server"),
            pair("http", "server"),
            pair("mcp", "server"),
            pair("mcp", "proxy"),
            pair("mcp", "client"),
            pair("http", "client"),
            pair("tls", "client"),
            pair("tcp", "client"),
        ])
    );
}
