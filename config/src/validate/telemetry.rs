//! `telemetry`: at most one `otlp` exporter, over HTTP, exporting traces to
//! an http(s) collector.

use crate::error::{FieldError, Invalid};
use crate::model::{Signal, Telemetry};
use crate::plan::TelemetryPlan;
use crate::validate::net::web_url_without_fragment;

/// Where traces go by default under an exporter's `location`.
const TRACES_PATH: &str = "/v1/traces";

/// Checks `telemetry`; the plan of its exporter when it has one and it is valid.
pub(crate) fn telemetry(
    telemetry: &Telemetry,
    errors: &mut Vec<FieldError>,
) -> Option<TelemetryPlan> {
    let mut plans = Vec::new();
    for (index, (name, exporter)) in telemetry.exporters.iter().enumerate() {
        let path = format!("telemetry.exporters.{name}");
        if index > 0 {
            errors.push(FieldError::new(&path, Invalid::OneExporter));
            continue;
        }
        let options = &exporter.options;
        for (i, signal) in options.signals.iter().flatten().enumerate() {
            let what = match signal {
                Signal::Traces => continue,
                Signal::Metrics => "metrics export (scrape `/metrics` instead)",
                Signal::Logs => "logs export",
            };
            let at = format!("{path}.options.signals[{i}]");
            errors.push(FieldError::new(at, Invalid::not_supported_yet(what)));
        }
        let endpoint = &options.endpoint;
        let at = format!("{path}.options.endpoint.location");
        let location = match web_url_without_fragment(&endpoint.location) {
            Ok(url) if url.query().is_none() => url,
            Ok(_) => {
                errors.push(FieldError::new(at, Invalid::ExporterQuery));
                continue;
            }
            Err(e) => {
                errors.push(FieldError::new(at, e));
                continue;
            }
        };
        let traces = endpoint
            .overrides
            .as_ref()
            .and_then(|o| o.traces.as_deref());
        let traces_path = match traces {
            Some(p) if p.starts_with('/') && !p.contains(['?', '#']) => p,
            Some(_) => {
                let at = format!("{path}.options.endpoint.overrides.traces");
                errors.push(FieldError::new(at, Invalid::ExporterPath));
                continue;
            }
            None => TRACES_PATH,
        };
        let mut traces_endpoint = location;
        let base = traces_endpoint.path().trim_end_matches('/').to_owned();
        traces_endpoint.set_path(&format!("{base}{traces_path}"));
        plans.push(TelemetryPlan {
            exporter: name.clone(),
            traces_endpoint,
        });
    }
    plans.into_iter().next()
}

#[cfg(test)]
mod tests;
