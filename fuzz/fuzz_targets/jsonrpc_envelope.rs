//! The JSON-RPC envelope decoder, fed whatever a client or upstream may send.
//!
//! Oracle: never a panic; a message that decodes, once encoded, decodes back
//! to the same envelope (kind, id, method). Params and results are compared
//! only by kind: serde_json's default float parsing is not an exact round trip.
//! A success response read by the relay's fast path (`RawSuccess::peek`, the
//! result left unread) is one that decodes, and reads as the same envelope.
//! Read with its params kept as text (`ParamsAs::Text`, a session's requests),
//! a message decodes or is refused exactly as with its params built as values:
//! the same message, the same error code; text params build as those values,
//! their string members read from the text as from the values, and encoded
//! (the text copied) they decode back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_dataplane::jsonrpc::{DecodeError, Message, ParamsAs, RawSuccess};

fuzz_target!(|data: &[u8]| {
    params_kept_as_text_read_as_values_do(data);
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

fn params_kept_as_text_read_as_values_do(data: &[u8]) {
    let kept = Message::decode_with(data, ParamsAs::Text);
    let built = Message::decode(data);
    let code = |r: &Result<Message, DecodeError>| r.as_ref().err().map(|e| e.to_error().code);
    assert_eq!(code(&kept), code(&built), "{kept:?} against {built:?}");
    let (Ok(kept), Ok(built)) = (kept, built) else {
        return;
    };
    assert_eq!(kept, built);
    let params = match &kept {
        Message::Request(r) => r.params.as_ref(),
        Message::Notification(n) => n.params.as_ref(),
        Message::Response(_) => None,
    };
    let Some(params) = params.filter(|p| p.text().is_some()) else {
        return;
    };
    let object = params.as_object().expect("params are an object");
    for (key, member) in object {
        assert_eq!(params.get_str(key), member.as_str(), "member {key:?}");
    }
    let again =
        Message::decode_with(&kept.encode(), ParamsAs::Text).expect("an encoded message decodes");
    assert_eq!(again, kept);
}
