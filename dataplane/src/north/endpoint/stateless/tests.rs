use super::*;

fn headers(pairs: &[(&http::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(*name, HeaderValue::from_str(value).expect("header value"));
    }
    h
}

fn call_tool(name: &str, version: &str) -> Request {
    Request::new(
        RequestId::Number(1),
        "tools/call",
        Some(json!({"name": name, "_meta": {
            era::meta::PROTOCOL_VERSION: version,
            era::meta::CLIENT_CAPABILITIES: {},
        }})),
    )
}

fn code_of(result: std::result::Result<Envelope, ErrorObject>) -> i64 {
    result.expect_err("refused").code
}

#[test]
fn the_ladder_refuses_in_the_spec_order() {
    let good = headers(&[
        (&HEADER_PROTOCOL_VERSION, "2026-07-28"),
        (&HEADER_METHOD, "tools/call"),
        (&HEADER_NAME, "kit__echo"),
    ]);
    assert!(check(&mut call_tool("kit__echo", "2026-07-28"), &good).is_ok());

    let bare = Request::new(RequestId::Number(1), "tools/list", None);
    assert_eq!(
        code_of(check(&mut bare.clone(), &good)),
        code::INVALID_PARAMS
    );

    let other_name = headers(&[
        (&HEADER_PROTOCOL_VERSION, "2026-07-28"),
        (&HEADER_METHOD, "tools/call"),
        (&HEADER_NAME, "kit__other"),
    ]);
    let request = call_tool("kit__echo", "2026-07-28");
    assert_eq!(
        code_of(check(&mut request.clone(), &other_name)),
        era_code::HEADER_MISMATCH
    );

    let twice = headers(&[
        (&HEADER_PROTOCOL_VERSION, "2026-07-28"),
        (&HEADER_METHOD, "tools/call"),
        (&HEADER_METHOD, "tools/call"),
        (&HEADER_NAME, "kit__echo"),
    ]);
    assert_eq!(
        code_of(check(&mut request.clone(), &twice)),
        era_code::HEADER_MISMATCH
    );

    let future = headers(&[
        (&HEADER_PROTOCOL_VERSION, "2099-01-01"),
        (&HEADER_METHOD, "tools/call"),
        (&HEADER_NAME, "kit__echo"),
    ]);
    let error = check(&mut call_tool("kit__echo", "2099-01-01"), &future).expect_err("refused");
    assert_eq!(error.code, era_code::UNSUPPORTED_PROTOCOL_VERSION);
    assert_eq!(error.data.expect("data")["requested"], "2099-01-01");
}

#[test]
fn a_base64_name_header_matches_its_decoded_name() {
    let request = call_tool("kit__grüße", "2026-07-28");
    let encoded = era::encode_header_value("kit__grüße");
    let h = headers(&[
        (&HEADER_PROTOCOL_VERSION, "2026-07-28"),
        (&HEADER_METHOD, "tools/call"),
        (&HEADER_NAME, &encoded),
    ]);
    assert!(check(&mut request.clone(), &h).is_ok());
}

#[test]
fn only_modern_version_headers_leave_the_session_transport() {
    let of = |v: &str| is_stateless(&headers(&[(&HEADER_PROTOCOL_VERSION, v)]));
    assert!(of("2026-07-28"));
    assert!(of("2099-01-01"));
    assert!(!of("2025-11-25"));
    assert!(!of("2025-06-18"));
    assert!(!is_stateless(&HeaderMap::new()));
}

#[test]
fn malformed_requests_get_400_and_unknown_methods_404() {
    assert_eq!(
        status_of(era_code::HEADER_MISMATCH),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(status_of(code::INVALID_PARAMS), StatusCode::BAD_REQUEST);
    assert_eq!(status_of(code::METHOD_NOT_FOUND), StatusCode::NOT_FOUND);
    assert_eq!(status_of(code::INTERNAL_ERROR), StatusCode::OK);
}
