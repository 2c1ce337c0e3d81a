//! `Mcp-Param-*` headers (2026-07-28, `x-mcp-header`): a toolkit's tool may
//! ask that some of its arguments also travel as HTTP headers, and a server of
//! that revision refuses a `tools/call` without them (400, -32020). The
//! gateway learns the annotations from the toolkit's `tools/list` pages and
//! uses them both ways: as a server it checks the headers a 2026-07-28 client
//! sends against the body ([`ParamHeaders::verify`]); as the client of its
//! toolkits it mirrors the arguments itself on each `tools/call` it sends in
//! that era, whatever the era of the caller ([`ParamHeaders::apply`]). A tool
//! whose annotations break the rules is left out of the list, as the revision
//! asks of clients.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{PARAM_HEADER_PREFIX, decode_header_value, encode_header_value};

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

    /// What is known of `tool`'s mirrored arguments (`None`: no annotations,
    /// or not listed yet).
    pub fn of(&self, tool: &str) -> Option<Arc<[ParamHeader]>> {
        let known = self.by_tool.read().unwrap_or_else(|p| p.into_inner());
        known.get(tool).cloned()
    }

    /// Add the `Mcp-Param-*` headers of a `tools/call` of `tool` with `arguments`.
    pub fn apply(&self, tool: &str, arguments: Option<&Value>, headers: &mut HeaderMap) {
        let known = self.by_tool.read().unwrap_or_else(|p| p.into_inner());
        let Some(params) = known.get(tool) else {
            return;
        };
        for param in params.iter() {
            // No value: the header is left out; another type: the toolkit
            // judges the arguments, not the gateway.
            let Some(text) = param.value_in(arguments).and_then(header_text) else {
                continue;
            };
            if let Ok(value) = HeaderValue::from_str(&encode_header_value(&text)) {
                headers.insert(param.name.clone(), value);
            }
        }
    }

    /// Check the `Mcp-Param-*` headers a client sent with a `tools/call` of
    /// `tool` against its `arguments`, as a server of the 2026-07-28 era
    /// must: each annotated argument with a value needs its header, given
    /// once, decoded equal to the value; an argument without a value, no
    /// header. `Err` says what does not match. A tool without annotations
    /// (or not listed yet) costs one lookup and checks nothing.
    pub fn verify(
        &self,
        tool: &str,
        arguments: Option<&Value>,
        headers: &HeaderMap,
    ) -> Result<(), String> {
        let known = self.by_tool.read().unwrap_or_else(|p| p.into_inner());
        let Some(params) = known.get(tool) else {
            return Ok(());
        };
        for param in params.iter() {
            let name = &param.name;
            let mut carried = headers.get_all(name).iter();
            let header = carried.next();
            if carried.next().is_some() {
                return Err(format!("{name} is given more than once"));
            }
            let value = param.value_in(arguments);
            match (header, value) {
                (None, None) => {}
                (Some(_), None) => {
                    return Err(format!(
                        "{name} is given but the body has no argument {:?}",
                        param.path
                    ));
                }
                // A value no header can carry: a client sends none.
                (None, Some(v)) if header_text(v).is_none() => {}
                (None, Some(_)) => {
                    return Err(format!(
                        "{name} is missing for the argument {:?}",
                        param.path
                    ));
                }
                (Some(header), Some(v)) => {
                    let decoded = header.to_str().ok().and_then(decode_header_value);
                    if !decoded.is_some_and(|d| carries(v, &d)) {
                        return Err(format!(
                            "{name} does not match the body's argument {:?}",
                            param.path
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl ParamHeader {
    /// The argument's value in `arguments` (`null` counts as none).
    fn value_in<'a>(&self, arguments: Option<&'a Value>) -> Option<&'a Value> {
        self.path
            .iter()
            .try_fold(arguments?, |v, key| v.get(key))
            .filter(|v| !v.is_null())
    }
}

/// The text of a value its header carries (before encoding): strings as
/// they are, integers in decimal, `true`/`false`; `None` for other values.
fn header_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Whether a header's decoded text carries `value`. Integers compare as
/// numbers, as the revision advises (`42.0` carries `42`).
fn carries(value: &Value, decoded: &str) -> bool {
    if let Value::Number(n) = value
        && let Some(whole) = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from))
    {
        let (digits, fraction) = decoded.split_once('.').unwrap_or((decoded, "0"));
        return !fraction.is_empty()
            && fraction.bytes().all(|b| b == b'0')
            && digits
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
            && digits.parse::<i128>().is_ok_and(|d| d == whole);
    }
    header_text(value).is_some_and(|text| text == decoded)
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
mod tests;
