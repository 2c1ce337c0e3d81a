//! North: the gateway as an MCP Streamable HTTP server (2025-11-25 transport).

mod auth;
mod body;
mod endpoint;
mod headers;
mod limits;
mod rejection;

pub use auth::{Authenticator, METADATA_PATH};
pub use body::Body;
pub use endpoint::{Endpoint, EndpointError};
pub use limits::{CallerKey, ClientAddr, Permit};
pub use rejection::Rejection;
