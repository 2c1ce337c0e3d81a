use crate::testing::{DEMO, assert_errors, demo_with};

const TCP: &str = "  north_tcp_server:  { type: tcp,  kind: server, \
                   options: { host: 127.0.0.1, port: 7114 }, exit: north_http_server }\n";

fn with_binding(binding: &str) -> String {
    format!("{DEMO}  {binding}\n")
}

#[test]
fn exit_to_a_missing_binding_is_rejected_without_cascading() {
    assert_errors(
        &demo_with("exit: north_http_server", "exit: north_http"),
        &[
            "bindings.north_tcp_server.exit: no binding named `north_http`",
            "bindings.north_http_server: not reachable from any tcp server",
        ],
    );
}

#[test]
fn exit_to_a_binding_of_the_wrong_kind_is_rejected() {
    assert_errors(
        &demo_with("exit: north_http_server", "exit: north_mcp_server"),
        &[
            "bindings.north_tcp_server.exit: `north_mcp_server` is an mcp server binding, \
             expected an http server binding",
            "bindings.north_http_server: not reachable from any tcp server",
        ],
    );
    assert_errors(
        &demo_with("exit: south_mcp_client_time", "exit: north_mcp_server"),
        &[
            "bindings.north_mcp_proxy.routes[1].exit: `north_mcp_server` is an mcp server \
             binding, expected an mcp client binding",
            "bindings.south_mcp_client_time: not reachable from any tcp server",
        ],
    );
}

#[test]
fn http_client_builtin_is_only_an_mcp_client_exit() {
    assert_errors(
        &demo_with("exit: north_mcp_proxy", "exit: sys:http_client"),
        &[
            "bindings.north_mcp_server.exit: the built-in `sys:http_client` can only be the exit \
             of an mcp client",
            "bindings.north_mcp_proxy: not reachable from any tcp server",
        ],
    );
}

#[test]
fn mcp_client_exits_to_the_http_client_builtin_or_an_http_client() {
    let yaml = DEMO.replacen("exit: sys:http_client", "exit: sys:https_client", 1);
    assert_errors(
        &yaml,
        &[
            "bindings.south_mcp_client_everything.exit: unknown built-in `sys:https_client`, \
           expected `sys:http_client`",
        ],
    );
    let yaml = DEMO.replacen("exit: sys:http_client", "exit: south_http_client", 1);
    assert_errors(
        &yaml,
        &["bindings.south_mcp_client_everything.exit: no binding named `south_http_client`"],
    );
    let yaml = DEMO.replacen("exit: sys:http_client", "exit: north_mcp_server", 1);
    assert_errors(
        &yaml,
        &[
            "bindings.south_mcp_client_everything.exit: `north_mcp_server` is an mcp server \
           binding, expected `sys:http_client` or an http client binding",
        ],
    );
}

#[test]
fn unreachable_binding_is_rejected() {
    let yaml = with_binding(
        "orphan: { type: mcp, kind: client, options: { server: http://x/ }, exit: sys:http_client }",
    );
    assert_errors(
        &yaml,
        &["bindings.orphan: not reachable from any tcp server"],
    );
}

#[test]
fn config_without_tcp_server_is_rejected() {
    assert_errors(
        &demo_with(TCP, ""),
        &["bindings: at least one tcp server binding is required"],
    );
    assert_errors(
        "name: empty\nbindings: {}",
        &["bindings: at least one tcp server binding is required"],
    );
}

#[test]
fn two_listeners_on_the_same_port_are_rejected() {
    let yaml = with_binding(
        "second: { type: tcp, kind: server, options: { host: 127.0.0.1, port: 7114 }, \
         exit: north_http_server }",
    );
    assert_errors(
        &yaml,
        &["bindings.second.options.port: 127.0.0.1:7114 is already used by `north_tcp_server`"],
    );
    let yaml = demo_with("host: 127.0.0.1", "host: localhost").replacen(
        "bindings:\n",
        "bindings:\n  first: { type: tcp, kind: server, options: { host: LocalHost, port: 7114 }, \
         exit: north_http_server }\n",
        1,
    );
    assert_errors(
        &yaml,
        &["bindings.north_tcp_server.options.port: localhost:7114 is already used by `first`"],
    );
}

#[test]
fn port_zero_and_distinct_hosts_may_repeat() {
    let yaml = demo_with("port: 7114", "port: 0").replacen(
        "bindings:\n",
        "bindings:\n  any_a: { type: tcp, kind: server, options: { host: 127.0.0.1, port: 0 }, \
         exit: north_http_server }\n  other_host: { type: tcp, kind: server, \
         options: { host: 127.0.0.2, port: 7114 }, exit: north_http_server }\n",
        1,
    );
    assert_errors(&yaml, &[]);
}
