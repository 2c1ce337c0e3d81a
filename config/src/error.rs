//! The errors a config can have: every problem is reported at the path of the
//! field that causes it, and all problems are reported at once.

use std::fmt;

use crate::model::BindingKind;

/// Everything wrong with a config, each naming the path of the bad field.
///
/// Displays as one `path: message` line per error, e.g.
/// `bindings.south_x.options.server: not an http URL: relative URL without a base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems, in the order they were found (document order where it matters).
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.errors.iter();
        if let Some(first) = lines.next() {
            write!(f, "{first}")?;
        }
        for line in lines {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl From<Vec<FieldError>> for ConfigError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self { errors }
    }
}

/// One problem at one place in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the bad field, e.g. `bindings.south_x.options.server`;
    /// sequence items as `routes[0]`; `line L, column C` for YAML syntax errors;
    /// [`ROOT`] for the document itself.
    pub path: String,
    /// What is wrong, e.g. `not an http URL: relative URL without a base`.
    pub message: String,
}

/// The path of errors about the document as a whole (e.g. it is not a mapping).
pub const ROOT: &str = "(root)";

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl fmt::Display) -> Self {
        Self {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a config was rendered to YAML unsuccessfully (see [`crate::to_yaml`]).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the config as YAML: {0}")]
pub struct ToYamlError(#[from] serde_yaml_ng::Error);

/// The wording of every validation error, kept in one place so that messages
/// stay consistent and the user reference (`docs/config.md`) can list them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("missing required field")]
    Required,
    #[error("must not be empty")]
    Empty,
    #[error("`{0}` is already listed")]
    Duplicate(&'static str),
    #[error("not supported yet: {0}")]
    NotSupportedYet(String),
    #[error(
        "unknown field `{0}`, expected one of `name`, `guards`, `stores`, `telemetry`, `bindings`"
    )]
    UnknownTopLevelField(String),
    #[error("keys must be strings, found {0}")]
    NonStringKey(String),
    #[error("invalid type: {found}, expected {expected}")]
    WrongType {
        found: &'static str,
        expected: &'static str,
    },
    #[error("unsupported binding type `{0}`, expected one of `tcp`, `tls`, `http`, `mcp`")]
    UnknownBindingType(String),
    #[error("unsupported kind `{kind}` for `type: {ty}`, expected {expected}")]
    UnknownKind {
        ty: &'static str,
        kind: String,
        expected: &'static str,
    },
    #[error("binding names may only contain letters, digits, `_` and `-`")]
    BindingName,
    #[error("no binding named `{0}`")]
    NoSuchBinding(String),
    #[error("`{target}` is {found}, expected {expected}")]
    WrongExit {
        target: String,
        found: BindingKind,
        /// E.g. `a tls client binding or a tcp client binding`.
        expected: String,
    },
    #[error("the built-in `{0}` can only be the exit of an mcp client")]
    MisplacedBuiltin(String),
    #[error("unknown built-in `{0}`, expected `sys:http_client`")]
    UnknownBuiltin(String),
    #[error("not reachable from any tcp server")]
    Unreachable,
    #[error("at least one tcp server binding is required")]
    NoTcpServer,
    #[error("not an IP address or host name")]
    Host,
    #[error("{host}:{port} is already used by `{other}`")]
    PortInUse {
        host: String,
        port: u16,
        other: String,
    },
    #[error("at least one route is required")]
    NoRoutes,
    #[error("at least one condition is required")]
    NoConditions,
    #[error("`:path` is required")]
    NoPathHeader,
    #[error("must start with `/`")]
    PathNotAbsolute,
    #[error("must not contain `?`, `#` or whitespace")]
    PathCharacters,
    #[error("`{path}` is already routed by {first}")]
    DuplicatePath { path: String, first: String },
    #[error("not an origin (scheme://host[:port]): {0}")]
    Origin(String),
    #[error("must be between {min} and {max}")]
    OutOfRange {
        min: &'static str,
        max: &'static str,
    },
    #[error("must be longer than zero")]
    ZeroDuration,
    #[error("must be at most {0}")]
    TooLong(&'static str),
    #[error("must not contain a NUL character")]
    NulCharacter,
    #[error("at most {0} characters")]
    PatternTooLong(usize),
    #[error("expected exactly one `{{toolkit: NAME}}` condition")]
    ToolkitCondition,
    #[error(
        "not a DNS-1123 label: lower-case letters, digits and `-`, starting and ending with a \
         letter or digit, at most 63 characters"
    )]
    ToolkitName,
    #[error(
        "toolkit `{name}` is already defined by {first}, which exits to `{client}`; every \
         route of a toolkit exits to its one mcp client"
    )]
    DuplicateToolkit {
        name: String,
        first: String,
        client: String,
    },
    #[error(
        "`{client}` is already the exit of {first} (toolkit `{toolkit}`); each toolkit needs \
         its own mcp client"
    )]
    DuplicateClient {
        client: String,
        first: String,
        toolkit: String,
    },
    #[error("`never` requires exactly one toolkit (names from several toolkits could collide)")]
    PrefixNever,
    #[error("not an http(s) URL: {0}")]
    NotHttpUrl(String),
    #[error("must not contain user info (credentials never go in the config)")]
    UrlUserinfo,
    #[error("must not contain a fragment")]
    UrlFragment,
    #[error("not an http(s) URL: {0}")]
    NotWebUrl(String),
    // Telemetry.
    #[error("only one exporter is supported")]
    OneExporter,
    #[error("must be a path starting with `/`, without query or fragment")]
    ExporterPath,
    #[error("must not contain a query")]
    ExporterQuery,
    // Guards.
    #[error("guard names may only contain letters, digits, `_` and `-`")]
    GuardName,
    #[error("at least one audience is required")]
    NoAudience,
    #[error("`keys` and `keys_file` are both set; give exactly one")]
    KeysExclusive,
    #[error("one of `keys` and `keys_file` is required")]
    KeysRequired,
    #[error("at least one key is required")]
    NoKeys,
    #[error("a private key member: only public keys go in the config (secrets never do)")]
    PrivateKeyMember,
    #[error("unsupported key type `{0}`, expected one of `RSA`, `EC`, `OKP`")]
    UnknownKeyType(String),
    #[error("`{member}` is not a member of an `{kty}` key")]
    ForeignKeyMember {
        member: &'static str,
        kty: &'static str,
    },
    #[error("unsupported curve `{found}` for an `{kty}` key, expected {expected}")]
    UnknownCurve {
        found: String,
        kty: &'static str,
        expected: &'static str,
    },
    #[error("not base64url (RFC 4648 §5, without padding)")]
    NotBase64Url,
    #[error("must be the base64url of {bytes} bytes for `{curve}`")]
    CoordinateLength { bytes: usize, curve: &'static str },
    #[error(
        "unsupported algorithm `{0}`, expected one of `RS256`, `RS384`, `RS512`, `PS256`, \
         `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`"
    )]
    UnknownAlgorithm(String),
    #[error("`{alg}` cannot be used with {key}")]
    AlgorithmMismatch { alg: String, key: String },
    #[error("unsupported key use `{0}`, expected `sig` (only signature keys verify tokens)")]
    KeyUse(String),
    #[error("key id `{kid}` is already used by {first}")]
    DuplicateKid { kid: String, first: String },
    #[error("at least one algorithm is required")]
    NoAlgorithms,
    // References to guards, and credentials.
    #[error("name one guard, found {0}")]
    OneGuard(usize),
    #[error("applies to an `https` JWKS URL in `keys` only")]
    TrustWithoutHttps,
    #[error("no guard named `{0}`")]
    NoSuchGuard(String),
    #[error("no store named `{0}` in `stores`")]
    NoSuchStore(String),
    #[error("must contain `{{credentials}}` exactly once")]
    CredentialsPlaceholder,
    #[error(
        "not a valid header value: only visible ASCII characters, spaces and tabs, and no \
         space at either end"
    )]
    HeaderValue,
    #[error("needs `options.authorization`: the metadata describes a guarded endpoint")]
    MetadataWithoutAuthorization,
    #[error(
        "route is guarded by `{guard}` but `bindings.{server}.options.authorization` names no guard"
    )]
    RouteGuardWithoutServerGuard { guard: String, server: String },
    #[error(
        "route is guarded by `{guard}` but `bindings.{server}` checks callers with `{server_guard}`"
    )]
    RouteGuardMismatch {
        guard: String,
        server: String,
        server_guard: String,
    },
    #[error(
        "forwards tokens checked by `{guard}` but `bindings.{server}`, which reaches this \
         client, names no guard in `options.authorization`"
    )]
    ForwardWithoutServerGuard { guard: String, server: String },
    #[error(
        "forwards tokens checked by `{guard}` but `bindings.{server}`, which reaches this \
         client, checks callers with `{server_guard}`"
    )]
    ForwardGuardMismatch {
        guard: String,
        server: String,
        server_guard: String,
    },
    #[error("not an HTTP header name (letters, digits and any of !#$%&'*+-.^_`|~)")]
    HeaderName,
    #[error("`{0}` is set by the gateway itself")]
    ReservedHeader(String),
    #[error(
        "both `options.authorization` (the caller's token) and `options.credentials` set \
         `Authorization`; keep one, or send this credential in another `header`"
    )]
    CredentialsConflict,
    // The south chain.
    #[error("at least one version is required")]
    NoVersions,
    #[error("expected exactly one server name, found {0}")]
    OneServerName(usize),
    #[error("required with `{given}`: a client certificate needs both its chain and its key")]
    ClientCertificateHalf {
        missing: &'static str,
        given: &'static str,
    },
    #[error(
        "turns certificate verification off, but {0} says what to verify the server with; \
         keep one"
    )]
    SkipVerificationConflict(String),
    #[error(
        "`false` with no `trust` files trusts no certificate, so no server could be verified; \
         name CA files in `trust`, or leave `trustcacerts` out"
    )]
    NothingTrusted,
    #[error(
        "the server is `https`, but its chain {chain} has no tls client; let `{http}` exit to \
         a tls client binding that exits to `{tcp}`"
    )]
    TlsMissing {
        chain: String,
        http: String,
        tcp: String,
    },
    #[error(
        "the server is `http`, but its chain {chain} has a tls client (`{tls}`); for `http`, \
         `{http}` exits straight to a tcp client binding"
    )]
    TlsUnwanted {
        chain: String,
        tls: String,
        http: String,
    },
    #[error("`{protocol}` is not among the versions `{http}` may speak ({versions})")]
    AlpnNotAVersion {
        protocol: &'static str,
        http: String,
        versions: String,
    },
    #[error("offering no protocol leaves only HTTP/1.1, but `{http}` may speak only {versions}")]
    NoAlpnWithoutHttp1 { http: String, versions: String },
    #[error(
        "mcpgw has no vaults: name PEM files in `options.trust`, `options.certificate_file` \
         and `options.key_file` (mounted from Secrets)"
    )]
    Vault,
    #[error(
        "mcpgw reads the client certificate from files, not from a vault: use \
         `certificate_file` and `key_file` (mounted from a Secret)"
    )]
    VaultKeys,
}

impl Invalid {
    pub(crate) fn not_supported_yet(what: impl Into<String>) -> Self {
        Self::NotSupportedYet(what.into())
    }
}
