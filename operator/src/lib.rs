//! mcpgw operator: turns `McpGateway` and `McpToolkit` resources into a
//! rendered binding config (a ConfigMap the data plane hot-reloads), a
//! data-plane Deployment, Service and ServiceAccount, and statuses that tell
//! whether the data plane actually serves what was rendered.

pub mod admin;
pub mod backoff;
pub mod controller;
pub mod leader;
pub mod references;
pub mod render;
pub mod resources;
pub mod selector;
pub mod served;
pub mod status;
pub mod watches;
