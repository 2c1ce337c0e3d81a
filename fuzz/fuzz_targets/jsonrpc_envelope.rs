//! The JSON-RPC envelope decoder, fed whatever a client or upstream may send.
//!
//! Oracle: never a panic; a message that decodes, once encoded, decodes back
//! to the same envelope (kind, id, method). Params and results are compared
//! only by kind: serde_json's default float parsing is not an exact round trip.
//! A success response read by the relay's fast path (`RawSuccess::peek`, the
//! result left unread) is one that decodes, and reads as the same envelope.
//! A request's params edited as their text (a name renamed, `_meta` taken
//! out, as the relay does) say what the same edits of their value say, and
//! the edited text is JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_dataplane::jsonrpc::{DecodeError, Message, Params, RawSuccess};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let peeked = RawSuccess::peek(data);
    let message = match Message::decode(data) {
        Ok(message) => message,
        // NB: the fast path checks the result's syntax, not the range of its
        // numbers: JSON allows 1e400, which a `Value` cannot hold. Such a result
        // is relayed as it came when nothing in it is renamed.
        Err(DecodeError::Parse(e)) if e.starts_with("number out of range") => return,
        // NB: nor the escapes in its strings (a lone surrogate such as
        // "\uDBBF"). A result with a `\u` escape is never relayed as it came
        // (renaming cannot judge it from its text): it is decoded, and refused
        // as before.
        Err(e) => {
            let escaped =
                |raw: &RawSuccess| data[raw.result.clone()].windows(2).any(|w| w == b"\\u");
            assert!(
                peeked.as_ref().is_none_or(escaped),
                "the fast path took what does not decode: {e}"
            );
            return;
        }
    };
    let again = Message::decode(&message.encode()).expect("an encoded message decodes");
    assert_eq!(envelope(&message), envelope(&again));
    // The `Value` form (used where a message is rewritten) says the same.
    let value = serde_json::to_vec(&message.to_value()).expect("a value serialises");
    let from_value = Message::decode(&value).expect("a message's value decodes");
    assert_eq!(envelope(&message), envelope(&from_value));
    if let Some(peeked) = peeked {
        let read = peeked.into_message(data).expect("a peeked success decodes");
        assert_eq!(envelope(&message), envelope(&read));
    }
    if let Message::Request(r) = &message
        && let Some(params) = &r.params
        && params.is_object()
    {
        edits_agree(params);
    }
});

/// The relay's edits, on the text and on the value.
fn edits_agree(params: &Params) {
    let mut text = params.clone();
    let mut value = Params::from(Value::clone(params));
    text.set_str_member("name", "renamed");
    value.set_str_member("name", "renamed");
    assert_eq!(text.take_member("_meta"), value.take_member("_meta"));
    text.set_member("_meta", serde_json::json!({"k": 1}));
    value.set_member("_meta", serde_json::json!({"k": 1}));
    assert_eq!(text.str_member("name"), Some("renamed"));
    assert_eq!(*text, *value);
    if let Some(edited) = text.text() {
        let read: Value = serde_json::from_str(edited).expect("edited text is JSON");
        assert_eq!(read, *value);
    }
}

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
