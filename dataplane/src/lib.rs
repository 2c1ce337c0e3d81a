//! mcpgw data plane: one MCP Streamable HTTP endpoint in front of many
//! upstream MCP servers ("toolkits").
//!
//! Layers, outside in: [`runtime`] (listeners, routing by path to the
//! endpoints of the applied snapshot) → [`north`] (the Streamable HTTP
//! server: transport rules, guards; it decides the protocol era and builds
//! one [`call::Call`] per message, with the [`session`] when the era has one)
//! → [`proxy`] (routing by toolkit, naming, merging, relaying, as the method's
//! descriptor in [`mcp::method`] says) → [`south`] (each toolkit's client:
//! policy, upstream sessions, the Streamable HTTP transport over the one
//! HTTP/TLS client).

pub mod body;
pub mod cache;
pub mod call;
pub mod era;
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
pub mod telemetry;

#[cfg(test)]
mod fuzz_tests;

pub use reload::ReloadError;
pub use runtime::{Gateway, StartError};
