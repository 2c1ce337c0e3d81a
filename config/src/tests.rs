use crate::error::{ConfigError, FieldError};
use crate::model::{
    Binding, Config, IsoDuration, McpProxy, McpProxyRoute, McpServer, ToolkitCondition,
};
use crate::testing::{DEMO, demo_with, rust_config};
use crate::{compile, compile_yaml, parse_yaml, to_yaml};

#[test]
fn demo_round_trips_through_to_yaml() {
    let config = parse_yaml(DEMO).map_err(|e| e.to_string());
    let yaml = config
        .clone()
        .map(|config| to_yaml(&config).map_err(|e| e.to_string()));
    let yaml = yaml.and_then(|yaml| yaml);
    assert_eq!(
        yaml.as_deref()
            .map(parse_yaml)
            .map(|c| c.map_err(|e| e.to_string())),
        Ok(config)
    );
    assert_eq!(yaml.as_deref().map(compile_yaml), Ok(compile_yaml(DEMO)));
}

#[test]
fn config_built_in_rust_round_trips_through_to_yaml() {
    assert_round_trips(rust_config());
}

/// `config` renders to YAML that compiles to the same plan and parses back
/// to the same config; the rendered YAML.
pub(crate) fn assert_round_trips(config: Config) -> String {
    let yaml = to_yaml(&config).map_err(|e| e.to_string());
    assert_eq!(yaml.as_deref().map(compile_yaml), Ok(compile(&config)));
    assert!(compile(&config).is_ok());
    assert_eq!(
        yaml.as_deref().map(parse_yaml),
        Ok(Ok(config)),
        "rendered:\n{yaml:?}"
    );
    yaml.unwrap_or_default()
}

#[test]
fn to_yaml_writes_type_and_kind_first_and_leaves_defaults_out() {
    let yaml = to_yaml(&rust_config()).map_err(|e| e.to_string());
    let expected = "\
name: rust
bindings:
  tcp:
    type: tcp
    kind: server
    options:
      host: 127.0.0.1
      port: 0
    exit: http
  http:
    type: http
    kind: server
    routes:
    - when:
      - headers:
          :path: /mcp
      exit: server
  server:
    type: mcp
    kind: server
    exit: proxy
  proxy:
    type: mcp
    kind: proxy
    routes:
    - when:
      - toolkit: time
      exit: client
  client:
    type: mcp
    kind: client
    options:
      server: http://127.0.0.1:3002/mcp
    exit: sys:http_client
";
    assert_eq!(yaml.as_deref(), Ok(expected));
}

/// [`rust_config`] with allow-lists and every new server option set.
fn curated_rust_config() -> Config {
    let mut server = McpServer::new("proxy");
    server.options.session_key = Some("/etc/mcpgw/session.key".to_owned());
    server.options.initialize_timeout = Some(IsoDuration::from_secs(90));
    let condition = ToolkitCondition::new("time")
        .with_tools(["get-*", "convert_time"])
        .with_prompts(Vec::<String>::new())
        .with_resources(["time://zones/?*"]);
    rust_config().with_binding("server", server).with_binding(
        "proxy",
        McpProxy::new([McpProxyRoute::new(condition, "client")]),
    )
}

#[test]
fn allow_lists_and_server_options_round_trip_through_to_yaml() {
    let rendered = assert_round_trips(curated_rust_config());
    for expected in [
        "    options:\n      session_key: /etc/mcpgw/session.key\n      initialize_timeout: PT1M30S\n",
        "    - when:\n      - toolkit: time\n        tools:\n        - get-*\n        - convert_time\n        \
         prompts: []\n        resources:\n        - time://zones/?*\n      exit: client\n",
    ] {
        assert!(
            rendered.contains(expected),
            "`{expected}` not in:\n{rendered}"
        );
    }
}

#[test]
fn allow_lists_example_round_trips_through_to_yaml() {
    let yaml = include_str!("../../examples/allow-lists.yaml");
    let config = parse_yaml(yaml).map_err(|e| e.to_string());
    let rendered = config
        .as_ref()
        .map(|config| to_yaml(config).map_err(|e| e.to_string()));
    let reparsed = rendered.map(|r| r.map(|r| parse_yaml(&r).map_err(|e| e.to_string())));
    assert_eq!(reparsed, Ok(Ok(config.clone())));
    let time = config.map(|config| match config.bindings.get("north_mcp_proxy") {
        Some(Binding::McpProxy(proxy)) => proxy.routes[1].when[0].clone(),
        _ => ToolkitCondition::new("missing"),
    });
    assert_eq!(
        time,
        Ok(ToolkitCondition::new("time").with_prompts(Vec::<String>::new()))
    );
}

#[test]
fn config_error_displays_one_path_and_message_per_line() {
    let error = ConfigError::from(vec![
        FieldError::new("name", "must not be empty"),
        FieldError::new("bindings.south_x.options.server", "not an http URL"),
    ]);
    assert_eq!(
        error.to_string(),
        "name: must not be empty\nbindings.south_x.options.server: not an http URL"
    );
}

#[test]
fn parse_yaml_checks_shape_but_not_rules() {
    let unknown_field = demo_with("port: 7114", "prot: 7114");
    assert!(parse_yaml(&unknown_field).is_err());
    let blank_name = demo_with("name: demo", "name: \"\"");
    assert_eq!(parse_yaml(&blank_name).map(|c| c.name), Ok(String::new()));
}

#[test]
fn serde_deserializes_the_model_directly_with_the_first_error() {
    let config: Result<Config, _> = serde_yaml_ng::from_str(DEMO);
    assert_eq!(
        config.map_err(|e| e.to_string()),
        parse_yaml(DEMO).map_err(|e| e.to_string())
    );
    let yaml = demo_with("port: 7114", "prot: 7114");
    let error = serde_yaml_ng::from_str::<Config>(&yaml)
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(
        error
            .as_ref()
            .is_err_and(|e| e.contains("options.prot: unknown field `prot`")),
        "{error:?}"
    );
}
