//! South: the gateway as an MCP Streamable HTTP client of each toolkit.

mod credentials;
mod session;
mod stream;
mod transport;

pub use credentials::{CredentialError, UpstreamCredentials};
pub use session::{Hello, UpstreamSession, UpstreamSlot};
pub use stream::MessageStream;
pub use transport::{
    ClientError, HttpClient, PostReply, SessionHeaders, ToolkitClient, http_client,
};
