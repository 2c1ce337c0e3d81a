//! The benchmark's peers: [`upstream`], a minimal MCP Streamable HTTP server,
//! and [`hop`], a bare HTTP forwarder (the floor of any gateway). The
//! in-process bench (`dataplane/benches/gateway`) runs them as tasks; the
//! multi-process bench (`scripts/bench.sh`) runs them as processes of their
//! own through the `mcpgw-bench-peer` binary. [`tls`] makes the PKI of the
//! TLS paths. [`soak`] and [`processes`] are the soak's clients and the
//! processes it runs (`mcpgw-soak`, `scripts/soak.sh`).

pub mod config;
pub mod hop;
pub mod processes;
pub mod soak;
pub mod tls;
pub mod upstream;
