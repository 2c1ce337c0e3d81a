use crate::testing::{DEMO, assert_errors};

/// The demo with this `telemetry` section.
fn with_telemetry(telemetry: &str) -> String {
    format!("{DEMO}telemetry:\n{telemetry}")
}

fn traces_endpoint(yaml: &str) -> Option<String> {
    let plan = crate::compile_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    plan.telemetry.map(|t| t.traces_endpoint.to_string())
}

#[test]
fn without_telemetry_nothing_is_exported() {
    assert_eq!(traces_endpoint(DEMO), None);
    assert_eq!(traces_endpoint(&with_telemetry("  exporters: {}\n")), None);
}

#[test]
fn an_otlp_exporter_sends_traces_to_its_location_under_v1_traces() {
    let yaml = with_telemetry(
        "  exporters:
    otlp_exporter:
      type: otlp
      options:
        signals: [ traces ]
        endpoint: { protocol: http, location: \"http://collector:4318\" }
",
    );
    assert_eq!(
        traces_endpoint(&yaml).as_deref(),
        Some("http://collector:4318/v1/traces")
    );
}

#[test]
fn a_traces_override_replaces_the_path_under_the_location() {
    let yaml = with_telemetry(
        "  exporters:
    otlp_exporter:
      type: otlp
      options:
        endpoint:
          location: \"https://collector.example/otlp/\"
          overrides: { traces: /custom/traces }
",
    );
    assert_eq!(
        traces_endpoint(&yaml).as_deref(),
        Some("https://collector.example/otlp/custom/traces")
    );
}

#[test]
fn bad_exporters_are_reported_at_their_paths() {
    let yaml = with_telemetry(
        "  exporters:
    first:
      type: otlp
      options:
        signals: [ traces, metrics ]
        endpoint: { location: \"ftp://collector\", overrides: { traces: relative } }
    second:
      type: otlp
      options: { endpoint: { location: \"http://other:4318\" } }
",
    );
    assert_errors(
        &yaml,
        &[
            "telemetry.exporters.first.options.signals[1]: not supported yet: metrics export (scrape `/metrics` instead)",
            "telemetry.exporters.first.options.endpoint.location: not an http(s) URL: scheme `ftp`, expected `http` or `https`",
            "telemetry.exporters.second: only one exporter is supported",
        ],
    );
}

#[test]
fn unknown_exporter_fields_and_types_are_reported_at_their_paths() {
    let yaml = with_telemetry(
        "  exporters:
    x:
      type: prometheus
      options: { endpoint: { location: \"http://c\" } }
",
    );
    let errors = crate::testing::errors(&yaml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("telemetry.exporters.x.type: unknown variant `prometheus`"),
        "{errors:?}"
    );
}
