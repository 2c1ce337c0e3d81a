//! The ids the gateway makes up, and the id spaces that keep messages of
//! different toolkits and of the gateway itself apart:
//!
//! - upstream-bound requests the gateway makes on its own (`mcpgw-initialize`);
//! - server→client requests relayed from a toolkit (`<toolkit>/<upstream id>`),
//!   so the client's answer can be routed back under the toolkit's own id;
//! - requests the gateway itself sends clients (`_mcpgw/<random>`): the `_`
//!   cannot start a toolkit name (a DNS label), so they never collide.

use rand::RngCore;
use serde_json::Value;

use crate::jsonrpc::RequestId;

/// The start of the ids of requests the gateway itself sends clients.
const GATEWAY_TO_CLIENT_PREFIX: &str = "_mcpgw/";

/// `bytes` random bytes in hex: ids the gateway makes up (nobody can guess them).
pub fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut random);
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of a request the gateway makes on its own to an upstream (initialize).
pub fn gateway_to_upstream(purpose: &str) -> RequestId {
    RequestId::String(format!("mcpgw-{purpose}"))
}

/// A fresh id for a request the gateway itself sends a client.
pub fn gateway_to_client() -> RequestId {
    RequestId::String(format!("{GATEWAY_TO_CLIENT_PREFIX}{}", random_hex(12)))
}

/// Whether `id` is of [`gateway_to_client`]'s space.
pub fn is_gateway_to_client(id: &RequestId) -> bool {
    matches!(id, RequestId::String(s) if s.starts_with(GATEWAY_TO_CLIENT_PREFIX))
}

/// The id a server→client request carries downstream: it names the toolkit
/// so the client's answer can be routed back, with the upstream's own id.
/// Ids of different toolkits can therefore never collide.
pub fn client_bound_id(toolkit: &str, upstream_id: &RequestId) -> RequestId {
    RequestId::String(format!("{toolkit}/{}", upstream_id.to_value()))
}

/// Undo [`client_bound_id`]: the toolkit and the upstream's own id.
pub fn parse_client_bound_id(id: &RequestId) -> Option<(&str, RequestId)> {
    let RequestId::String(s) = id else {
        return None;
    };
    let (toolkit, original) = s.split_once('/')?;
    let original: Value = serde_json::from_str(original).ok()?;
    Some((toolkit, RequestId::from_value(&original)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_bound_ids_round_trip_and_keep_toolkits_apart() {
        for upstream in [RequestId::Number(7), RequestId::String("a/b".into())] {
            let id = client_bound_id("time", &upstream);
            assert_eq!(parse_client_bound_id(&id), Some(("time", upstream)));
        }
        assert_ne!(
            client_bound_id("a", &RequestId::Number(0)),
            client_bound_id("b", &RequestId::Number(0))
        );
        assert!(is_gateway_to_client(&gateway_to_client()));
        assert!(!is_gateway_to_client(&client_bound_id(
            "t",
            &RequestId::Number(1)
        )));
    }
}
