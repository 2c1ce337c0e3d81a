//! Reading the request headers the transport rules depend on.

use http::{HeaderMap, header};

/// Whether `Origin` (if any) may talk to this server: absent, a loopback
/// origin, or one of `allowed` (lower-case `scheme://host[:port]`).
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "http" | "https") || rest.contains('/') {
        return false;
    }
    let host = match rest.strip_prefix('[') {
        // [v6]:port
        Some(v6) => v6.split_once(']').map(|(h, _)| h),
        None => Some(rest.rsplit_once(':').map_or(rest, |(h, _)| h)),
    };
    match host {
        Some("localhost") => true,
        Some(h) => h
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// What the `Accept` header allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accepts {
    pub json: bool,
    pub event_stream: bool,
}

pub fn accepts(headers: &HeaderMap) -> Accepts {
    let mut out = Accepts::default();
    for value in headers.get_all(header::ACCEPT) {
        // NB: what MCP clients send, known without splitting it: this runs on every request.
        if value.as_bytes() == b"application/json, text/event-stream" {
            out.json = true;
            out.event_stream = true;
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        for media in value.split(',') {
            let media = media.split(';').next().unwrap_or_default().trim();
            // NB: compared without a lower-cased copy: this runs on every request.
            let is = |name: &str| media.eq_ignore_ascii_case(name);
            if is("*/*") {
                out.json = true;
                out.event_stream = true;
            } else if is("application/json") || is("application/*") {
                out.json = true;
            } else if is("text/event-stream") || is("text/*") {
                out.event_stream = true;
            }
        }
    }
    out
}

/// Whether the body is declared as JSON (a missing Content-Type is tolerated).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_none_or(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            name,
            HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn loopback_and_listed_origins_are_allowed_and_others_are_not() {
        let allowed = vec!["https://app.example.com".to_owned()];
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1",
            "http://[::1]:3000",
            "https://APP.example.com",
        ] {
            assert!(origin_allowed(&with(header::ORIGIN, ok), &allowed), "{ok}");
        }
        for bad in [
            "https://evil.example.com",
            "null",
            "http://localhost.evil.com",
            "http://127.0.0.1.evil.com",
            "file://",
        ] {
            assert!(
                !origin_allowed(&with(header::ORIGIN, bad), &allowed),
                "{bad}"
            );
        }
        assert!(origin_allowed(&HeaderMap::new(), &[]));
    }

    #[test]
    fn accept_needs_both_types_unless_wildcarded() {
        let both = accepts(&with(header::ACCEPT, "application/json, text/event-stream"));
        assert!(both.json && both.event_stream);
        let json = accepts(&with(header::ACCEPT, "application/json"));
        assert!(json.json && !json.event_stream);
        let any = accepts(&with(header::ACCEPT, "*/*;q=0.8"));
        assert!(any.json && any.event_stream);
        assert_eq!(accepts(&HeaderMap::new()), Accepts::default());
    }
}
