//! mcpgw data plane: one MCP Streamable HTTP endpoint in front of many
//! upstream MCP servers ("toolkits").
//!
//! Layers, outside in: [`runtime`] (listeners, routing by path) → [`north`]
//! (the Streamable HTTP server: transport rules, sessions) → [`proxy`]
//! (routing by toolkit, naming, merging, relaying) → [`south`] (the
//! Streamable HTTP client of each toolkit).

pub mod call;
pub mod guard;
pub mod ids;
pub mod jsonrpc;
pub mod mcp;
pub mod metrics;
pub mod north;
pub mod principal;
pub mod proxy;
pub mod reload;
pub mod runtime;
pub mod session;
pub mod south;
pub mod sse;

#[cfg(test)]
mod fuzz_tests;

pub use reload::ReloadError;
pub use runtime::{Gateway, StartError};
