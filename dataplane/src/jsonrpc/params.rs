//! A request's or notification's `params`, relayed as the text it came as.
//!
//! Most of a relayed request's params pass through the gateway untouched: a
//! `tools/call` has only its `name` renamed, a 2026-07-28 request only its
//! envelope taken out of `_meta`. So params read from the wire stay their JSON
//! text: a member is found by scanning that text (no tree is built), a string
//! member is rewritten or a member cut out in place, and the text is written
//! out again as it is. Anything else reads or changes them as a
//! `serde_json::Value`, built from the text on first use; a change through
//! [`DerefMut`] drops the text, and the value is written out instead.

use std::fmt;
use std::ops::{Deref, DerefMut, Range};
use std::sync::OnceLock;

use serde::ser::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

pub struct Params {
    /// The params' text, a JSON object (read as JSON, or edited from such a
    /// text by position), while it says what `value` would.
    raw: Option<Box<str>>,
    /// Where the text's members lie, found on first use; `None` when the
    /// text cannot be edited by position (a key that needs unescaping).
    index: OnceLock<Option<Box<[Found]>>>,
    /// The params as a value: built from `raw` when first needed, or the
    /// only form once changed through [`DerefMut`].
    value: OnceLock<Value>,
}

impl Params {
    /// Params read from the wire (`raw` is a JSON object's text). Refused,
    /// as a message is, when they hold what a value cannot (see [`odd`]).
    pub(super) fn from_raw(raw: Box<RawValue>) -> Result<Self, super::DecodeError> {
        let value = OnceLock::new();
        if odd(raw.get()) {
            let read = serde_json::from_str(raw.get())
                .map_err(|e| super::DecodeError::Parse(e.to_string()))?;
            let _ = value.set(read);
        }
        Ok(Self {
            raw: Some(raw.into()),
            index: OnceLock::new(),
            value,
        })
    }

    /// The text to relay, when nothing has changed the params as a value.
    pub fn text(&self) -> Option<&str> {
        self.raw.as_deref()
    }

    pub fn into_value(mut self) -> Value {
        std::mem::take(self.force())
    }

    /// The string member `key` (e.g. `name`, `uri`), read from the text
    /// when it is there and the string needs no unescaping.
    pub fn str_member(&self, key: &str) -> Option<&str> {
        if let Some((raw, found)) = self.find(key) {
            let text = &raw[found?.value.clone()];
            if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
                && !inner.contains('\\')
            {
                return Some(inner);
            }
        }
        self.get(key)?.as_str()
    }

    /// Whether the object has the member `key`.
    pub fn has_member(&self, key: &str) -> bool {
        match self.find(key) {
            Some((_, found)) => found.is_some(),
            None => self.get(key).is_some(),
        }
    }

    /// Set the member `key` to the string `value` (added when missing).
    pub fn set_str_member(&mut self, key: &str, value: &str) {
        let text = serde_json::to_string(value).unwrap_or_default();
        if !self.splice(key, Some(&text))
            && let Some(object) = self.as_object_mut()
        {
            object.insert(key.to_owned(), Value::from(value));
        }
    }

    /// Take the member `key` out of the object.
    pub fn take_member(&mut self, key: &str) -> Option<Value> {
        if let Some((raw, found)) = self.find(key) {
            let value = serde_json::from_str(&raw[found?.value.clone()]).ok()?;
            if self.splice(key, None) {
                return Some(value);
            }
        }
        self.as_object_mut()?.remove(key)
    }

    /// Set the member `key` to `value` (added when missing).
    pub fn set_member(&mut self, key: &str, value: Value) {
        let text = serde_json::to_string(&value).unwrap_or_default();
        if !self.splice(key, Some(&text))
            && let Some(object) = self.as_object_mut()
        {
            object.insert(key.to_owned(), value);
        }
    }

    /// The text and where its member `key` lies (`None` inside: no such
    /// member); `None` when there is no text to edit by position, or `key`
    /// is given twice (a value keeps the last; the text would keep both).
    fn find(&self, key: &str) -> Option<(&str, Option<&Found>)> {
        let raw = self.raw.as_deref()?;
        let index = self.index.get_or_init(|| scan(raw)).as_deref()?;
        let mut named = index.iter().filter(|m| &raw[m.key.clone()] == key);
        let found = named.next();
        if named.next().is_some() {
            return None;
        }
        Some((raw, found))
    }

    /// Rewrite the text: the member `key` set to the JSON text `value`, or
    /// cut out when `None`. `false` when the text cannot be edited so: the
    /// caller edits the value instead.
    fn splice(&mut self, key: &str, value: Option<&str>) -> bool {
        let Some((raw, found)) = self.find(key) else {
            return false;
        };
        let cut_member = found.filter(|_| value.is_none()).map(|f| f.member);
        // What goes (a range of the text) and what comes in its place.
        let (gone, put) = match (found, value) {
            (Some(found), Some(value)) => (found.value.clone(), value),
            (Some(found), None) => (cut(raw, found), ""),
            (None, Some(value)) => {
                let edited = add(raw, key, value);
                self.raw = Some(edited.into_boxed_str());
                self.index = OnceLock::new();
                self.value = OnceLock::new();
                return true;
            }
            (None, None) => return true,
        };
        let edited = [&raw[..gone.start], put, &raw[gone.end..]].concat();
        // NB: the members after the edit move by its length; the index stays
        // right without scanning the text again.
        let moved = |at: usize| at + put.len() - gone.len();
        let index = self.index.take().flatten().map(|members| {
            members
                .into_vec()
                .into_iter()
                .filter(|m| Some(m.member) != cut_member)
                .map(|m| match m.member {
                    at if at >= gone.end => Found {
                        key: moved(m.key.start)..moved(m.key.end),
                        member: moved(m.member),
                        value: moved(m.value.start)..moved(m.value.end),
                    },
                    _ if m.value.start == gone.start => Found {
                        value: gone.start..gone.start + put.len(),
                        ..m
                    },
                    _ => m,
                })
                .collect()
        });
        // NB: not read again: the pieces are whole members and values of a
        // JSON text, and the new value was written as JSON (the tests read
        // every kind of edit back).
        self.raw = Some(edited.into_boxed_str());
        self.index = OnceLock::from(index);
        self.value = OnceLock::new();
        true
    }

    /// Build the value now, so that it is the only form from here on.
    fn force(&mut self) -> &mut Value {
        let value = match self.value.take() {
            Some(value) => value,
            None => self.read(),
        };
        self.raw = None;
        self.index = OnceLock::new();
        self.value = OnceLock::from(value);
        match self.value.get_mut() {
            Some(value) => value,
            None => unreachable!("set just above"),
        }
    }

    /// The text read as a value.
    fn read(&self) -> Value {
        // NB: the text was read as JSON (or edited by position from such), so it reads again.
        self.raw
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or(Value::Null)
    }
}

/// Whether a JSON text may hold what reading it as a value refuses though
/// the message's reader took it: an escape (a lone surrogate such as
/// `\uDBBF`) or a number out of a float's range (an exponent, or 300
/// digits). Such params are read whole at once, so that they are refused as
/// they were before params were kept as text; anything else reads as a value
/// whenever it is needed. Errs towards reading (an `e` after a digit in a string).
fn odd(text: &str) -> bool {
    let mut digits = 0usize;
    let mut escaped = false;
    for &c in text.as_bytes() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits >= 300 {
                return true;
            }
            escaped = false;
            continue;
        }
        if (escaped && c == b'u') || (digits > 0 && matches!(c, b'e' | b'E')) {
            return true;
        }
        escaped = c == b'\\' && !escaped;
        digits = 0;
    }
    false
}

/// Where a member lies in an object's text.
struct Found {
    /// The key, inside its quotes.
    key: Range<usize>,
    /// From the key's opening quote.
    member: usize,
    /// The value's text.
    value: Range<usize>,
}

/// Where each member of the object `text` lies; `None` when a key needs
/// unescaping (it could not be compared by its text).
// NB: `text` is JSON already read (or edited by position from such), so the
// scan only finds where things end; it does not check them again.
fn scan(text: &str) -> Option<Box<[Found]>> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut members = Vec::with_capacity(4);
    loop {
        at = skip_space(bytes, at);
        match bytes.get(at) {
            Some(b'}') => return Some(members.into_boxed_slice()),
            Some(b',') => at = skip_space(bytes, at + 1),
            _ => {}
        }
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let member = at;
        let key_end = skip_string(bytes, at)?;
        let key = member + 1..key_end - 1;
        if bytes[key.clone()].contains(&b'\\') {
            return None;
        }
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let start = skip_space(bytes, at + 1);
        at = skip_value(bytes, start)?;
        members.push(Found {
            key,
            member,
            value: start..at,
        });
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Past the string whose opening quote is at `at`.
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i += bytes
            .get(i..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\')?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        // NB: an escape: the character after the backslash is never the end.
        i += 2;
    }
}

/// Past the value that starts at `at`.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        // NB: brackets nest properly, so an object's end is found by counting
        // braces alone (an array's by brackets), strings skipped.
        &open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut i = at;
            loop {
                i += bytes
                    .get(i..)?
                    .iter()
                    .position(|&b| b == b'"' || b == open || b == close)?;
                match bytes[i] {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b if b == open => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                }
                i += 1;
            }
        }
        // NB: a number, `true`, `false` or `null`: up to what follows it.
        _ => {
            let rest = &bytes[at..];
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            Some(at + len)
        }
    }
}

/// The range of `text` to cut for the member at `found` to go: its text and
/// the comma that joined it to the others.
fn cut(text: &str, found: &Found) -> std::ops::Range<usize> {
    let bytes = text.as_bytes();
    let after = skip_space(bytes, found.value.end);
    if bytes.get(after) == Some(&b',') {
        // NB: a member followed by another: its text and the comma after it go.
        return found.member..skip_space(bytes, after + 1);
    }
    let before = text[..found.member].trim_end();
    match before.strip_suffix(',') {
        // NB: the last of several: the comma before it goes.
        Some(before) => before.len()..found.value.end,
        // NB: the only member.
        None => found.member..found.value.end,
    }
}

/// `text` with the member `key` added at its end.
fn add(text: &str, key: &str, value: &str) -> String {
    let key = serde_json::to_string(key).unwrap_or_default();
    let body = text.trim_end().strip_suffix('}').unwrap_or(text).trim_end();
    let comma = if body.ends_with('{') { "" } else { "," };
    [body, comma, &key, ":", value, "}"].concat()
}

impl From<Value> for Params {
    fn from(value: Value) -> Self {
        Self {
            raw: None,
            index: OnceLock::new(),
            value: OnceLock::from(value),
        }
    }
}

impl Deref for Params {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value.get_or_init(|| self.read())
    }
}

impl DerefMut for Params {
    fn deref_mut(&mut self) -> &mut Value {
        self.force()
    }
}

impl Clone for Params {
    fn clone(&self) -> Self {
        // NB: the index is found again if needed (it is small work, and rare).
        Self {
            raw: self.raw.clone(),
            index: OnceLock::new(),
            value: self.value.clone(),
        }
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// As a value. NB: [`super::Message::encode`] writes the text itself; a
/// serializer can only be given text it reads again.
impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(text: &str) -> Params {
        Params::from_raw(RawValue::from_string(text.to_owned()).expect("test JSON"))
            .expect("params")
    }

    /// What is relayed: the text while there is one (checked to read as
    /// JSON, and as the value), else the value.
    fn text(params: &Params) -> String {
        match params.text() {
            Some(text) => {
                let read: Value = serde_json::from_str(text).expect("the text reads as JSON");
                assert_eq!(read, **params);
                text.to_owned()
            }
            None => serde_json::to_string(params).expect("a value writes"),
        }
    }

    #[test]
    fn a_string_member_is_read_and_renamed_in_the_text() {
        let mut params = raw(r#"{ "name" : "kit__echo", "arguments": {"name": "x"} }"#);
        assert_eq!(params.str_member("name"), Some("kit__echo"));
        params.set_str_member("name", "echo");
        assert_eq!(
            text(&params),
            r#"{ "name" : "echo", "arguments": {"name": "x"} }"#
        );
        assert!(params.raw.is_some(), "still relayed as text");
        assert_eq!(*params, json!({"name": "echo", "arguments": {"name": "x"}}));
    }

    #[test]
    fn members_are_cut_out_with_their_commas() {
        for (input, key, left) in [
            (r#"{"a":1,"b":2,"c":3}"#, "a", json!({"b":2,"c":3})),
            (r#"{"a":1,"b":2,"c":3}"#, "b", json!({"a":1,"c":3})),
            (
                r#"{"a":1, "b":2 ,"c":{"x":[1]} }"#,
                "c",
                json!({"a":1,"b":2}),
            ),
            (r#"{ "a" : {"_meta":1} }"#, "a", json!({})),
        ] {
            let mut params = raw(input);
            let taken = params.take_member(key);
            assert!(taken.is_some(), "{input}");
            assert!(params.raw.is_some(), "{input}: still text");
            let written: Value = serde_json::from_str(&text(&params)).expect("JSON");
            assert_eq!(written, left, "{input}");
        }
        let mut params = raw(r#"{"a":1}"#);
        assert_eq!(params.take_member("b"), None);
        assert_eq!(text(&params), r#"{"a":1}"#);
    }

    #[test]
    fn edits_keep_finding_the_other_members() {
        // Each edit moves what follows it; the next edit must still land right.
        let mut params = raw(r#"{"_meta":{"a":"}"}, "name":"k__t" ,"x":[1,{"y":"]"}],"z":"end"}"#);
        assert_eq!(params.take_member("_meta"), Some(json!({"a": "}"})));
        assert_eq!(params.str_member("name"), Some("k__t"));
        params.set_str_member("name", "a much longer name than before");
        assert_eq!(params.str_member("z"), Some("end"));
        assert_eq!(params.take_member("x"), Some(json!([1, {"y": "]"}])));
        params.set_str_member("z", "");
        assert_eq!(
            serde_json::from_str::<Value>(&text(&params)).expect("JSON"),
            json!({"name": "a much longer name than before", "z": ""})
        );
    }

    #[test]
    fn members_are_added_and_replaced() {
        let mut params = raw(r#"{ }"#);
        params.set_member("_meta", json!({"k": "v"}));
        params.set_str_member("name", "t");
        assert_eq!(*params, json!({"_meta": {"k": "v"}, "name": "t"}));
        params.set_member("_meta", json!(1));
        assert_eq!(*params, json!({"_meta": 1, "name": "t"}));
        assert!(params.raw.is_some());
    }

    #[test]
    fn escaped_or_repeated_keys_fall_back_to_the_value() {
        // An escaped key, and a key given twice (the last counts, as for a value).
        let mut params = raw(r#"{"n\u0061me":"a__b","x":1}"#);
        assert_eq!(params.str_member("name"), Some("a__b"));
        params.set_str_member("name", "b");
        assert_eq!(*params, json!({"name": "b", "x": 1}));
        let mut params = raw(r#"{"name":"a__first","name":"a__last"}"#);
        assert_eq!(params.str_member("name"), Some("a__last"));
        params.set_str_member("name", "last");
        assert_eq!(text(&params), r#"{"name":"last"}"#);
    }

    #[test]
    fn an_escaped_string_is_read_unescaped() {
        let params = raw(r#"{"uri":"kit+file:///a\"b"}"#);
        assert_eq!(params.str_member("uri"), Some("kit+file:///a\"b"));
    }

    #[test]
    fn what_a_value_cannot_hold_is_refused_as_before() {
        for text in [r#"{"a":"\uDBBF"}"#, r#"{"a":1e400}"#] {
            let raw = RawValue::from_string(text.to_owned()).expect("JSON syntax");
            assert!(Params::from_raw(raw).is_err(), "{text}");
        }
        for text in [r#"{"a":"\u00e9"}"#, r#"{"a":1.5e3}"#, r#"{"a":"\\u"}"#] {
            let raw = RawValue::from_string(text.to_owned()).expect("JSON syntax");
            assert!(Params::from_raw(raw).is_ok(), "{text}");
        }
        assert!(!odd(
            r#"{"name":"kit__echo","arguments":{"text":"hello","n":12.5}}"#
        ));
    }

    #[test]
    fn a_change_through_the_value_drops_the_text() {
        let mut params = raw(r#"{"a":1}"#);
        params["b"] = json!(2);
        assert!(params.raw.is_none());
        assert_eq!(text(&params), r#"{"a":1,"b":2}"#);
        assert_eq!(params.clone().into_value(), json!({"a":1,"b":2}));
    }
}
