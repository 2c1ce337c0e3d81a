//! South: the gateway as an MCP client of each toolkit.
//!
//! Layers, inside out: [`http`] (the one pooled HTTP client, plain or TLS,
//! HTTP/1.1 or h2) → [`transport`] (Streamable HTTP: a message as one POST,
//! GET or DELETE, with the session's headers and the toolkit's credentials)
//! → [`upstream`] (the kinds of upstream behind one message-level interface)
//! → [`client`] (the [`policy`] every exchange runs under; resumes streams)
//! → [`session`] (the upstream session: handshake, re-opening an expired
//! one, bounded asks).

mod client;
mod credentials;
mod discover;
mod error;
mod http;
mod limits;
mod policy;
mod pool;
mod retry;
mod session;
mod stream;
mod tls;
mod transport;
mod upstream;

pub use client::ToolkitClient;
pub use credentials::{CredentialError, UpstreamCredentials};
pub use discover::UpstreamEra;
pub use error::{
    ClientError, FileFailure, FileProblem, ProtocolError, TlsFailure, TlsFile, TransportError,
    Unclassified,
};
pub use http::{HttpClient, read_limited};
pub use pool::{PoolKey, UpstreamPool};
pub use session::{Hello, UpstreamSession, UpstreamSlot};
pub use stream::MessageStream;
pub use upstream::{JsonReply, PostReply, SessionHeaders};
