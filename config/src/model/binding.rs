//! [`Binding`]: one node of the binding graph, discriminated by `type` and `kind`.
//!
//! NB: serde can tag an enum with one field only, and its tagged enums lose
//! error paths; so `type` + `kind` are handled here by hand: serialized by
//! flattening the per-kind struct after the two tags, deserialized through
//! [`crate::parse`], and described in the JSON Schema as a `oneOf` with one
//! branch per supported `type`/`kind` pair.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    HttpClient, HttpServer, McpClient, McpProxy, McpServer, TcpClient, TcpServer, TlsClient,
};
use crate::error::ConfigError;

/// One binding: its `type` and `kind` select which fields it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `type: tcp, kind: server`.
    TcpServer(TcpServer),
    /// `type: http, kind: server`.
    HttpServer(HttpServer),
    /// `type: mcp, kind: server`.
    McpServer(McpServer),
    /// `type: mcp, kind: proxy`.
    McpProxy(McpProxy),
    /// `type: mcp, kind: client`.
    McpClient(McpClient),
    /// `type: http, kind: client`.
    HttpClient(HttpClient),
    /// `type: tls, kind: client`.
    TlsClient(TlsClient),
    /// `type: tcp, kind: client`.
    TcpClient(TcpClient),
}

/// The supported `type`/`kind` pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindingKind {
    /// `type: tcp, kind: server`.
    TcpServer,
    /// `type: http, kind: server`.
    HttpServer,
    /// `type: mcp, kind: server`.
    McpServer,
    /// `type: mcp, kind: proxy`.
    McpProxy,
    /// `type: mcp, kind: client`.
    McpClient,
    /// `type: http, kind: client`.
    HttpClient,
    /// `type: tls, kind: client`.
    TlsClient,
    /// `type: tcp, kind: client`.
    TcpClient,
}

impl BindingKind {
    /// Every supported pair, in chain order.
    pub const ALL: [BindingKind; 8] = [
        Self::TcpServer,
        Self::HttpServer,
        Self::McpServer,
        Self::McpProxy,
        Self::McpClient,
        Self::HttpClient,
        Self::TlsClient,
        Self::TcpClient,
    ];

    /// The `type` field: `tcp`, `tls`, `http` or `mcp`.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::TcpServer | Self::TcpClient => "tcp",
            Self::TlsClient => "tls",
            Self::HttpServer | Self::HttpClient => "http",
            Self::McpServer | Self::McpProxy | Self::McpClient => "mcp",
        }
    }

    /// The `kind` field: `server`, `proxy` or `client`.
    pub fn kind_name(self) -> &'static str {
        match self {
            Self::TcpServer | Self::HttpServer | Self::McpServer => "server",
            Self::McpProxy => "proxy",
            Self::McpClient | Self::HttpClient | Self::TlsClient | Self::TcpClient => "client",
        }
    }
}

/// `an mcp proxy binding`, `a tcp server binding`: for error messages.
impl fmt::Display for BindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `http` and `mcp` are spelt out letter by letter: "an".
        let article = if self.type_name().starts_with('t') {
            "a"
        } else {
            "an"
        };
        write!(
            f,
            "{article} {} {} binding",
            self.type_name(),
            self.kind_name()
        )
    }
}

impl Binding {
    /// Which `type`/`kind` pair this binding is.
    pub fn kind(&self) -> BindingKind {
        match self {
            Self::TcpServer(_) => BindingKind::TcpServer,
            Self::HttpServer(_) => BindingKind::HttpServer,
            Self::McpServer(_) => BindingKind::McpServer,
            Self::McpProxy(_) => BindingKind::McpProxy,
            Self::McpClient(_) => BindingKind::McpClient,
            Self::HttpClient(_) => BindingKind::HttpClient,
            Self::TlsClient(_) => BindingKind::TlsClient,
            Self::TcpClient(_) => BindingKind::TcpClient,
        }
    }
}

/// `impl From<T> for Binding` for each per-kind struct, named as its variant.
macro_rules! binding_from {
    ($($variant:ident),* $(,)?) => {
        $(
            impl From<$variant> for Binding {
                fn from(binding: $variant) -> Self {
                    Self::$variant(binding)
                }
            }
        )*
    };
}

binding_from!(
    TcpServer, HttpServer, McpServer, McpProxy, McpClient, HttpClient, TlsClient, TcpClient,
);

/// The wire shape: the two tags first, then the per-kind fields.
#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    type_name: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl Serialize for Binding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::TcpServer(body) => self.tagged(body, serializer),
            Self::HttpServer(body) => self.tagged(body, serializer),
            Self::McpServer(body) => self.tagged(body, serializer),
            Self::McpProxy(body) => self.tagged(body, serializer),
            Self::McpClient(body) => self.tagged(body, serializer),
            Self::HttpClient(body) => self.tagged(body, serializer),
            Self::TlsClient(body) => self.tagged(body, serializer),
            Self::TcpClient(body) => self.tagged(body, serializer),
        }
    }
}

impl Binding {
    /// Serializes `body`, this binding's per-kind struct, after the two tags.
    fn tagged<T: Serialize, S: Serializer>(
        &self,
        body: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let kind = self.kind();
        Tagged {
            type_name: kind.type_name(),
            kind: kind.kind_name(),
            body,
        }
        .serialize(serializer)
    }
}

/// Reports the first problem only, as `path: message` (relative to the binding);
/// [`crate::compile_yaml`] reports them all.
impl<'de> Deserialize<'de> for Binding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_yaml_ng::Value::deserialize(deserializer)?;
        match crate::parse::binding(value, "") {
            (Some(binding), errors) if errors.is_empty() => Ok(binding),
            (_, errors) => Err(serde::de::Error::custom(ConfigError { errors })),
        }
    }
}

impl JsonSchema for Binding {
    fn schema_name() -> Cow<'static, str> {
        "Binding".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let branches = [
            tagged::<TcpServer>(generator, BindingKind::TcpServer),
            tagged::<HttpServer>(generator, BindingKind::HttpServer),
            tagged::<McpServer>(generator, BindingKind::McpServer),
            tagged::<McpProxy>(generator, BindingKind::McpProxy),
            tagged::<McpClient>(generator, BindingKind::McpClient),
            tagged::<HttpClient>(generator, BindingKind::HttpClient),
            tagged::<TlsClient>(generator, BindingKind::TlsClient),
            tagged::<TcpClient>(generator, BindingKind::TcpClient),
        ];
        json_schema!({
            "description": "A binding: `type` and `kind` select which fields it has.",
            "oneOf": branches,
        })
    }
}

/// The per-kind struct's own schema (inlined, so that its `additionalProperties:
/// false` sees them) with the two tags added as required constants.
fn tagged<T: JsonSchema>(generator: &mut SchemaGenerator, kind: BindingKind) -> Schema {
    let mut schema = T::json_schema(generator);
    let object = schema.ensure_object();
    object.insert(
        "title".to_owned(),
        format!("{} {}", kind.type_name(), kind.kind_name()).into(),
    );
    let properties = object
        .entry("properties")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if let Some(properties) = properties.as_object_mut() {
        properties.insert(
            "type".to_owned(),
            serde_json::json!({ "type": "string", "const": kind.type_name() }),
        );
        properties.insert(
            "kind".to_owned(),
            serde_json::json!({ "type": "string", "const": kind.kind_name() }),
        );
    }
    let required = object
        .entry("required")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let Some(required) = required.as_array_mut() {
        required.splice(0..0, ["type".into(), "kind".into()]);
    }
    schema
}
