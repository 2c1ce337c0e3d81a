//! The JSON-RPC envelope decoder, fed whatever a client or upstream may send.
//!
//! Oracle: never a panic; a message that decodes, once encoded, decodes back
//! to the same envelope (kind, id, method). Params and results are compared
//! only by kind: serde_json's default float parsing is not an exact round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_dataplane::jsonrpc::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::decode(data) else {
        return;
    };
    let again = Message::decode(&message.encode()).expect("an encoded message decodes");
    assert_eq!(envelope(&message), envelope(&again));
    // The `Value` form (used where a message is rewritten) says the same.
    let from_value = Message::from_value(message.to_value()).expect("a message's value decodes");
    assert_eq!(envelope(&message), envelope(&from_value));
});

fn envelope(message: &Message) -> String {
    match message {
        Message::Request(r) => format!("request {:?} {:?} {}", r.id, r.method, r.params.is_some()),
        Message::Notification(n) => format!("notification {:?} {}", n.method, n.params.is_some()),
        Message::Response(r) => match &r.outcome {
            Ok(_) => format!("result {:?}", r.id),
            Err(e) => format!("error {:?} {} {:?}", r.id, e.code, e.message),
        },
    }
}
