use crate::testing::{DEMO, assert_errors, assert_rejects, demo_with, errors};

#[test]
fn unknown_field_error_names_its_path() {
    assert_errors(
        &demo_with("port: 7114", "prot: 7114"),
        &[
            "bindings.north_tcp_server.options.prot: unknown field `prot`, expected `host` or `port`",
        ],
    );
}

#[test]
fn type_error_deep_in_options_names_its_path() {
    assert_errors(
        &demo_with("port: 7114", r#"port: "x""#),
        &[r#"bindings.north_tcp_server.options.port: invalid type: string "x", expected u16"#],
    );
}

#[test]
fn out_of_range_port_is_a_type_error() {
    assert_errors(
        &demo_with("port: 7114", "port: 70000"),
        &["bindings.north_tcp_server.options.port: invalid value: integer `70000`, expected u16"],
    );
}

#[test]
fn missing_field_error_names_the_field() {
    assert_errors(
        &demo_with("    exit: north_mcp_proxy\n", ""),
        &["bindings.north_mcp_server.exit: missing required field"],
    );
}

#[test]
fn bad_duration_is_reported_with_its_path() {
    assert_errors(
        &demo_with("timeout: PT60S", "timeout: 60"),
        &[
            "bindings.south_mcp_client_everything.options.timeout: invalid type: integer `60`, \
           expected an ISO-8601 duration such as `PT30S`",
        ],
    );
    assert_rejects(
        &demo_with("timeout: PT60S", "timeout: 1 minute"),
        "bindings.south_mcp_client_everything.options.timeout",
        "invalid duration `1 minute`: expected an ISO-8601 duration",
    );
}

#[test]
fn unknown_enum_value_lists_the_choices() {
    assert_errors(
        &demo_with("prefix: always", "prefix: sometimes"),
        &[
            "bindings.north_mcp_proxy.options.prefix: unknown variant `sometimes`, \
           expected `always` or `never`",
        ],
    );
}

#[test]
fn yaml_syntax_error_is_located_by_line_and_column() {
    assert_errors(
        "name: demo\nbindings: [\n",
        &["line 3, column 1: did not find expected node content, while parsing a flow node"],
    );
}

#[test]
fn duplicate_yaml_keys_are_a_syntax_error() {
    let yaml = demo_with("name: demo", "name: demo\nname: again");
    // libyaml locates it at the start of the mapping that holds the key.
    assert_errors(
        &yaml,
        &["line 1, column 1: duplicate entry with key \"name\""],
    );
}

#[test]
fn document_that_is_not_a_mapping_is_rejected() {
    assert_errors(
        "- name",
        &["(root): invalid type: a sequence, expected a mapping with `name` and `bindings`"],
    );
    assert_errors(
        "",
        &["(root): invalid type: null, expected a mapping with `name` and `bindings`"],
    );
}

#[test]
fn unknown_top_level_field_is_rejected() {
    assert_errors(
        &format!("{DEMO}extra: 1\n"),
        &[
            "extra: unknown field `extra`, expected one of `name`, `guards`, `stores`, `telemetry`, `bindings`",
        ],
    );
}

#[test]
fn vaults_are_not_supported_yet_but_guards_and_telemetry_are_read() {
    assert_errors(
        &format!("{DEMO}guards: {{}}\ntelemetry: {{}}\nvaults: {{}}\n"),
        &["vaults: not supported yet: vaults"],
    );
}

#[test]
fn missing_name_and_bindings_are_reported_once() {
    assert_errors(
        "stores: {}",
        &[
            "name: missing required field",
            "bindings: missing required field",
        ],
    );
}

#[test]
fn name_of_the_wrong_type_is_reported_once() {
    assert_errors(
        &demo_with("name: demo", "name: [demo]"),
        &["name: invalid type: sequence, expected a string"],
    );
}

#[test]
fn unknown_store_type_is_rejected() {
    assert_errors(
        &demo_with("{ type: memory }", "{ type: redis }"),
        &["stores.cache.type: unknown variant `redis`, expected `memory`"],
    );
}

#[test]
fn unknown_binding_type_and_kind_are_rejected() {
    let yaml = format!(
        "{DEMO}  a: {{ type: kafka, kind: cache_client }}\n  b: {{ type: mcp, kind: cache }}\n"
    );
    assert_errors(
        &yaml,
        &[
            "bindings.a.type: unsupported binding type `kafka`, expected one of `tcp`, `tls`, \
             `http`, `mcp`",
            "bindings.b.kind: unsupported kind `cache` for `type: mcp`, \
             expected one of `server`, `proxy`, `client`",
        ],
    );
}

#[test]
fn binding_without_type_or_kind_is_rejected() {
    let yaml = format!("{DEMO}  a: {{ exit: b }}\n  b: 5\n");
    assert_errors(
        &yaml,
        &[
            "bindings.a.type: missing required field",
            "bindings.a.kind: missing required field",
            "bindings.b: invalid type: a number, expected a binding (a mapping with `type` and `kind`)",
        ],
    );
}

#[test]
fn tls_on_the_mcp_server_is_not_supported_yet() {
    let yaml = demo_with(
        "max_request_bytes: 4194304",
        "authorization: {}\n      tls: {}",
    );
    // An empty `authorization` is the same as none.
    let yaml = yaml.replacen("timeout: PT60S }", "timeout: PT60S, authorization: {} }", 1);
    assert_errors(
        &yaml,
        &["bindings.north_mcp_server.options.tls: not supported yet: TLS"],
    );
}

#[test]
fn with_on_routes_is_not_supported_yet() {
    let yaml = demo_with(
        "exit: south_mcp_client_time",
        "exit: south_mcp_client_time\n        with: {}",
    );
    assert_errors(
        &yaml,
        &["bindings.north_mcp_proxy.routes[1].with: not supported yet: route `with`"],
    );
}

#[test]
fn not_supported_yet_field_does_not_hide_other_errors() {
    let yaml =
        demo_with("port: 7114 }", "port: 7114, tls: {} }").replacen("\": /mcp", "\": mcp", 1);
    assert_errors(
        &yaml,
        &[
            "bindings.north_tcp_server.options.tls: not supported yet: TLS",
            "bindings.north_http_server.routes[0].when[0].headers.:path: must start with `/`",
        ],
    );
}

#[test]
fn every_broken_binding_is_reported() {
    let yaml = demo_with("port: 7114", "port: x").replacen("timeout: PT60S", "timeout: x", 1);
    let errors = errors(&yaml);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].starts_with("bindings.north_tcp_server.options.port: "));
    assert!(errors[1].starts_with("bindings.south_mcp_client_everything.options.timeout: "));
}

#[test]
fn yaml_merge_keys_are_applied() {
    let yaml = demo_with(
        "  south_mcp_client_time:\n    type: mcp\n    kind: client\n",
        "  south_mcp_client_time:\n    <<: { type: mcp, kind: client }\n",
    );
    assert_errors(&yaml, &[]);
}

#[test]
fn allow_lists_must_be_lists_of_strings() {
    let condition = "bindings.north_mcp_proxy.routes[0].when[0]";
    let with = |fields: &str| {
        demo_with(
            "{ toolkit: everything }",
            &format!("{{ toolkit: everything, {fields} }}"),
        )
    };
    // `tools:` with nothing after it is null: an error, not "allow everything".
    let null = format!(
        "{condition}.tools: invalid type: null, expected a list of patterns \
         (leave the field out to allow everything, write `[]` to allow nothing)"
    );
    assert_errors(&with("tools: null"), &[&null]);
    assert_errors(&with("tools: "), &[&null]);
    assert_errors(
        &with("prompts: echo"),
        &[&format!(
            "{condition}.prompts: invalid type: string \"echo\", expected a sequence"
        )],
    );
    assert_errors(
        &with("resources: [ [ x ] ]"),
        &[&format!(
            "{condition}.resources[0]: invalid type: sequence, expected a string"
        )],
    );
    assert_rejects(
        &with("tool: [ echo ]"),
        &format!("{condition}.tool"),
        "unknown field `tool`, expected one of `toolkit`, `tools`, `prompts`, `resources`",
    );
}

#[test]
fn session_key_and_initialize_timeout_are_checked_for_type() {
    let options = "bindings.north_mcp_server.options";
    assert_errors(
        &demo_with("initialize_timeout: PT5S", "initialize_timeout: 5"),
        &[&format!(
            "{options}.initialize_timeout: invalid type: integer `5`, \
             expected an ISO-8601 duration such as `PT30S`"
        )],
    );
    assert_errors(
        &demo_with("max_request_bytes: 4194304", "session_key: [ a ]"),
        &[&format!(
            "{options}.session_key: invalid type: sequence, expected a string"
        )],
    );
}

const JWT: &str = "guards.authn_jwt.options";

fn with_guard_field(from: &str, to: &str) -> String {
    crate::testing::guarded_with(from, to)
}

#[test]
fn guards_are_read_with_paths_into_their_options() {
    assert_errors(
        &with_guard_field("issuer: https://auth.example.com", "isuser: x"),
        &[&format!(
            "{JWT}.isuser: unknown field `isuser`, expected one of `issuer`, `audience`, `keys`, \
             `keys_file`, `algorithms`, `leeway`, `roles`, `identity`, `refresh_interval`, `trust`"
        )],
    );
    assert_errors(
        &with_guard_field(
            "keys_file: /etc/mcpgw/jwks/jwks.json",
            "keys_file: k\n      algorithms: [ HS256 ]",
        ),
        &[&format!(
            "{JWT}.algorithms[0]: unknown variant `HS256`, expected one of `RS256`, `RS384`, \
             `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`"
        )],
    );
}

#[test]
fn audience_and_keys_are_a_string_or_a_list() {
    assert_errors(
        &with_guard_field("audience: http://127.0.0.1:7114/mcp", "audience: { a: b }").replacen(
            "keys_file: /etc/mcpgw/jwks/jwks.json",
            "keys: 5",
            1,
        ),
        &[
            &format!("{JWT}.audience: invalid type: a mapping, expected a string or a list"),
            &format!("{JWT}.keys: invalid type: a number, expected a string or a list"),
        ],
    );
    assert_errors(
        &with_guard_field(
            "audience: http://127.0.0.1:7114/mcp",
            "audience: [ a, [ b ] ]",
        ),
        &[&format!(
            "{JWT}.audience[1]: invalid type: sequence, expected a string"
        )],
    );
}

#[test]
fn inline_keys_are_read_one_by_one_with_their_index() {
    let yaml = with_guard_field(
        "keys_file: /etc/mcpgw/jwks/jwks.json",
        "keys: [ { kty: EC, crv: P-256, x: a, y: b, z: c }, { kty: [ RSA ] } ]",
    );
    let errors = errors(&yaml);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].starts_with(&format!("{JWT}.keys[0].z: unknown field `z`")));
    assert!(errors[1].starts_with(&format!("{JWT}.keys[1].kty: invalid type: sequence")));
}

#[test]
fn private_and_symmetric_keys_are_refused() {
    let message = "a private key member: only public keys go in the config (secrets never do)";
    let yaml = with_guard_field(
        "keys_file: /etc/mcpgw/jwks/jwks.json",
        "keys: [ { kty: RSA, n: a, e: AQAB, d: x, p: y }, { kty: oct, k: c2VjcmV0 } ]",
    );
    let errors = errors(&yaml);
    assert_eq!(
        errors,
        [
            format!("{JWT}.keys[0].d: {message}"),
            format!("{JWT}.keys[0].p: {message}"),
            format!("{JWT}.keys[1].k: {message}"),
        ]
    );
    // The secret itself is never repeated in an error.
    assert!(errors.iter().all(|e| !e.contains("c2VjcmV0")));
}

#[test]
fn a_broken_guard_does_not_hide_the_errors_of_the_others() {
    let yaml = with_guard_field("    type: jwt\n", "    type: jwt\n    extra: 1\n").replacen(
        "port: 7114",
        "port: x",
        1,
    );
    let errors = errors(&yaml);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].starts_with("guards.authn_jwt.extra: unknown field `extra`"));
    assert!(errors[1].starts_with("bindings.north_tcp_server.options.port: "));
}
