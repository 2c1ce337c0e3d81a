use crate::testing::{DEMO, assert_errors, assert_rejects, demo_with, demo_without, errors};

const SERVER_OPTIONS: &str = "origins: [ \"https://app.example.com\" ]";
const CLIENT: &str = "server: http://127.0.0.1:3002/mcp";
const CLIENT_PATH: &str = "bindings.south_mcp_client_time.options.server";

fn with_origin(origin: &str) -> String {
    demo_with(SERVER_OPTIONS, &format!("origins: [ \"{origin}\" ]"))
}

fn with_server(url: &str) -> String {
    demo_with(CLIENT, &format!("server: \"{url}\""))
}

#[test]
fn blank_name_is_rejected() {
    assert_errors(
        &demo_with("name: demo", "name: \"\""),
        &["name: must not be empty"],
    );
    assert_errors(
        &demo_with("name: demo", "name: \" \""),
        &["name: must not be empty"],
    );
}

#[test]
fn binding_name_with_a_dot_is_rejected() {
    assert_errors(
        &DEMO.replace("south_mcp_client_time", "south.time"),
        &["bindings.south.time: binding names may only contain letters, digits, `_` and `-`"],
    );
}

#[test]
fn tcp_host_must_be_an_ip_address_or_host_name() {
    let host = "bindings.north_tcp_server.options.host";
    let yaml = demo_with("host: 127.0.0.1", "host: \"\"");
    assert_errors(&yaml, &[&format!("{host}: must not be empty")]);
    for bad in [
        "not a host",
        "[::1]",
        "-a.example.com",
        "a..b",
        "300.1.1.1",
        "a_b",
    ] {
        let yaml = demo_with("host: 127.0.0.1", &format!("host: \"{bad}\""));
        assert_errors(&yaml, &[&format!("{host}: not an IP address or host name")]);
    }
    for good in [
        "0.0.0.0",
        "::",
        "::1",
        "localhost",
        "gw-1.example.com",
        "gw.example.com.",
    ] {
        let yaml = demo_with("host: 127.0.0.1", &format!("host: \"{good}\""));
        assert_errors(&yaml, &[]);
    }
}

#[test]
fn http_server_needs_a_route() {
    let yaml = demo_with(
        "    routes:\n      - when: [ { headers: { \":path\": /mcp } } ]\n        exit: north_mcp_server\n",
        "    routes: []\n",
    );
    assert_rejects(
        &yaml,
        "bindings.north_http_server.routes",
        "at least one route is required",
    );
}

#[test]
fn http_route_needs_a_condition() {
    let yaml = demo_with("- when: [ { headers: { \":path\": /mcp } } ]", "- when: []");
    assert_errors(
        &yaml,
        &["bindings.north_http_server.routes[0].when: at least one condition is required"],
    );
}

#[test]
fn headers_other_than_path_are_not_supported_yet() {
    let yaml = demo_with(
        "{ \":path\": /mcp }",
        "{ \":path\": /mcp, \":method\": POST }",
    );
    assert_errors(
        &yaml,
        &[
            "bindings.north_http_server.routes[0].when[0].headers.:method: not supported yet: \
           matching on header `:method` (only `:path` is supported)",
        ],
    );
}

#[test]
fn http_condition_without_path_is_rejected() {
    let yaml = demo_with("{ \":path\": /mcp }", "{}");
    assert_errors(
        &yaml,
        &["bindings.north_http_server.routes[0].when[0].headers: `:path` is required"],
    );
}

#[test]
fn http_path_must_be_a_plain_absolute_path() {
    let field = "bindings.north_http_server.routes[0].when[0].headers.:path";
    let yaml = demo_with("\": /mcp", "\": mcp");
    assert_errors(&yaml, &[&format!("{field}: must start with `/`")]);
    for bad in ["/mcp?x=1", "/mcp#x", "/m cp"] {
        let yaml = demo_with("\": /mcp", &format!("\": \"{bad}\""));
        assert_errors(
            &yaml,
            &[&format!("{field}: must not contain `?`, `#` or whitespace")],
        );
    }
}

#[test]
fn duplicate_http_path_is_rejected() {
    let yaml = demo_with(
        "        exit: north_mcp_server\n",
        "        exit: north_mcp_server\n      - when: [ { headers: { \":path\": /mcp } } ]\n        \
         exit: north_mcp_server\n",
    );
    assert_errors(
        &yaml,
        &[
            "bindings.north_http_server.routes[1].when[0].headers.:path: \
           `/mcp` is already routed by routes[0]",
        ],
    );
}

#[test]
fn origins_must_be_scheme_host_and_port() {
    let field = "bindings.north_mcp_server.options.origins[0]";
    let cases = [
        ("app.example.com", "missing `scheme://`"),
        (
            "ftp://app.example.com",
            "the scheme must be `http` or `https`",
        ),
        (
            "https://app.example.com/",
            "must not have a path, query or fragment",
        ),
        (
            "https://app.example.com?x",
            "must not have a path, query or fragment",
        ),
        ("https://me@app.example.com", "must not contain user info"),
        ("https://", "empty host"),
        ("*", "missing `scheme://`"),
    ];
    for (origin, reason) in cases {
        assert_errors(
            &with_origin(origin),
            &[&format!(
                "{field}: not an origin (scheme://host[:port]): {reason}"
            )],
        );
    }
}

#[test]
fn max_request_bytes_must_be_between_1_kib_and_64_mib() {
    let field = "bindings.north_mcp_server.options.max_request_bytes";
    for bad in [0, 1023, 67_108_865] {
        let yaml = demo_with(
            "max_request_bytes: 4194304",
            &format!("max_request_bytes: {bad}"),
        );
        assert_errors(
            &yaml,
            &[&format!(
                "{field}: must be between 1024 and 67108864 (64 MiB)"
            )],
        );
    }
    for good in [1024, 67_108_864] {
        let yaml = demo_with(
            "max_request_bytes: 4194304",
            &format!("max_request_bytes: {good}"),
        );
        assert_errors(&yaml, &[]);
    }
}

#[test]
fn zero_durations_are_rejected() {
    let yaml = demo_with("session_idle_timeout: PT1H", "session_idle_timeout: PT0S").replacen(
        "timeout: PT60S",
        "timeout: P0D",
        1,
    );
    assert_errors(
        &yaml,
        &[
            "bindings.north_mcp_server.options.session_idle_timeout: must be longer than zero",
            "bindings.south_mcp_client_everything.options.timeout: must be longer than zero",
        ],
    );
}

#[test]
fn mcp_proxy_needs_a_route() {
    let yaml = demo_without(&["prefix: always", "toolkit: ", "exit: south_mcp_client_"]).replacen(
        "kind: proxy\n    routes:",
        "kind: proxy\n    routes: []",
        1,
    );
    assert_rejects(
        &yaml,
        "bindings.north_mcp_proxy.routes",
        "at least one route is required",
    );
}

#[test]
fn duplicate_toolkit_is_rejected() {
    let yaml = demo_with("{ toolkit: time }", "{ toolkit: everything }");
    assert_errors(
        &yaml,
        &["bindings.north_mcp_proxy.routes[1].when[0].toolkit: \
           toolkit `everything` is already defined by routes[0], which exits to \
           `south_mcp_client_everything`; every route of a toolkit exits to its one mcp client"],
    );
}

#[test]
fn toolkit_names_must_be_dns_labels() {
    let long = "a".repeat(64);
    for bad in [
        "Time",
        "a__b",
        "a+b",
        "a/b",
        "-time",
        "time-",
        "",
        long.as_str(),
    ] {
        let yaml = demo_with("{ toolkit: time }", &format!("{{ toolkit: \"{bad}\" }}"));
        assert_rejects(
            &yaml,
            "bindings.north_mcp_proxy.routes[1].when[0].toolkit",
            "not a DNS-1123 label",
        );
    }
    let longest = "a".repeat(63);
    for good in ["t", "0", "time-2", longest.as_str()] {
        assert_errors(
            &demo_with("{ toolkit: time }", &format!("{{ toolkit: \"{good}\" }}")),
            &[],
        );
    }
}

#[test]
fn proxy_route_needs_exactly_one_toolkit() {
    let field = "bindings.north_mcp_proxy.routes[1].when";
    let message = "expected exactly one `{toolkit: NAME}` condition";
    let two = demo_with(
        "[ { toolkit: time } ]",
        "[ { toolkit: time }, { toolkit: clock } ]",
    );
    assert_errors(&two, &[&format!("{field}: {message}")]);
    let none = demo_with("[ { toolkit: time } ]", "[]");
    assert_errors(&none, &[&format!("{field}: {message}")]);
}

#[test]
fn two_routes_to_the_same_client_are_rejected() {
    let yaml = demo_with(
        "exit: south_mcp_client_time",
        "exit: south_mcp_client_everything",
    );
    assert_rejects(
        &yaml,
        "bindings.north_mcp_proxy.routes[1].exit",
        "`south_mcp_client_everything` is already the exit of routes[0]",
    );
}

#[test]
fn prefix_never_needs_exactly_one_toolkit() {
    assert_errors(
        &demo_with("prefix: always", "prefix: never"),
        &["bindings.north_mcp_proxy.options.prefix: \
           `never` requires exactly one toolkit (names from several toolkits could collide)"],
    );
}

#[test]
fn an_https_server_compiles_to_tls_with_the_system_defaults() {
    let plan = crate::compile_yaml(&with_server("https://mcp.example.com/mcp")).expect("compiles");
    let toolkits = &plan.listeners[0].routes[0].endpoint.proxy.toolkits;
    let tls = |name: &str| {
        let toolkit = toolkits.iter().find(|t| t.name == name).expect("toolkit");
        toolkit.egress.tls.clone()
    };
    assert_eq!(tls("time"), Some(crate::TlsPlan::system_default()));
    assert_eq!(tls("everything"), None, "http stays plain");
}

#[test]
fn server_must_be_an_absolute_http_url() {
    let cases = [
        (
            "127.0.0.1:3002/mcp",
            "not an http(s) URL: relative URL without a base",
        ),
        (
            "localhost:3002/mcp",
            "not an http(s) URL: scheme `localhost`, expected `http` or `https`",
        ),
        ("/mcp", "not an http(s) URL: relative URL without a base"),
        (
            "ftp://x/mcp",
            "not an http(s) URL: scheme `ftp`, expected `http` or `https`",
        ),
        (
            "http:/x/mcp",
            "not an http(s) URL: expected `http(s)://host[:port]/path`",
        ),
        ("http://", "not an http(s) URL: empty host"),
        (
            "http://u:p@x/mcp",
            "must not contain user info (credentials never go in the config)",
        ),
        ("http://x/mcp#top", "must not contain a fragment"),
    ];
    for (url, message) in cases {
        assert_errors(&with_server(url), &[&format!("{CLIENT_PATH}: {message}")]);
    }
}

#[test]
fn server_url_is_required() {
    let yaml = demo_with(
        "options: { server: http://127.0.0.1:3002/mcp }",
        "options: {}",
    );
    assert_errors(&yaml, &[&format!("{CLIENT_PATH}: missing required field")]);
}

#[test]
fn all_errors_are_reported_at_once() {
    let yaml = demo_with("name: demo", "name: \"\"")
        .replacen("host: 127.0.0.1", "host: \"a b\"", 1)
        .replacen("{ toolkit: time }", "{ toolkit: Time }", 1)
        .replacen(CLIENT, "server: ftp://x/", 1);
    assert_eq!(errors(&yaml).len(), 4, "{:#?}", errors(&yaml));
}

const EVERYTHING: &str = "{ toolkit: everything }";
const CONDITION: &str = "bindings.north_mcp_proxy.routes[0].when[0]";

fn with_condition(fields: &str) -> String {
    demo_with(EVERYTHING, &format!("{{ toolkit: everything, {fields} }}"))
}

#[test]
fn allow_list_patterns_must_be_non_empty() {
    assert_errors(
        &with_condition("tools: [ echo, \"\" ], prompts: [ \"\" ], resources: [ \"\", \"*\" ]"),
        &[
            &format!("{CONDITION}.tools[1]: must not be empty"),
            &format!("{CONDITION}.prompts[0]: must not be empty"),
            &format!("{CONDITION}.resources[0]: must not be empty"),
        ],
    );
}

#[test]
fn allow_list_patterns_are_at_most_512_characters() {
    let longest = "*".repeat(512);
    let too_long = "x".repeat(513);
    // Counted in characters, not bytes.
    let longest_unicode = "é".repeat(512);
    let yaml = with_condition(&format!(
        "tools: [ \"{longest}\", \"{too_long}\" ], resources: [ \"{longest_unicode}\" ]"
    ));
    assert_errors(
        &yaml,
        &[&format!("{CONDITION}.tools[1]: at most 512 characters")],
    );
}

#[test]
fn allow_lists_may_be_empty_and_use_any_characters() {
    let yaml = with_condition(
        "tools: [], prompts: [ \"?\", \"[a-z]\", \"\\\\\" ], resources: [ \"demo://*/{id}\" ]",
    );
    assert_errors(&yaml, &[]);
}

#[test]
fn allow_list_errors_come_with_the_other_errors_of_the_proxy() {
    let yaml = demo_with("{ toolkit: time }", "{ toolkit: Time, tools: [ \"\" ] }");
    let field = "bindings.north_mcp_proxy.routes[1].when[0]";
    assert_errors(
        &yaml,
        &[
            &format!("{field}.tools[0]: must not be empty"),
            &format!(
                "{field}.toolkit: not a DNS-1123 label: lower-case letters, digits and `-`, \
                 starting and ending with a letter or digit, at most 63 characters"
            ),
        ],
    );
}

#[test]
fn session_key_must_be_a_non_empty_path_without_nul() {
    let field = "bindings.north_mcp_server.options.session_key";
    let with_key =
        |key: &str| demo_with("max_request_bytes: 4194304", &format!("session_key: {key}"));
    assert_errors(&with_key("\"\""), &[&format!("{field}: must not be empty")]);
    assert_errors(
        &with_key("\"a\\0b\""),
        &[&format!("{field}: must not contain a NUL character")],
    );
    for good in ["/etc/mcpgw/session.key", "session.key", "\" \""] {
        assert_errors(&with_key(good), &[]);
    }
}

#[test]
fn initialize_timeout_must_be_positive_and_at_most_five_minutes() {
    let field = "bindings.north_mcp_server.options.initialize_timeout";
    let with_timeout = |timeout: &str| {
        demo_with(
            "initialize_timeout: PT5S",
            &format!("initialize_timeout: {timeout}"),
        )
    };
    assert_errors(
        &with_timeout("PT0S"),
        &[&format!("{field}: must be longer than zero")],
    );
    for bad in ["PT5M0.000000001S", "PT301S", "P1D"] {
        assert_errors(
            &with_timeout(bad),
            &[&format!("{field}: must be at most PT5M")],
        );
    }
    for good in ["PT0.001S", "PT5M", "PT300S"] {
        assert_errors(&with_timeout(good), &[]);
    }
}

#[test]
fn connection_timeouts_must_be_positive_and_bounded() {
    let path = "bindings.north_http_server.options";
    let with = |from: &str, to: &str| demo_with(from, to);
    let read = |v: &str| {
        with(
            "header_read_timeout: PT10S",
            &format!("header_read_timeout: {v}"),
        )
    };
    let idle = |v: &str| with("idle_timeout: PT1M", &format!("idle_timeout: {v}"));
    assert_errors(
        &read("PT0S"),
        &[&format!(
            "{path}.header_read_timeout: must be longer than zero"
        )],
    );
    assert_errors(
        &read("PT5M1S"),
        &[&format!("{path}.header_read_timeout: must be at most PT5M")],
    );
    assert_errors(
        &idle("PT0S"),
        &[&format!("{path}.idle_timeout: must be longer than zero")],
    );
    assert_errors(
        &idle("PT1H0.1S"),
        &[&format!("{path}.idle_timeout: must be at most PT1H")],
    );
    for good in [read("PT0.5S"), read("PT5M"), idle("PT1S"), idle("PT1H")] {
        assert_errors(&good, &[]);
    }
    let plan = crate::compile_yaml(&read("PT3S")).expect("compiles");
    assert_eq!(
        plan.listeners[0].http.header_read_timeout,
        std::time::Duration::from_secs(3)
    );
}

#[test]
fn per_caller_bounds_must_be_between_1_and_a_million() {
    for field in ["max_sessions_per_caller", "max_streams_per_caller"] {
        let from = if field == "max_sessions_per_caller" {
            "max_sessions_per_caller: 1000"
        } else {
            "max_streams_per_caller: 100"
        };
        for bad in [0, 1_000_001] {
            assert_errors(
                &demo_with(from, &format!("{field}: {bad}")),
                &[&format!(
                    "bindings.north_mcp_server.options.{field}: must be between 1 and 1000000"
                )],
            );
        }
        for good in [1, 1_000_000] {
            assert_errors(&demo_with(from, &format!("{field}: {good}")), &[]);
        }
    }
}
