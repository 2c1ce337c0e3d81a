//! JSON-RPC 2.0 messages as MCP uses them.
//!
//! The gateway relays most of a message untouched, so params and results stay
//! JSON: params as their text until something needs their values
//! ([`Params`]), results as `serde_json::Value` (or unread text, see
//! [`RawSuccess`]); only the envelope (id, method, result/error) is typed.

mod params;

use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

pub use params::Params;

/// JSON-RPC error codes the gateway itself produces.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Implementation-defined: a transport-level problem (bad session, bad header).
    pub const BAD_REQUEST: i64 = -32000;
    /// Implementation-defined: the upstream did not answer in time (the code the
    /// official SDKs use for request timeouts).
    pub const REQUEST_TIMEOUT: i64 = -32001;
}

/// A JSON-RPC request id: a string or an integer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RequestId {
    Number(i64),
    String(String),
}

impl RequestId {
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Self::String(s.clone())),
            Value::Number(n) => n.as_i64().map(Self::Number),
            _ => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Self::Number(n) => Value::from(*n),
            Self::String(s) => Value::from(s.as_str()),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl ErrorObject {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("code".into(), Value::from(self.code));
        obj.insert("message".into(), Value::from(self.message.as_str()));
        if let Some(data) = &self.data {
            obj.insert("data".into(), data.clone());
        }
        Value::Object(obj)
    }

    fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        Some(Self {
            code: obj.get("code")?.as_i64()?,
            message: obj
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            data: obj.get("data").cloned(),
        })
    }
}

/// One JSON-RPC message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub method: String,
    pub params: Option<Params>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub method: String,
    pub params: Option<Params>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// `None` only for errors about a message whose id could not be read.
    pub id: Option<RequestId>,
    pub outcome: Result<Value, ErrorObject>,
}

/// Why bytes are not a JSON-RPC message.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("Parse error: {0}")]
    Parse(String),
    #[error("Invalid Request: {0}")]
    Invalid(&'static str),
    #[error("Invalid Request: batch requests are not supported")]
    Batch,
}

impl DecodeError {
    /// The JSON-RPC error answering this problem (the id is unknown: null).
    pub fn to_error(&self) -> ErrorObject {
        let code = match self {
            Self::Parse(_) => code::PARSE_ERROR,
            Self::Invalid(_) | Self::Batch => code::INVALID_REQUEST,
        };
        ErrorObject::new(code, self.to_string())
    }
}

impl Message {
    /// Read one message. NB: in one pass straight into the envelope, not
    /// through a `Value` of the whole object: only params, result and error
    /// become values. Members other than the envelope's are skipped; of a
    /// repeated member the last counts, as when read into a map.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_with(bytes, ParamsAs::Values)
    }

    /// [`Message::decode`], with the params read as `params_as` says.
    pub fn decode_with(bytes: &[u8], params_as: ParamsAs) -> Result<Self, DecodeError> {
        let as_values = matches!(params_as, ParamsAs::Values);
        match Self::read(bytes, as_values)? {
            Some(message) => Ok(message),
            // NB: params not plain enough to keep as text (see `Params`):
            // rare, and read again with them built as values.
            None => {
                Self::read(bytes, true)?.ok_or(DecodeError::Invalid("`params` must be an object"))
            }
        }
    }

    /// One pass of [`Message::decode`]; `None` when the params must be read as values.
    fn read(bytes: &[u8], params_as_values: bool) -> Result<Option<Self>, DecodeError> {
        let parse = |e: serde_json::Error| DecodeError::Parse(e.to_string());
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let seed = TopVisitor {
            message: bytes,
            params_as_values,
        };
        let top = seed.deserialize(&mut deserializer).map_err(parse)?;
        deserializer.end().map_err(parse)?;
        match top {
            Top::Object(envelope) => envelope.into_message(),
            Top::Array => Err(DecodeError::Batch),
            Top::Other => Err(DecodeError::Invalid("a message must be a JSON object")),
        }
    }

    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("jsonrpc".into(), Value::from("2.0"));
        match self {
            Self::Request(r) => {
                obj.insert("id".into(), r.id.to_value());
                obj.insert("method".into(), Value::from(r.method.as_str()));
                if let Some(p) = &r.params {
                    obj.insert("params".into(), (**p).clone());
                }
            }
            Self::Notification(n) => {
                obj.insert("method".into(), Value::from(n.method.as_str()));
                if let Some(p) = &n.params {
                    obj.insert("params".into(), (**p).clone());
                }
            }
            Self::Response(r) => {
                obj.insert(
                    "id".into(),
                    r.id.as_ref().map_or(Value::Null, RequestId::to_value),
                );
                match &r.outcome {
                    Ok(result) => obj.insert("result".into(), result.clone()),
                    Err(e) => obj.insert("error".into(), e.to_value()),
                };
            }
        }
        Value::Object(obj)
    }

    pub fn encode(&self) -> Bytes {
        // NB: params kept as text are copied, not written out from values.
        let text_params = match self {
            Self::Request(r) => (r.params.as_ref().and_then(Params::text))
                .map(|text| (Some(&r.id), &r.method, text)),
            Self::Notification(n) => {
                (n.params.as_ref().and_then(Params::text)).map(|text| (None, &n.method, text))
            }
            Self::Response(_) => None,
        };
        if let Some((id, method, text)) = text_params {
            let mut out = Vec::with_capacity(text.len() + method.len() + 64);
            out.extend_from_slice(br#"{"jsonrpc":"2.0","#);
            if let Some(id) = id {
                out.extend_from_slice(br#""id":"#);
                let _ = serde_json::to_writer(&mut out, id);
                out.push(b',');
            }
            out.extend_from_slice(br#""method":"#);
            let _ = serde_json::to_writer(&mut out, method);
            out.extend_from_slice(br#","params":"#);
            out.extend_from_slice(text.as_bytes());
            out.push(b'}');
            return Bytes::from(out);
        }
        // NB: serialises by reference (no `Value` copy of params or result);
        // serialising these types cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request(r) => Some(&r.method),
            Self::Notification(n) => Some(&n.method),
            Self::Response(_) => None,
        }
    }
}

/// How [`Message::decode_with`] reads a request's or notification's params.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsAs {
    /// Built as values at once.
    Values,
    /// Kept as their text where that reads the same (see [`Params`]): for
    /// messages relayed with little or nothing in their params changed. A
    /// message whose params are then changed as values is read twice over,
    /// so this is not the default.
    Text,
}

/// A JSON text as [`Message::decode`] first sees it.
// NB: lives for one decode, on the stack; boxing the envelope would cost an
// allocation per message to save moving a few hundred bytes once.
#[allow(clippy::large_enum_variant)]
enum Top {
    Object(Envelope),
    Array,
    Other,
}

/// The members of a message's object that JSON-RPC gives meaning to.
#[derive(Default)]
struct Envelope {
    jsonrpc: Option<Value>,
    id: Option<Value>,
    method: Option<Value>,
    params: Option<ParamsIn>,
    /// Some `params` member (the last counts, but any may refuse the message
    /// when read as values) was not plain enough to keep as text.
    params_not_plain: bool,
    result: Option<Value>,
    error: Option<Value>,
}

/// `params` as [`TopVisitor`] read them.
enum ParamsIn {
    /// Read in the envelope's pass (see [`Params`]).
    Read(params::Read),
    Value(Value),
}

impl Envelope {
    /// The message; `None` when the params must be read again as values.
    fn into_message(self) -> Result<Option<Message>, DecodeError> {
        // NB: first, whatever else the message is: read as values, such
        // params may refuse it (a number out of range), and that answer counts.
        if self.params_not_plain {
            return Ok(None);
        }
        if self.jsonrpc.as_ref().and_then(Value::as_str) != Some("2.0") {
            return Err(DecodeError::Invalid("`jsonrpc` must be \"2.0\""));
        }
        let id = match &self.id {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                RequestId::from_value(v)
                    .ok_or(DecodeError::Invalid("`id` must be a string or an integer"))?,
            ),
        };
        if let Some(method) = self.method {
            let Value::String(method) = method else {
                return Err(DecodeError::Invalid("`method` must be a string"));
            };
            let params = match self.params {
                None => None,
                Some(ParamsIn::Read(params::Read::Params(p))) => Some(p),
                Some(ParamsIn::Read(params::Read::NotPlain)) => return Ok(None),
                Some(ParamsIn::Value(v)) if v.is_object() => Some(Params::from(v)),
                Some(ParamsIn::Value(_)) => {
                    return Err(DecodeError::Invalid("`params` must be an object"));
                }
            };
            return Ok(Some(match id {
                Some(id) => Message::Request(Request { id, method, params }),
                None => Message::Notification(Notification { method, params }),
            }));
        }
        if let Some(result) = self.result {
            let id = id.ok_or(DecodeError::Invalid("a response needs an `id`"))?;
            return Ok(Some(Message::Response(Response {
                id: Some(id),
                outcome: Ok(result),
            })));
        }
        if let Some(error) = &self.error {
            let error =
                ErrorObject::from_value(error).ok_or(DecodeError::Invalid("malformed `error`"))?;
            return Ok(Some(Message::Response(Response {
                id,
                outcome: Err(error),
            })));
        }
        Err(DecodeError::Invalid(
            "a message needs `method`, `result` or `error`",
        ))
    }
}

/// Reads a message's object from `message` (see [`params::ParamsSeed`]).
struct TopVisitor<'m> {
    message: &'m [u8],
    params_as_values: bool,
}

impl<'de> de::DeserializeSeed<'de> for TopVisitor<'_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<Member>()? {
            let slot = match key {
                Member::Jsonrpc => &mut envelope.jsonrpc,
                Member::Id => &mut envelope.id,
                Member::Method => &mut envelope.method,
                Member::Params => {
                    envelope.params = Some(if self.params_as_values {
                        ParamsIn::Value(map.next_value()?)
                    } else {
                        let seed = params::ParamsSeed {
                            message: self.message,
                        };
                        let read = map.next_value_seed(seed)?;
                        envelope.params_not_plain |= matches!(read, params::Read::NotPlain);
                        ParamsIn::Read(read)
                    });
                    continue;
                }
                Member::Result => &mut envelope.result,
                Member::Error => &mut envelope.error,
                Member::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(Top::Object(envelope))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        // NB: read to the end, so that a malformed batch is a parse error as before.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Top::Array)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Other)
    }
}

/// A member name of a message's object.
enum Member {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl Visitor<'_> for MemberVisitor {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Member, E> {
                Ok(match name {
                    "jsonrpc" => Member::Jsonrpc,
                    "id" => Member::Id,
                    "method" => Member::Method,
                    "params" => Member::Params,
                    "result" => Member::Result,
                    "error" => Member::Error,
                    _ => Member::Other,
                })
            }
        }
        deserializer.deserialize_identifier(MemberVisitor)
    }
}

/// The wire form, written straight from the borrowed parts: relaying a
/// message must not copy its params or result.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        match self {
            Self::Request(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("method", &r.method)?;
                if let Some(p) = &r.params {
                    map.serialize_entry("params", p)?;
                }
            }
            Self::Notification(n) => {
                map.serialize_entry("method", &n.method)?;
                if let Some(p) = &n.params {
                    map.serialize_entry("params", p)?;
                }
            }
            Self::Response(r) => {
                map.serialize_entry("id", &r.id)?;
                match &r.outcome {
                    Ok(result) => map.serialize_entry("result", result)?,
                    Err(e) => map.serialize_entry("error", e)?,
                }
            }
        }
        map.end()
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => serializer.serialize_i64(*n),
            Self::String(s) => serializer.serialize_str(s),
        }
    }
}

impl Serialize for ErrorObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &self.message)?;
        if let Some(data) = &self.data {
            map.serialize_entry("data", data)?;
        }
        map.end()
    }
}

impl Request {
    pub fn new(id: RequestId, method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            id,
            method: method.into(),
            params: params.map(Params::from),
        }
    }

    /// A string param, e.g. `name` or `uri` (read without building the params).
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params.as_ref()?.get_str(key)
    }
}

impl Notification {
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            method: method.into(),
            params: params.map(Params::from),
        }
    }
}

impl Response {
    pub fn ok(id: RequestId, result: Value) -> Self {
        Self {
            id: Some(id),
            outcome: Ok(result),
        }
    }

    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self {
            id,
            outcome: Err(error),
        }
    }
}

/// The bytes of a successful response to `id` whose result is written by
/// `result`'s own serializer (no `Value` is built for it).
pub fn encode_result(id: &RequestId, result: &impl Serialize) -> Bytes {
    struct Envelope<'a, R> {
        id: &'a RequestId,
        result: &'a R,
    }
    impl<R: Serialize> Serialize for Envelope<'_, R> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(3))?;
            map.serialize_entry("jsonrpc", "2.0")?;
            map.serialize_entry("id", self.id)?;
            map.serialize_entry("result", self.result)?;
            map.end()
        }
    }
    // NB: these serializers write strings and maps only; they cannot fail.
    Bytes::from(serde_json::to_vec(&Envelope { id, result }).unwrap_or_default())
}

/// A success response read without building its result: its id, and where
/// the result's text lies in the bytes it was read from. Relaying a result
/// the gateway does not change then costs a scan, not a tree of values.
#[derive(Clone, Debug, PartialEq)]
pub struct RawSuccess {
    pub id: RequestId,
    pub result: Range<usize>,
}

impl RawSuccess {
    /// `bytes` as a success response with nothing but `jsonrpc: "2.0"`, `id`
    /// and `result` in its envelope; `None` for anything else (a request, an
    /// error, an unknown member, malformed JSON), which [`Message::decode`]
    /// then reads or refuses as usual.
    pub fn peek(bytes: &[u8]) -> Option<Self> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Envelope<'a> {
            jsonrpc: &'a str,
            id: WireId,
            #[serde(borrow)]
            result: &'a RawValue,
        }
        let envelope: Envelope<'_> = serde_json::from_slice(bytes).ok()?;
        if envelope.jsonrpc != "2.0" {
            return None;
        }
        // NB: the raw value borrows from `bytes`, so its offset is where it lies in them.
        let text = envelope.result.get();
        let start = (text.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
        Some(Self {
            id: envelope.id.0,
            result: start..start + text.len(),
        })
    }

    /// The full message (the result built as a value), for when it must be changed.
    pub fn into_message(self, bytes: &[u8]) -> Result<Message, DecodeError> {
        let text = bytes
            .get(self.result)
            .ok_or(DecodeError::Invalid("a response needs a `result`"))?;
        let result = serde_json::from_slice(text).map_err(|e| DecodeError::Parse(e.to_string()))?;
        Ok(Message::Response(Response::ok(self.id, result)))
    }
}

/// A request id read straight from the wire (an integer or a string, as
/// [`RequestId::from_value`] accepts), without an intermediate value.
struct WireId(RequestId);

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WireId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<WireId, E> {
                Ok(WireId(RequestId::Number(n)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<WireId, E> {
                i64::try_from(n)
                    .map(|n| WireId(RequestId::Number(n)))
                    .map_err(|_| E::custom("id out of range"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<WireId, E> {
                Ok(WireId(RequestId::String(s.to_owned())))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// An empty result object, as `ping` returns.
pub fn empty_result() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_notification_and_response_are_told_apart() {
        let req = Message::decode(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        assert!(matches!(req, Ok(Message::Request(r)) if r.id == RequestId::Number(1)));
        let note = Message::decode(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(note, Ok(Message::Notification(_))));
        let resp = Message::decode(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#);
        assert!(matches!(resp, Ok(Message::Response(r)) if r.outcome.is_ok()));
        let err = Message::decode(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#,
        );
        assert!(matches!(err, Ok(Message::Response(r)) if r.id.is_none()));
    }

    #[test]
    fn malformed_input_is_a_decode_error_not_a_panic() {
        for input in [
            &b"{"[..],
            b"",
            b"null",
            b"42",
            b"[]",
            b"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"x\"}",
            b"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1}",
            b"{\"jsonrpc\":\"2.0\",\"result\":{}}",
            b"\xff\xfe",
        ] {
            assert!(Message::decode(input).is_err(), "{input:?}");
        }
        assert_eq!(
            Message::decode(b"{").map_err(|e| e.to_error().code),
            Err(code::PARSE_ERROR)
        );
        assert_eq!(
            Message::decode(b"[]").map_err(|e| e.to_error().code),
            Err(code::INVALID_REQUEST)
        );
    }

    #[test]
    fn members_beyond_the_envelope_are_skipped_and_the_last_of_a_repeated_one_counts() {
        let decoded = Message::decode(
            br#"{"x":{"deep":[1,2,{"y":null}]},"jsonrpc":"2.0","id":1,"id":"b","method":"m","params":{"a":1}}"#,
        );
        let expected = Request::new(RequestId::String("b".into()), "m", Some(json!({"a": 1})));
        assert_eq!(decoded, Ok(Message::Request(expected)));
        // An escaped member name is the member.
        let decoded = Message::decode(br#"{"jsonrpc":"2.0","\u0069d":2,"result":{}}"#);
        assert_eq!(
            decoded,
            Ok(Message::Response(Response::ok(
                RequestId::Number(2),
                json!({})
            )))
        );
        for (input, code) in [
            (&b"\"x\""[..], code::INVALID_REQUEST),
            (b"true", code::INVALID_REQUEST),
            (b"[1,", code::PARSE_ERROR),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"m"} x"#,
                code::PARSE_ERROR,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"m","params":null}"#,
                code::INVALID_REQUEST,
            ),
        ] {
            assert_eq!(
                Message::decode(input).map_err(|e| e.to_error().code),
                Err(code),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_raw_success_reads_as_the_full_decode_does() {
        for input in [
            &br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#[..],
            br#" {"result": [1, {"a": "\u00e9"}] , "id":"x/1","jsonrpc":"2.0"} "#,
            br#"{"jsonrpc":"2.0","id":9223372036854775807,"result":null}"#,
        ] {
            let raw = RawSuccess::peek(input).expect("a success response");
            assert_eq!(raw.clone().into_message(input), Message::decode(input));
            let text = std::str::from_utf8(&input[raw.result]).unwrap_or_default();
            assert!(text.starts_with(['{', '[', 'n']), "{text}");
        }
    }

    #[test]
    fn a_raw_success_is_checked_for_syntax_not_for_number_ranges_or_escapes() {
        // JSON allows numbers a `Value` cannot hold: relayed untouched they
        // reach the client as the upstream wrote them; decoded, they fail.
        let input = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"x":1e400}}"#;
        let raw = RawSuccess::peek(input).expect("well-formed JSON");
        assert!(
            matches!(Message::decode(input), Err(DecodeError::Parse(e)) if e.starts_with("number out of range"))
        );
        assert!(raw.into_message(input).is_err());
        // Nor the escapes in its strings: a lone surrogate is well-formed to the
        // peek and refused by the decode (the relay decodes any result with `\u`).
        let input = br#"{"jsonrpc":"2.0","id":1,"result":{"text":"\uDBBF2"}}"#;
        assert!(RawSuccess::peek(input).is_some());
        assert!(Message::decode(input).is_err());
    }

    #[test]
    fn anything_but_a_plain_success_response_is_left_to_the_full_decode() {
        for input in [
            &br#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}"#[..],
            br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":{},"extra":1}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":{},"result":{}}"#,
            br#"{"jsonrpc":"1.0","id":1,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            br#"{"jsonrpc":"2.0","result":{}}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":{"#,
            br#"[{"jsonrpc":"2.0","id":1,"result":{}}]"#,
            b"\xff",
        ] {
            assert_eq!(RawSuccess::peek(input), None, "{input:?}");
        }
    }

    #[test]
    fn direct_encoding_matches_the_value_form() {
        let messages = [
            Message::Request(Request::new(RequestId::Number(7), "ping", None)),
            Message::Notification(Notification::new(
                "notifications/progress",
                Some(json!({"progress": 1})),
            )),
            Message::Response(Response::ok(
                RequestId::String("a/0".into()),
                json!({"x": [1, 2]}),
            )),
            Message::Response(Response::error(
                None,
                ErrorObject::new(-32700, "Parse error"),
            )),
        ];
        for m in messages {
            let direct: Value = serde_json::from_slice(&m.encode()).unwrap_or_default();
            assert_eq!(direct, m.to_value());
        }
    }

    #[test]
    fn encoding_round_trips() {
        let msg = Message::Request(Request::new(
            RequestId::String("x".into()),
            "tools/call",
            Some(json!({"name": "echo", "arguments": {"message": "hi"}})),
        ));
        assert_eq!(Message::decode(&msg.encode()), Ok(msg));
        let msg = Message::Response(Response::error(
            Some(RequestId::Number(3)),
            ErrorObject {
                code: -32042,
                message: "needs url".into(),
                data: Some(json!({"elicitations": []})),
            },
        ));
        assert_eq!(Message::decode(&msg.encode()), Ok(msg));
    }
}
