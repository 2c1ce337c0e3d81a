//! What every listener answers beside its MCP endpoints: liveness, the
//! applied config (`/readyz`), metrics, and the endpoints' protected-resource
//! metadata.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::json;

use super::Inner;
use super::snapshot::Snapshot;
use crate::north::{Body, METADATA_PATH, Rejection};

/// The answer to a request that no endpoint of listener `index` took.
pub(super) fn answer(
    inner: &Inner,
    snapshot: &Snapshot,
    index: usize,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> http::Response<Body> {
    if let Some(suffix) = path.strip_prefix(METADATA_PATH)
        && method == Method::GET
        && let Some(auth) = snapshot.metadata_of(index, suffix)
    {
        let mut resp = json(StatusCode::OK, auth.metadata(headers).to_string());
        // NB: browser-based clients read the metadata from another origin.
        resp.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        return resp;
    }
    match (method, path) {
        (&Method::GET, "/healthz") => json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()),
        (&Method::GET, "/readyz") => json(StatusCode::OK, readiness(inner, snapshot)),
        (&Method::GET, "/metrics") => {
            let text = inner.metrics.render(snapshot.sessions());
            let mut resp = http::Response::new(Body::full(text));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            resp
        }
        _ => Rejection::NoRoute.into_response(),
    }
}

/// `/readyz`: the config being served (from the snapshot the request took, so
/// it is the one serving), and the last config that was refused.
fn readiness(inner: &Inner, snapshot: &Snapshot) -> String {
    let last_error = inner.last_failure().map(|f| f.to_json());
    // The protocol eras each toolkit's upstream was found to speak.
    let mut toolkits = serde_json::Map::new();
    for endpoint in snapshot.endpoints() {
        for (name, eras) in endpoint.proxy().toolkit_eras() {
            toolkits.insert(name.to_owned(), json!({ "eras": eras }));
        }
    }
    json!({
        "status": "ok",
        "config": snapshot.applied.to_json(),
        "lastError": last_error,
        "toolkits": toolkits,
    })
    .to_string()
}

fn json(status: StatusCode, body: String) -> http::Response<Body> {
    let mut resp = http::Response::new(Body::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
