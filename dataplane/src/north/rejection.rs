//! Every way the server refuses an HTTP request, mapped to its status and
//! JSON-RPC error in one place.

use http::{HeaderValue, StatusCode, header};

use super::body::Body;
use crate::jsonrpc::{DecodeError, ErrorObject, Message, RequestId, Response, code};

#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("Not Found")]
    NoRoute,
    #[error("Method Not Allowed")]
    Method,
    #[error("Forbidden: Origin is not allowed")]
    Origin,
    #[error("Not Acceptable: the client must accept {0}")]
    Accept(&'static str),
    #[error("Unsupported Media Type: the body must be application/json")]
    ContentType,
    #[error("Payload Too Large: the body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("Bad Request: reading the body failed")]
    BodyRead,
    #[error("Bad Request: Mcp-Session-Id header is required")]
    MissingSession,
    #[error("Session not found")]
    UnknownSession,
    #[error("Bad Request: unsupported MCP-Protocol-Version {0:?} (supported: {1})")]
    ProtocolVersion(String, String),
    #[error("Conflict: this session already has a standalone stream open")]
    StreamOpen,
    #[error("Service Unavailable: the guard's keys cannot be loaded; try again later")]
    GuardUnavailable,
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("{}", .0.message)]
    Message(ErrorObject),
    /// A toolkit's limits refused the request: 429 over its rate, 503 with
    /// too many in flight or its circuit breaker open; with `Retry-After`.
    #[error("{}", .error.message)]
    Limited {
        status: StatusCode,
        retry_after: std::time::Duration,
        /// The refused request's id when it was read (a toolkit's limits);
        /// `None` for a bound of the transport's (sessions, streams).
        id: Option<RequestId>,
        error: ErrorObject,
    },
    /// 401 or 403 with a `WWW-Authenticate` challenge: the guard's own, or an
    /// upstream's relayed as it was sent.
    #[error("{message}")]
    Challenge {
        status: StatusCode,
        challenge: HeaderValue,
        message: String,
    },
}

impl Rejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute | Self::UnknownSession => StatusCode::NOT_FOUND,
            Self::Method => StatusCode::METHOD_NOT_ALLOWED,
            Self::Origin => StatusCode::FORBIDDEN,
            Self::Accept(_) => StatusCode::NOT_ACCEPTABLE,
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::StreamOpen => StatusCode::CONFLICT,
            Self::GuardUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Limited { status, .. } => *status,
            Self::Challenge { status, .. } => *status,
            Self::BodyRead
            | Self::MissingSession
            | Self::ProtocolVersion(..)
            | Self::Decode(_)
            | Self::Message(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error(&self) -> ErrorObject {
        match self {
            Self::Decode(e) => e.to_error(),
            Self::Message(e) | Self::Limited { error: e, .. } => e.clone(),
            other => ErrorObject::new(code::BAD_REQUEST, other.to_string()),
        }
    }

    /// The HTTP response: the status, and a JSON-RPC error as the body,
    /// answering the request's id when one was read, else without an id.
    pub fn into_response(self) -> http::Response<Body> {
        let status = self.status();
        if status.is_server_error() || status == StatusCode::NOT_FOUND {
            tracing::debug!(%status, reason = %self, "request refused");
        }
        let id = match &self {
            Self::Limited { id, .. } => id.clone(),
            _ => None,
        };
        let body = Message::Response(Response::error(id, self.error())).encode();
        let mut resp = http::Response::new(Body::full(body));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match self {
            Self::Method => {
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            }
            Self::Challenge { challenge, .. } => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            Self::GuardUnavailable => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::Limited { retry_after, .. } => {
                // Whole seconds, rounded up: never 0, which would invite a tight loop.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            _ => {}
        }
        resp
    }
}
