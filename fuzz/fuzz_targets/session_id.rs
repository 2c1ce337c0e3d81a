//! The sealed session id: what a client sends in `Mcp-Session-Id`, and the
//! state a session carries in it.
//!
//! The first byte picks the side. 0: the rest is a token a client sent; it
//! must not panic, and (being forged) must not open. Otherwise: the rest is
//! the JSON of a session state; what parses seals into a token that opens to
//! the same state and makes a session.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mcpgw_dataplane::session::{SealedState, Sealer, Session};

static SEALER: LazyLock<Sealer> = LazyLock::new(|| Sealer::new(&[7; 32]));

fuzz_target!(|data: &[u8]| {
    let Some((&side, rest)) = data.split_first() else {
        return;
    };
    if side == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        assert!(SEALER.open(token).is_none(), "a forged token opened");
        return;
    }
    let Ok(state) = serde_json::from_slice::<SealedState>(rest) else {
        return;
    };
    let token = SEALER.seal(&state);
    let opened = SEALER.open(&token).expect("a sealed token opens");
    // NB: the `Value` parts (capabilities, client info) are left out: serde_json's
    // default float parsing is not an exact round trip.
    assert_eq!(opened.protocol_version, state.protocol_version);
    assert_eq!(opened.owner, state.owner);
    assert_eq!(opened.nonce, state.nonce);
    let upstreams = |s: &SealedState| -> Vec<(String, Option<String>, String)> {
        s.upstreams
            .iter()
            .map(|(k, u)| (k.clone(), u.session_id.clone(), u.protocol_version.clone()))
            .collect()
    };
    assert_eq!(upstreams(&opened), upstreams(&state));
    let _ = Session::from_sealed(&token, opened);
});
