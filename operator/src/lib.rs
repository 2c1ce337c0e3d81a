//! mcpgw operator: turns McpGateway and McpToolkit resources into a rendered binding config,
//! the data-plane objects that serve it, and statuses that tell whether it is served.

pub mod render;
pub mod selector;
