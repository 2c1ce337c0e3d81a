//! YAML → [`Config`], reporting every shape problem with its path.
//!
//! Two phases, because serde's derived tagged enums lose error paths: the
//! document is read into a YAML [`Value`], then each binding's `type`/`kind`
//! picks the per-kind struct, which is deserialized from its own value through
//! `serde_path_to_error` with the binding's path as prefix. A broken binding
//! does not hide the problems of the others.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use serde_yaml_ng::{Mapping, Value};

use crate::error::{FieldError, Invalid, ROOT};
use crate::model::{Binding, BindingKind, Config, Guard, Jwk, Store};

/// A document that could be read as a mapping, with what was wrong in it.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The config, without the bindings and guards that could not be read.
    pub config: Config,
    /// What was left out of `config` because of its errors.
    pub broken: Broken,
    /// Shape errors (syntax errors are fatal and returned instead of a `Parsed`).
    pub errors: Vec<FieldError>,
}

/// Names of the bindings and guards that exist in the document but could not be
/// read (their errors are already reported): references to them are not reported
/// again as references to nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Broken {
    pub bindings: BTreeSet<String>,
    pub guards: BTreeSet<String>,
    pub stores: BTreeSet<String>,
}

impl Broken {
    /// Whether everything could be read.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty() && self.guards.is_empty() && self.stores.is_empty()
    }
}

/// Reads a YAML document; `Err` when it is not even a YAML mapping.
pub(crate) fn parse(yaml: &str) -> Result<Parsed, Vec<FieldError>> {
    let mut value: Value = serde_yaml_ng::from_str(yaml).map_err(|e| vec![syntax_error(&e)])?;
    value.apply_merge().map_err(|e| vec![syntax_error(&e)])?;
    let Value::Mapping(root) = value else {
        return Err(vec![FieldError::new(
            ROOT,
            Invalid::WrongType {
                found: describe(&value),
                expected: "a mapping with `name` and `bindings`",
            },
        )]);
    };
    let mut parsed = Parsed {
        config: Config::new(""),
        broken: Broken::default(),
        errors: Vec::new(),
    };
    let (mut saw_name, mut saw_bindings) = (false, false);
    for (key, value) in root {
        let Value::String(key) = key else {
            let error = Invalid::NonStringKey(describe(&key).to_owned());
            parsed.errors.push(FieldError::new(ROOT, error));
            continue;
        };
        match key.as_str() {
            "name" => {
                saw_name = true;
                if let Some(name) = decode(value, "name", &mut parsed.errors) {
                    parsed.config.name = name;
                }
            }
            "stores" => {
                for (name, value) in entries(value, "stores", &mut parsed.errors) {
                    let path = join("stores", &name);
                    match decode::<Store>(value, &path, &mut parsed.errors) {
                        Some(store) => {
                            parsed.config.stores.insert(name, store);
                        }
                        None => {
                            parsed.broken.stores.insert(name);
                        }
                    }
                }
            }
            "bindings" => {
                saw_bindings = true;
                for (name, value) in entries(value, "bindings", &mut parsed.errors) {
                    let (binding, errors) = binding(value, &join("bindings", &name));
                    parsed.errors.extend(errors);
                    match binding {
                        Some(binding) => {
                            parsed.config.bindings.insert(name, binding);
                        }
                        None => {
                            parsed.broken.bindings.insert(name);
                        }
                    }
                }
            }
            "guards" => {
                for (name, value) in entries(value, "guards", &mut parsed.errors) {
                    match guard(value, &join("guards", &name), &mut parsed.errors) {
                        Some(guard) => {
                            parsed.config.guards.insert(name, guard);
                        }
                        None => {
                            parsed.broken.guards.insert(name);
                        }
                    }
                }
            }
            "telemetry" => {
                parsed.config.telemetry = decode(value, "telemetry", &mut parsed.errors);
            }
            "vaults" => {
                let error = Invalid::not_supported_yet(key.as_str());
                parsed.errors.push(FieldError::new(key, error));
            }
            _ => {
                let error = Invalid::UnknownTopLevelField(key.clone());
                parsed.errors.push(FieldError::new(key, error));
            }
        }
    }
    for (seen, field) in [(saw_name, "name"), (saw_bindings, "bindings")] {
        if !seen {
            parsed
                .errors
                .push(FieldError::new(field, Invalid::Required));
        }
    }
    Ok(parsed)
}

/// Reads one binding at `path` (`""` when there is no enclosing document).
///
/// Returns the binding when its shape is right, and every error found; a
/// binding can be returned alongside errors about fields that are recognised
/// but not supported yet, which are removed before it is read.
pub(crate) fn binding(value: Value, path: &str) -> (Option<Binding>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let Value::Mapping(mut map) = value else {
        let error = Invalid::WrongType {
            found: describe(&value),
            expected: "a binding (a mapping with `type` and `kind`)",
        };
        return (None, vec![FieldError::new(path, error)]);
    };
    let type_name = tag(&mut map, "type", path, &mut errors);
    let kind_name = tag(&mut map, "kind", path, &mut errors);
    let (Some(type_name), Some(kind_name)) = (type_name, kind_name) else {
        return (None, errors);
    };
    let Some(kind) = binding_kind(&type_name, &kind_name, path, &mut errors) else {
        return (None, errors);
    };
    remove_not_supported_yet(&mut map, kind, path, &mut errors);
    let value = Value::Mapping(map);
    let binding = match kind {
        BindingKind::TcpServer => decode(value, path, &mut errors).map(Binding::TcpServer),
        BindingKind::HttpServer => decode(value, path, &mut errors).map(Binding::HttpServer),
        BindingKind::McpServer => decode(value, path, &mut errors).map(Binding::McpServer),
        BindingKind::McpProxy => decode(value, path, &mut errors).map(Binding::McpProxy),
        BindingKind::McpClient => decode(value, path, &mut errors).map(Binding::McpClient),
        BindingKind::HttpClient => decode(value, path, &mut errors).map(Binding::HttpClient),
        BindingKind::TlsClient => decode(value, path, &mut errors).map(Binding::TlsClient),
        BindingKind::TcpClient => decode(value, path, &mut errors).map(Binding::TcpClient),
    };
    (binding, errors)
}

/// Members of a private or symmetric JWK: refused with their own message, since
/// a key that holds them is a secret and secrets never go in the config.
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Reads one guard at `path`; `None` when it has any error.
///
/// `options.audience` and `options.keys` are "a string or a list", which serde
/// reports as "did not match any variant" without saying where; they are read
/// here first, so that a bad key names its index and field.
fn guard(mut value: Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Guard> {
    let before = errors.len();
    if let Value::Mapping(map) = &mut value
        && let Some(Value::Mapping(options)) = map.get_mut("options")
    {
        let options_path = join(path, "options");
        if let Some(audience) = options.get_mut("audience") {
            let path = join(&options_path, "audience");
            if !string_or_list(audience, &path, errors, |value, errors| {
                decode::<Vec<String>>(value, &path, errors).is_some()
            }) {
                // A stand-in of the right shape, so that the rest of the guard is
                // still read (the guard is dropped anyway: it has an error).
                *audience = Value::String(String::new());
            }
        }
        if let Some(keys) = options.get_mut("keys") {
            let path = join(&options_path, "keys");
            if !string_or_list(keys, &path, errors, |value, errors| {
                jwks(value, &path, errors)
            }) {
                options.shift_remove("keys");
            }
        }
    }
    let guard = decode::<Guard>(value, path, errors);
    guard.filter(|_| errors.len() == before)
}

/// Checks a field that is a string or a list, reading a list with `list`;
/// whether it is well formed.
fn string_or_list(
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
    list: impl FnOnce(Value, &mut Vec<FieldError>) -> bool,
) -> bool {
    match value {
        Value::String(_) => true,
        Value::Sequence(_) => list(value.clone(), errors),
        other => {
            let error = Invalid::WrongType {
                found: describe(other),
                expected: "a string or a list",
            };
            errors.push(FieldError::new(path, error));
            false
        }
    }
}

/// Reads inline JWKs, refusing private members; whether all are well formed.
fn jwks(value: Value, path: &str, errors: &mut Vec<FieldError>) -> bool {
    let Value::Sequence(keys) = value else {
        return false;
    };
    let before = errors.len();
    for (index, key) in keys.into_iter().enumerate() {
        let key_path = format!("{path}[{index}]");
        let key_before = errors.len();
        if let Value::Mapping(members) = &key {
            for member in PRIVATE_JWK_MEMBERS {
                if members.contains_key(member) {
                    let error = Invalid::PrivateKeyMember;
                    errors.push(FieldError::new(join(&key_path, member), error));
                }
            }
        }
        if errors.len() == key_before {
            decode::<Jwk>(key, &key_path, errors);
        }
    }
    errors.len() == before
}

/// Removes and reads the string field `field` (`type` or `kind`).
fn tag(map: &mut Mapping, field: &str, path: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let path = join(path, field);
    match map.shift_remove(field) {
        Some(value) => decode(value, &path, errors),
        None => {
            errors.push(FieldError::new(path, Invalid::Required));
            None
        }
    }
}

fn binding_kind(
    type_name: &str,
    kind_name: &str,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<BindingKind> {
    let (ty, expected) = match type_name {
        "tcp" => ("tcp", "one of `server`, `client`"),
        "tls" => ("tls", "`client`"),
        "http" => ("http", "one of `server`, `client`"),
        "mcp" => ("mcp", "one of `server`, `proxy`, `client`"),
        other => {
            let error = Invalid::UnknownBindingType(other.to_owned());
            errors.push(FieldError::new(join(path, "type"), error));
            return None;
        }
    };
    let kind = BindingKind::ALL
        .into_iter()
        .find(|kind| kind.type_name() == ty && kind.kind_name() == kind_name);
    if kind.is_none() {
        let error = match (ty, kind_name) {
            ("tls", "server") => Invalid::not_supported_yet("tls server bindings"),
            _ => Invalid::UnknownKind {
                ty,
                kind: kind_name.to_owned(),
                expected,
            },
        };
        errors.push(FieldError::new(join(path, "kind"), error));
    }
    kind
}

/// Fields mcpgw recognises (from Zilla or its own roadmap) but cannot honour
/// (yet): each is reported as such, then removed so that the rest of the binding
/// is still checked.
fn remove_not_supported_yet(
    map: &mut Mapping,
    kind: BindingKind,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    // NB: Zilla's tls client takes its keys from a vault; mcpgw reads files.
    if kind == BindingKind::TlsClient && map.shift_remove("vault").is_some() {
        errors.push(FieldError::new(join(path, "vault"), Invalid::Vault));
    }
    let options_path = join(path, "options");
    if let Some(Value::Mapping(options)) = map.get_mut("options") {
        match kind {
            BindingKind::TlsClient => {
                if options.shift_remove("keys").is_some() {
                    let field = join(&options_path, "keys");
                    errors.push(FieldError::new(field, Invalid::VaultKeys));
                }
            }
            // The south chain has its own TLS binding.
            BindingKind::HttpClient | BindingKind::TcpClient => {}
            _ => remove(options, "tls", &options_path, "TLS", errors),
        }
    }
    let routes_path = join(path, "routes");
    if let Some(Value::Sequence(routes)) = map.get_mut("routes") {
        for (index, route) in routes.iter_mut().enumerate() {
            if let Value::Mapping(route) = route {
                let route_path = format!("{routes_path}[{index}]");
                remove(route, "with", &route_path, "route `with`", errors);
            }
        }
    }
}

fn remove(map: &mut Mapping, field: &str, path: &str, what: &str, errors: &mut Vec<FieldError>) {
    if map.shift_remove(field).is_some() {
        let error = Invalid::not_supported_yet(what);
        errors.push(FieldError::new(join(path, field), error));
    }
}

/// Entries of the mapping at `path`, each value still to be read.
fn entries(value: Value, path: &str, errors: &mut Vec<FieldError>) -> IndexMap<String, Value> {
    decode(value, path, errors).unwrap_or_default()
}

/// Deserializes `value`, reporting a failure at `path` plus the path inside `value`.
pub(crate) fn decode<T: DeserializeOwned>(
    value: Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match serde_path_to_error::deserialize(value) {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(serde_error(path, &error));
            None
        }
    }
}

fn serde_error(
    prefix: &str,
    error: &serde_path_to_error::Error<serde_yaml_ng::Error>,
) -> FieldError {
    let mut path = prefix.to_owned();
    for segment in error.path() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } => path = join(&path, key),
            Segment::Enum { variant } => path = join(&path, variant),
            Segment::Unknown => path = join(&path, "?"),
        }
    }
    let message = error.inner().to_string();
    // NB: serde reports a missing field at its parent; name the field itself.
    match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        Some(field) => FieldError::new(join(&path, field), Invalid::Required),
        None => FieldError::new(path, message),
    }
}

/// A YAML syntax error, located by line and column (1-based).
fn syntax_error(error: &serde_yaml_ng::Error) -> FieldError {
    let message = error.to_string();
    match error.location() {
        Some(location) => {
            let (line, column) = (location.line(), location.column());
            // The location is the path; don't repeat it in the message.
            let message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
            FieldError::new(format!("line {line}, column {column}"), message)
        }
        None => FieldError::new(ROOT, message),
    }
}

/// `parent.child`, or `child` at the top.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_south;
