//! The `x-mcp-header` annotations: learning them, mirroring arguments, and
//! checking the headers a client sent.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

#[test]
fn nested_properties_are_mirrored_and_encoded() {
    let schema = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "opts": {"type": "object", "properties": {
            "dry": {"type": "boolean", "x-mcp-header": "Dry"},
            "n": {"type": "integer", "x-mcp-header": "N"}}},
        "query": {"type": "string"}}});
    let params = ParamHeaders::default();
    let mut page = json!({"tools": [{"name": "sql", "inputSchema": schema}]});
    params.learn(&mut page);
    assert_eq!(page["tools"].as_array().unwrap().len(), 1);
    let mut headers = HeaderMap::new();
    let arguments = json!({"region": "Zürich", "opts": {"dry": true, "n": -7}, "query": "x"});
    params.apply("sql", Some(&arguments), &mut headers);
    assert_eq!(headers["mcp-param-region"], "=?base64?WsO8cmljaA==?=");
    assert_eq!(headers["mcp-param-dry"], "true");
    assert_eq!(headers["mcp-param-n"], "-7");
    let mut none = HeaderMap::new();
    params.apply("sql", Some(&json!({"query": "x"})), &mut none);
    assert!(none.is_empty(), "absent values send no header");
}

#[test]
fn tools_with_invalid_annotations_are_left_out_of_the_list() {
    let bad = [
        json!({"properties": {"a": {"type": "number", "x-mcp-header": "A"}}}),
        json!({"properties": {"a": {"type": "string", "x-mcp-header": ""}}}),
        json!({"properties": {"a": {"type": "string", "x-mcp-header": "A B"}}}),
        json!({"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}}),
        json!({"properties": {"a": {"anyOf": [{"type": "string", "x-mcp-header": "A"}]}}}),
        json!({"properties": {"a": {"type": "string", "x-mcp-header": "A"},
                              "b": {"type": "string", "x-mcp-header": "a"}}}),
    ];
    for schema in bad {
        let params = ParamHeaders::default();
        let mut page = json!({"tools": [
            {"name": "bad", "inputSchema": schema},
            {"name": "fine", "inputSchema": {"type": "object"}}]});
        params.learn(&mut page);
        let names: Vec<_> = page["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(names, [json!("fine")], "{schema}");
    }
}

/// The `locate` tool of the tests: `region` (string) and `opts.n` (integer) mirrored.
fn locate() -> ParamHeaders {
    let params = ParamHeaders::default();
    let mut page = json!({"tools": [{"name": "locate", "inputSchema": {"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "opts": {"type": "object", "properties": {"n": {"type": "integer", "x-mcp-header": "N"}}}}}}]});
    params.learn(&mut page);
    params
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::try_from(*name).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn headers_a_client_sends_must_carry_the_arguments() {
    let params = locate();
    let args = json!({"region": "Zürich", "opts": {"n": 42}});
    let ok = [
        headers(&[
            ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-n", "42"),
        ]),
        // Header names are case-insensitive; integers compare as numbers.
        headers(&[
            ("Mcp-Param-Region", "=?base64?WsO8cmljaA==?="),
            ("MCP-PARAM-N", "42.00"),
        ]),
    ];
    for sent in ok {
        assert_eq!(
            params.verify("locate", Some(&args), &sent),
            Ok(()),
            "{sent:?}"
        );
    }
    let bad = [
        headers(&[("mcp-param-n", "42")]),
        headers(&[("mcp-param-region", "Zurich"), ("mcp-param-n", "42")]),
        headers(&[
            ("mcp-param-region", "=?base64?not base64!?="),
            ("mcp-param-n", "42"),
        ]),
        headers(&[
            ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-n", "43"),
        ]),
        headers(&[
            ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-n", "42.5"),
        ]),
        headers(&[
            ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-n", "+42"),
        ]),
        headers(&[
            ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-region", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-n", "42"),
        ]),
    ];
    for sent in bad {
        assert!(
            params.verify("locate", Some(&args), &sent).is_err(),
            "{sent:?}"
        );
    }
    // Not visible ASCII: a value the revision says must be base64.
    let mut raw = headers(&[("mcp-param-n", "42")]);
    raw.insert(
        "mcp-param-region",
        HeaderValue::from_bytes(b"Z\xfcrich").unwrap(),
    );
    assert!(params.verify("locate", Some(&args), &raw).is_err());
}

#[test]
fn an_argument_without_a_value_wants_no_header() {
    let params = locate();
    let args = json!({"region": null});
    assert_eq!(
        params.verify("locate", Some(&args), &HeaderMap::new()),
        Ok(())
    );
    assert_eq!(params.verify("locate", None, &HeaderMap::new()), Ok(()));
    let stray = headers(&[("mcp-param-region", "x")]);
    assert!(params.verify("locate", Some(&args), &stray).is_err());
    // A value no header can carry (the toolkit judges its type): none expected.
    let odd = json!({"region": ["x"]});
    assert_eq!(
        params.verify("locate", Some(&odd), &HeaderMap::new()),
        Ok(())
    );
}

#[test]
fn a_tool_without_annotations_checks_nothing() {
    let params = locate();
    let sent = headers(&[("mcp-param-region", "anything")]);
    assert_eq!(params.verify("other", Some(&json!({})), &sent), Ok(()));
}
