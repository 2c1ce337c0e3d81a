use serde_json::json;

use super::*;
use crate::jsonrpc::{DecodeError, Message, ParamsAs};

/// `text` as the params of a request.
fn read(text: &str) -> Result<Params, DecodeError> {
    let message = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{text}}}"#);
    match Message::decode_with(message.as_bytes(), ParamsAs::Text)? {
        Message::Request(r) => r.params.ok_or(DecodeError::Invalid("no params")),
        _ => Err(DecodeError::Invalid("not a request")),
    }
}

#[test]
fn plain_params_stay_text_and_read_as_their_values_do() {
    let text = r#" {"name":"kit__echo", "arguments":{"text":"hi","n":[1,2.5,-3]},"_meta":{"progressToken":7}}"#;
    let params = read(text).expect("an object");
    assert_eq!(params.text(), Some(text.trim()));
    assert_eq!(params.get_str("name"), Some("kit__echo"));
    assert_eq!(params.get_str("arguments"), None, "not a string");
    assert_eq!(params.get_str("missing"), None);
    let value: Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(*params, value);
    assert_eq!(params.clone().into_value(), value);
    // A read as values leaves the text what is sent.
    let request = Message::Request(crate::jsonrpc::Request {
        id: crate::jsonrpc::RequestId::Number(1),
        method: "m".into(),
        params: Some(params),
    });
    let sent = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}}}"#,
        text.trim()
    );
    assert_eq!(request.encode(), sent.as_bytes());
}

#[test]
fn a_string_member_is_spliced_into_the_text_and_reads_back() {
    let mut params =
        read(r#"{"a":1,"name":"kit__echo","z":{"name":"inner"},"b":"x"}"#).expect("an object");
    params.set_str("name", "echo".to_owned());
    assert_eq!(
        params.text(),
        Some(r#"{"a":1,"name":"echo","z":{"name":"inner"},"b":"x"}"#)
    );
    assert_eq!(params.get_str("name"), Some("echo"));
    assert_eq!(
        params.get_str("b"),
        Some("x"),
        "members after it moved with it"
    );
    params.set_str("b", "a longer string".to_owned());
    assert_eq!(params.get_str("b"), Some("a longer string"));
    assert_eq!(
        *params,
        json!({"a": 1, "name": "echo", "z": {"name": "inner"}, "b": "a longer string"})
    );
    // A string that needs escaping, or a member not there, makes values.
    params.set_str("name", "say \"hi\"".to_owned());
    assert_eq!(params.text(), None);
    assert_eq!(params.get_str("name"), Some("say \"hi\""));
    let mut params = read(r#"{"a":1}"#).expect("an object");
    params.set_str("name", "n".to_owned());
    assert_eq!(*params, json!({"a": 1, "name": "n"}));
}

#[test]
fn what_text_could_read_differently_from_values_is_built_at_once() {
    for text in [
        // A repeated name: the gateway would check one, the upstream use another.
        r#"{"name":"kit__a","name":"kit__b"}"#,
        // An escaped name is the same member as the plain one.
        r#"{"n\u0061me":"kit__a"}"#,
        // An escaped string reads differently as text.
        r#"{"name":"kit__\u0061"}"#,
    ] {
        let params = read(text).expect("an object");
        assert_eq!(params.text(), None, "{text}");
        let value: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(*params, value, "{text}");
        assert_eq!(params.get_str("name"), value["name"].as_str(), "{text}");
    }
    let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("\"k{i}\":{i}")).collect();
    let params = read(&format!("{{{}}}", many.join(","))).expect("an object");
    assert_eq!(params.text(), None);
}

#[test]
fn a_number_a_value_cannot_hold_is_refused_when_read_as_before() {
    for text in [r#"{"x":1e400}"#, &format!(r#"{{"x":{}}}"#, "9".repeat(400))] {
        assert!(matches!(read(text), Err(DecodeError::Parse(_))), "{text}");
    }
    // Nor a lone surrogate, however deep (serde_json's scan lets it by).
    let text = r#"{"arguments":{"text":"\uDBBF2"}}"#;
    assert!(matches!(read(text), Err(DecodeError::Parse(_))), "{text}");
    // An exponent in range is fine (built at once all the same).
    assert_eq!(
        *read(r#"{"x":1e3}"#).expect("an object"),
        json!({"x": 1000.0})
    );
}

#[test]
fn anything_but_an_object_is_refused() {
    for text in ["null", "[1]", "\"x\"", "3", "true"] {
        assert_eq!(
            read(text).err(),
            Some(DecodeError::Invalid("`params` must be an object")),
            "{text}"
        );
    }
}

#[test]
fn changing_the_values_leaves_the_text_behind() {
    let mut params = read(r#"{"name":"a"}"#).expect("an object");
    params["extra"] = json!(true);
    assert_eq!(params.text(), None);
    assert_eq!(
        serde_json::to_value(&params).ok(),
        Some(json!({"name": "a", "extra": true}))
    );
}

#[test]
fn whitespace_and_an_empty_object_read_as_values_do() {
    let params = read("{ }").expect("an object");
    assert_eq!(*params, json!({}));
    let params = read("{\n \"name\" :\t\"a\" ,\"n\": 2 \r\n}").expect("an object");
    assert_eq!(params.get_str("name"), Some("a"));
    assert_eq!(params.text(), Some("{\n \"name\" :\t\"a\" ,\"n\": 2 \r\n}"));
    assert_eq!(*params, json!({"name": "a", "n": 2}));
}

#[test]
fn the_default_decode_builds_values() {
    let message = br#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"name":"a"}}"#;
    let Ok(Message::Request(request)) = Message::decode(message) else {
        panic!("a request");
    };
    assert_eq!(request.params.as_ref().and_then(Params::text), None);
    assert_eq!(request.param_str("name"), Some("a"));
}

#[test]
fn params_that_would_refuse_a_message_as_values_refuse_it_as_text_too() {
    // Found by the fuzz target: no method, and params a value cannot hold.
    let message = br#"{"jsonrpc":"2.0","metho*":"ats","params":{"":8888E8886}}"#;
    let code = |p| Message::decode_with(message, p).map_err(|e| e.to_error().code);
    assert_eq!(code(ParamsAs::Text), code(ParamsAs::Values));
    assert!(matches!(code(ParamsAs::Text), Err(c) if c == crate::jsonrpc::code::PARSE_ERROR));
    // Nor when a later `params` member would stand in for the bad one.
    let message =
        br#"{"jsonrpc":"2.0","method":"n","params":{"a":{"\uDb99x":1}},"params":{"b":1}}"#;
    let code = |p| Message::decode_with(message, p).map_err(|e| e.to_error().code);
    assert_eq!(code(ParamsAs::Text), code(ParamsAs::Values));
    assert!(code(ParamsAs::Values).is_err());
}

#[test]
fn params_that_are_no_object_are_refused_as_values_refuse_them() {
    // Found by the fuzz target: no `jsonrpc`, and an array of a number a
    // value cannot hold (skipped by a scan, a parse error when built).
    for message in [
        &br#"{"params":[21e332 	]}"#[..],
        br#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#,
        br#"{"jsonrpc":"2.0","id":1,"method":"m","params":"x"}"#,
        br#"{"jsonrpc":"2.0","id":1,"method":"m","params":null}"#,
    ] {
        let code = |p| Message::decode_with(message, p).map_err(|e| e.to_error().code);
        assert_eq!(code(ParamsAs::Text), code(ParamsAs::Values), "{message:?}");
        assert!(code(ParamsAs::Values).is_err(), "{message:?}");
    }
}
