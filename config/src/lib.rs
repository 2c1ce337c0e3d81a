//! mcpgw binding config: the contract between the operator and the data plane.
//!
//! Three stages: what the user writes ([`model`], serde with
//! `deny_unknown_fields`) → validation with path-qualified errors →
//! the compiled [`Plan`] the data plane runs.
//!
//! - [`compile_yaml`]: YAML text → [`Plan`] (the data plane's entry point).
//! - [`compile`]: a [`model::Config`] built in Rust → [`Plan`].
//! - [`parse_yaml`] / [`to_yaml`]: YAML text ↔ [`model::Config`], shape only.
//! - [`json_schema`]: the JSON Schema of the config.
//!
//! Every error names the path of the bad field and all of them are reported at
//! once; see [`ConfigError`].

pub mod model;
pub mod plan;

mod compile;
mod duration;
mod error;
mod fingerprint;
mod graph;
mod parse;
mod schema;
#[cfg(test)]
mod testing;
mod validate;

use std::collections::HashSet;

pub use compile::compile;
pub use duration::DurationError;
pub use error::{ConfigError, FieldError, ROOT, ToYamlError};
pub use fingerprint::config_sha256;
pub use plan::*;
pub use schema::{SCHEMA_FILE, json_schema};

use model::Config;

/// Parses, validates and compiles a binding config written in YAML.
///
/// On failure, lists every problem found, each at the path of the bad field.
pub fn compile_yaml(yaml: &str) -> Result<Plan, ConfigError> {
    let parsed = parse::parse(yaml)?;
    let compiled = compile::compile_parsed(&parsed.config, &parsed.broken);
    let mut errors = parsed.errors;
    match compiled {
        Ok(plan) if errors.is_empty() => return Ok(plan),
        Ok(_) => {}
        Err(more) => {
            // A field the parser could not read (e.g. a `name` that is not a
            // string) is reported once, by the parser.
            let reported: HashSet<String> = errors.iter().map(|e| e.path.clone()).collect();
            errors.extend(more.into_iter().filter(|e| !reported.contains(&e.path)));
        }
    }
    Err(ConfigError { errors })
}

/// Parses a binding config written in YAML into the model, checking its shape
/// only (fields, types, supported bindings); [`compile`] checks the rest.
pub fn parse_yaml(yaml: &str) -> Result<Config, ConfigError> {
    let parsed = parse::parse(yaml)?;
    if parsed.errors.is_empty() {
        Ok(parsed.config)
    } else {
        Err(ConfigError {
            errors: parsed.errors,
        })
    }
}

/// Renders a config as YAML, in the form [`compile_yaml`] reads.
pub fn to_yaml(config: &Config) -> Result<String, ToYamlError> {
    Ok(serde_yaml_ng::to_string(config)?)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_south;
