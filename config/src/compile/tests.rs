use std::time::Duration;

use url::Url;

use crate::model::Binding;
use crate::model::{IsoDuration, McpProxy, McpProxyRoute, ToolkitCondition};
use crate::plan::{
    AccessRule, Allow, CachePlan, EgressPlan, EndpointPlan, HttpRoutePlan, HttpServerPlan,
    ListenerPlan, McpServerPlan, NamePattern, Plan, PrefixMode, ProxyPlan, ToolkitPlan,
};
use crate::testing::{DEMO, demo_with, demo_without, rust_config};
use crate::{compile, compile_yaml};

pub(super) fn url(text: &str) -> Url {
    Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// An open toolkit at `http://127.0.0.1:<port>/mcp` with the default options.
pub(super) fn toolkit(name: &str, port: u16, timeout: u64) -> ToolkitPlan {
    ToolkitPlan {
        name: name.to_owned(),
        client_binding: format!("south_mcp_client_{name}"),
        server: url(&format!("http://127.0.0.1:{port}/mcp")),
        egress: EgressPlan::for_server(&url(&format!("http://127.0.0.1:{port}/mcp"))),
        timeout: Duration::from_secs(timeout),
        access: vec![AccessRule::open()],
        forward: None,
        credentials: None,
        authorization_url: None,
        max_concurrent_requests: None,
        rate_limit: None,
        circuit_breaker: None,
        retries: None,
    }
}

fn demo_endpoint() -> EndpointPlan {
    EndpointPlan {
        server_binding: "north_mcp_server".to_owned(),
        server: McpServerPlan {
            allowed_origins: vec!["https://app.example.com".to_owned()],
            max_request_bytes: 4 * 1024 * 1024,
            session_idle_timeout: Duration::from_secs(3_600),
            session_key_file: None,
            initialize_timeout: Duration::from_secs(5),
            max_sessions_per_caller: 1000,
            max_streams_per_caller: 100,
        },
        authorization: None,
        proxy_binding: "north_mcp_proxy".to_owned(),
        proxy: ProxyPlan {
            prefix: PrefixMode::Always,
            toolkits: vec![toolkit("everything", 3001, 60), toolkit("time", 3002, 60)],
            cache: Some(CachePlan {
                store: "cache".to_owned(),
                ttl: Duration::from_secs(300),
                max_entries: 10_000,
            }),
        },
    }
}

fn listener(binding: &str, port: u16, routes: Vec<HttpRoutePlan>) -> ListenerPlan {
    ListenerPlan {
        binding: binding.to_owned(),
        host: "127.0.0.1".to_owned(),
        port,
        http: HttpServerPlan::default(),
        routes,
    }
}

fn route(path: &str, endpoint: EndpointPlan) -> HttpRoutePlan {
    HttpRoutePlan {
        path: path.to_owned(),
        endpoint,
    }
}

#[test]
fn demo_compiles_to_the_expected_plan() {
    let expected = Plan {
        name: "demo".to_owned(),
        listeners: vec![listener(
            "north_tcp_server",
            7114,
            vec![route("/mcp", demo_endpoint())],
        )],
        telemetry: None,
    };
    assert_eq!(compile_yaml(DEMO), Ok(expected));
}

#[test]
fn defaults_apply_when_options_are_left_out() {
    let yaml = demo_without(&[
        "# all optional",
        "origins:",
        "max_request_bytes:",
        "session_idle_timeout:",
        "initialize_timeout:",
        "max_sessions_per_caller:",
        "max_streams_per_caller:",
        "# connection bounds",
        "header_read_timeout:",
        "idle_timeout:",
        "prefix: always",
    ])
    .replacen(", timeout: PT60S", "", 1);
    let mut expected = demo_endpoint();
    expected.server.allowed_origins.clear();
    let plan = compile_yaml(&yaml).map(|plan| plan.listeners[0].routes[0].endpoint.clone());
    assert_eq!(plan, Ok(expected));
}

#[test]
fn options_are_carried_into_the_plan() {
    let yaml = demo_with("max_request_bytes: 4194304", "max_request_bytes: 2048")
        .replacen("PT1H", "PT90S", 1)
        .replacen("PT60S", "PT0.5S", 1)
        .replacen(
            "initialize_timeout: PT5S",
            "initialize_timeout: PT5M\n      session_key: /etc/mcpgw/session.key",
            1,
        )
        .replacen(
            "[ \"https://app.example.com\" ]",
            "[ \"HTTPS://App.Example.com:443\", \"https://app.example.com\", \"http://LOCALHOST:8080\" ]",
            1,
        );
    let server = compile_yaml(&yaml).map(|plan| plan.listeners[0].routes[0].endpoint.clone());
    let mut expected = demo_endpoint();
    expected.server = McpServerPlan {
        allowed_origins: vec![
            "https://app.example.com".to_owned(),
            "http://localhost:8080".to_owned(),
        ],
        max_request_bytes: 2048,
        session_idle_timeout: Duration::from_secs(90),
        session_key_file: Some("/etc/mcpgw/session.key".to_owned()),
        initialize_timeout: Duration::from_secs(300),
        ..expected.server
    };
    expected.proxy.toolkits[0].timeout = Duration::from_millis(500);
    assert_eq!(server, Ok(expected));
}

#[test]
fn each_when_entry_becomes_a_route() {
    let yaml = demo_with(
        "[ { headers: { \":path\": /mcp } } ]",
        "[ { headers: { \":path\": /mcp } }, { headers: { \":path\": /v1/mcp } } ]",
    );
    let paths = compile_yaml(&yaml).map(|plan| {
        let routes = &plan.listeners[0].routes;
        routes.iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    });
    assert_eq!(paths, Ok(vec!["/mcp".to_owned(), "/v1/mcp".to_owned()]));
}

#[test]
fn listeners_keep_config_order_and_may_share_an_http_server() {
    let yaml = DEMO.replacen(
        "bindings:\n",
        "bindings:\n  first: { type: tcp, kind: server, options: { host: 127.0.0.1, port: 0 }, \
         exit: north_http_server }\n",
        1,
    );
    let listeners = compile_yaml(&yaml).map(|plan| plan.listeners);
    let routes = vec![route("/mcp", demo_endpoint())];
    assert_eq!(
        listeners,
        Ok(vec![
            listener("first", 0, routes.clone()),
            listener("north_tcp_server", 7114, routes),
        ])
    );
}

#[test]
fn single_toolkit_example_uses_prefix_never() {
    let yaml = include_str!("../../../examples/single-toolkit.yaml");
    let proxy = compile_yaml(yaml).map(|plan| plan.listeners[0].routes[0].endpoint.proxy.clone());
    assert_eq!(
        proxy,
        Ok(ProxyPlan {
            prefix: PrefixMode::Never,
            toolkits: vec![toolkit("everything", 3001, 60)],
            cache: None,
        })
    );
}

#[test]
fn config_built_in_rust_compiles() {
    let plan = compile(&rust_config());
    let toolkits = plan.map(|plan| plan.listeners[0].routes[0].endpoint.proxy.toolkits.clone());
    assert_eq!(
        toolkits,
        Ok(vec![ToolkitPlan {
            client_binding: "client".to_owned(),
            ..toolkit("time", 3002, 60)
        }])
    );
}

fn patterns(list: &[&str]) -> Option<Vec<NamePattern>> {
    Some(list.iter().map(|p| NamePattern::new(p)).collect())
}

#[test]
fn allow_lists_example_carries_its_patterns() {
    let yaml = include_str!("../../../examples/allow-lists.yaml");
    let plan = compile_yaml(yaml);
    let endpoint = plan.map(|plan| plan.listeners[0].routes[0].endpoint.clone());
    let allows = endpoint.as_ref().map(|endpoint| {
        let toolkits = endpoint.proxy.toolkits.iter();
        toolkits
            .map(|t| t.access[0].allow.clone())
            .collect::<Vec<_>>()
    });
    assert_eq!(
        allows,
        Ok(vec![
            Allow {
                tools: patterns(&["echo", "get-*"]),
                prompts: patterns(&["simple-*"]),
                resources: patterns(&["demo://resource/static/*"]),
            },
            Allow {
                prompts: patterns(&[]),
                ..Allow::default()
            },
        ])
    );
    let initialize_timeout = endpoint.map(|endpoint| endpoint.server.initialize_timeout);
    assert_eq!(initialize_timeout, Ok(Duration::from_secs(2)));
}

#[test]
fn allow_lists_and_server_options_built_in_rust_compile() {
    let condition = ToolkitCondition::new("time")
        .with_tools(["get-*"])
        .with_prompts(Vec::<String>::new())
        .with_resources(["time://*"]);
    let proxy = McpProxy::new([McpProxyRoute::new(condition, "client")]);
    let mut config = rust_config().with_binding("proxy", proxy);
    if let Some(Binding::McpServer(server)) = config.bindings.get_mut("server") {
        server.options.session_key = Some("session.key".to_owned());
        server.options.initialize_timeout = Some(IsoDuration::from_secs(1));
    }
    let endpoint = compile(&config).map(|plan| plan.listeners[0].routes[0].endpoint.clone());
    let settings = endpoint.map(|endpoint| {
        let server = endpoint.server;
        let allow = endpoint.proxy.toolkits[0].access[0].allow.clone();
        (server.session_key_file, server.initialize_timeout, allow)
    });
    assert_eq!(
        settings,
        Ok((
            Some("session.key".to_owned()),
            Duration::from_secs(1),
            Allow {
                tools: patterns(&["get-*"]),
                prompts: patterns(&[]),
                resources: patterns(&["time://*"]),
            }
        ))
    );
}

#[test]
fn config_built_in_rust_reports_every_error() {
    let mut config = rust_config();
    config.name.clear();
    if let Some(Binding::McpClient(client)) = config.bindings.get_mut("client") {
        client.options.server = "ftp://x/".to_owned();
    }
    let paths = compile(&config).map_err(|e| {
        let paths = e.errors.iter().map(|e| e.path.clone());
        paths.collect::<Vec<_>>()
    });
    assert_eq!(
        paths,
        Err(vec![
            "name".to_owned(),
            "bindings.client.options.server".to_owned()
        ])
    );
}
