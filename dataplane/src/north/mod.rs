//! North: the gateway as an MCP Streamable HTTP server (2025-11-25 transport).

mod body;
mod endpoint;
mod headers;
mod rejection;
mod seal;
mod session;

pub use body::Body;
pub use endpoint::Endpoint;
pub use rejection::Rejection;
pub use seal::{KeyError, SealedState, SealedUpstream, Sealer};
pub use session::{InFlight, Session, SessionStore};
