//! `Mcp-Param-*` headers (2026-07-28, `x-mcp-header`): a toolkit's tool may
//! ask that some of its arguments also travel as HTTP headers, and a server of
//! that revision refuses a `tools/call` without them (400, -32020). The
//! gateway is the client of its toolkits, so it mirrors them itself: it learns
//! the annotations from the toolkit's `tools/list` pages and adds the headers
//! to each `tools/call` it sends in the 2026-07-28 era, whatever the era of
//! the caller. A tool whose annotations break the rules is left out of the
//! list, as the revision asks of clients.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{PARAM_HEADER_PREFIX, encode_header_value};

/// The schema keyword that names an argument's header.
const ANNOTATION: &str = "x-mcp-header";

/// One argument mirrored into a header.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamHeader {
    name: HeaderName,
    /// The chain of `properties` keys from the arguments to the value.
    path: Vec<String>,
}

/// The mirrored arguments of one toolkit's tools, as last listed.
#[derive(Debug, Default)]
pub struct ParamHeaders {
    // NB: a std lock held only to look up or replace an entry.
    by_tool: RwLock<HashMap<String, Arc<[ParamHeader]>>>,
}

impl ParamHeaders {
    /// Learn the annotations of the tools on one `tools/list` page of the
    /// toolkit (its own names), and take out the tools whose annotations are
    /// invalid.
    pub fn learn(&self, page: &mut Value) {
        let Some(tools) = page.get_mut("tools").and_then(Value::as_array_mut) else {
            return;
        };
        let mut by_tool = self.by_tool.write().unwrap_or_else(|p| p.into_inner());
        tools.retain(|tool| {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                return true;
            };
            match annotations(tool.get("inputSchema").unwrap_or(&Value::Null)) {
                Ok(found) if found.is_empty() => {
                    by_tool.remove(name);
                    true
                }
                Ok(found) => {
                    by_tool.insert(name.to_owned(), found.into());
                    true
                }
                Err(why) => {
                    tracing::warn!(tool = name, reason = %why, "tool left out: invalid x-mcp-header annotation");
                    by_tool.remove(name);
                    false
                }
            }
        });
    }

    /// Add the `Mcp-Param-*` headers of a `tools/call` of `tool` with `arguments`.
    pub fn apply(&self, tool: &str, arguments: Option<&Value>, headers: &mut HeaderMap) {
        let known = self.by_tool.read().unwrap_or_else(|p| p.into_inner());
        let Some(params) = known.get(tool) else {
            return;
        };
        for param in params.iter() {
            let value = param
                .path
                .iter()
                .try_fold(arguments.unwrap_or(&Value::Null), |v, key| v.get(key));
            let text = match value {
                Some(Value::String(s)) => encode_header_value(s),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
                // No value: the header is left out; another type: the
                // toolkit judges the arguments, not the gateway.
                _ => continue,
            };
            if let Ok(value) = HeaderValue::from_str(&text) {
                headers.insert(param.name.clone(), value);
            }
        }
    }
}

/// The arguments of `schema` mirrored into headers, or why the annotations
/// are invalid: each must be a token, unique (ignoring case), on a string,
/// integer or boolean property reached from the root by `properties` alone.
pub fn annotations(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    walk(schema, &mut Vec::new(), true, &mut found)?;
    let mut seen = std::collections::HashSet::new();
    for param in &found {
        if !seen.insert(param.name.as_str().to_owned()) {
            return Err(format!("{} is used twice", param.name));
        }
    }
    Ok(found)
}

/// Visit `schema` at `path`; `reachable` says whether the path so far is a
/// chain of `properties` keys.
fn walk(
    schema: &Value,
    path: &mut Vec<String>,
    reachable: bool,
    found: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    match schema {
        Value::Object(map) => {
            if let Some(token) = map.get(ANNOTATION) {
                if !reachable || path.is_empty() {
                    return Err(format!(
                        "{ANNOTATION} outside a chain of properties (at {path:?})"
                    ));
                }
                found.push(param_header(token, map.get("type"), path)?);
            }
            for (key, value) in map {
                if key == "properties" {
                    let Value::Object(props) = value else {
                        continue;
                    };
                    for (name, prop) in props {
                        path.push(name.clone());
                        walk(prop, path, reachable, found)?;
                        path.pop();
                    }
                } else if key != ANNOTATION {
                    // Anything under another keyword (items, anyOf, $defs, …)
                    // is not statically reachable.
                    walk(value, path, false, found)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, path, false, found)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn param_header(
    token: &Value,
    kind: Option<&Value>,
    path: &[String],
) -> Result<ParamHeader, String> {
    let Some(token) = token.as_str().filter(|t| !t.is_empty()) else {
        return Err(format!(
            "{ANNOTATION} of {path:?} is not a non-empty string"
        ));
    };
    if !token.bytes().all(is_tchar) {
        return Err(format!("{ANNOTATION} {token:?} is not an HTTP token"));
    }
    if !matches!(
        kind.and_then(Value::as_str),
        Some("string" | "integer" | "boolean")
    ) {
        return Err(format!(
            "{ANNOTATION} {token:?} is on a property that is not a string, integer or boolean"
        ));
    }
    let name = HeaderName::try_from(format!("{PARAM_HEADER_PREFIX}{token}"))
        .map_err(|_| format!("{ANNOTATION} {token:?} makes no header name"))?;
    Ok(ParamHeader {
        name,
        path: path.to_vec(),
    })
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_properties_are_mirrored_and_encoded() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {
                "dry": {"type": "boolean", "x-mcp-header": "Dry"},
                "n": {"type": "integer", "x-mcp-header": "N"}}},
            "query": {"type": "string"}}});
        let params = ParamHeaders::default();
        let mut page = json!({"tools": [{"name": "sql", "inputSchema": schema}]});
        params.learn(&mut page);
        assert_eq!(page["tools"].as_array().unwrap().len(), 1);
        let mut headers = HeaderMap::new();
        let arguments = json!({"region": "Zürich", "opts": {"dry": true, "n": -7}, "query": "x"});
        params.apply("sql", Some(&arguments), &mut headers);
        assert_eq!(headers["mcp-param-region"], "=?base64?WsO8cmljaA==?=");
        assert_eq!(headers["mcp-param-dry"], "true");
        assert_eq!(headers["mcp-param-n"], "-7");
        let mut none = HeaderMap::new();
        params.apply("sql", Some(&json!({"query": "x"})), &mut none);
        assert!(none.is_empty(), "absent values send no header");
    }

    #[test]
    fn tools_with_invalid_annotations_are_left_out_of_the_list() {
        let bad = [
            json!({"properties": {"a": {"type": "number", "x-mcp-header": "A"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": ""}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "A B"}}}),
            json!({"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}}),
            json!({"properties": {"a": {"anyOf": [{"type": "string", "x-mcp-header": "A"}]}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "A"},
                                  "b": {"type": "string", "x-mcp-header": "a"}}}),
        ];
        for schema in bad {
            let params = ParamHeaders::default();
            let mut page = json!({"tools": [
                {"name": "bad", "inputSchema": schema},
                {"name": "fine", "inputSchema": {"type": "object"}}]});
            params.learn(&mut page);
            let names: Vec<_> = page["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].clone())
                .collect();
            assert_eq!(names, [json!("fine")], "{schema}");
        }
    }
}
