//! A request's or notification's `params`, kept as the JSON text it came in
//! until something needs it as values.
//!
//! Relaying a `tools/call` changes one member (the tool's name) and reads one
//! or two more; building the whole object as a `serde_json::Value` for that
//! (an allocation per string and map) and writing it out again cost four
//! times what copying it does, for a large argument. So a session's request
//! (read with [`super::ParamsAs::Text`]) keeps its `params` as text, with
//! where each top-level member's name and value lie in it, found in the same
//! pass that reads the envelope: string members are read from the text, one
//! is replaced by splicing it, and [`super::Message::encode`] copies the text.
//! Anything else ([`std::ops::Deref`], [`std::ops::DerefMut`]) builds the
//! value, once, and from then on the value is what counts.
//!
//! The text form is kept only when reading it as text cannot disagree with
//! reading it as a value: no repeated or escaped member name (a repeated name
//! would let the gateway check one name and the upstream act on another), no
//! escape in a string member (read from the text it would come out escaped),
//! at most [`MAX_MEMBERS`] members (the repeated-name check is quadratic), no
//! number a `Value` cannot hold and no `\u` escape anywhere (serde_json checks
//! neither when it only scans, so such text could fail to build later rather
//! than be refused now). Any other message is decoded again with its `params`
//! built at once, as before.

use std::fmt;
use std::ops::{Deref, DerefMut, Range};
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Members beyond which `params` is built as values.
const MAX_MEMBERS: usize = 16;

/// A run of digits this long may spell a number an `f64` cannot hold.
const LONG_DIGITS: usize = 300;

/// The `params` of a request or notification.
#[derive(Clone)]
pub struct Params(Repr);

#[derive(Clone)]
enum Repr {
    Text(Text),
    Value(Value),
}

#[derive(Clone)]
struct Text {
    text: Box<str>,
    members: Vec<Member>,
    /// Built on the first read as values; the text stays what is sent.
    value: OnceLock<Value>,
}

/// Where a top-level member's name (without its quotes) and value lie in the text.
#[derive(Clone)]
struct Member {
    name: Range<usize>,
    value: Range<usize>,
}

impl Params {
    /// The JSON text, while the params are still text (unchanged but for
    /// [`Params::set_str`]).
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(text) => Some(&text.text),
            Repr::Value(_) => None,
        }
    }

    /// The string member `key`, as `value.get(key)?.as_str()` reads it.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match &self.0 {
            Repr::Text(text) => {
                let member = text.member(key)?;
                // NB: no escapes in string members (see `ParamsSeed`): the
                // text between the quotes is the string.
                let value = text.text.get(member.value.clone())?;
                value.strip_prefix('"')?.strip_suffix('"')
            }
            Repr::Value(value) => value.get(key)?.as_str(),
        }
    }

    /// Set member `key` to the string `value`. Text stays text when the
    /// member is there and `value` needs no escaping.
    pub fn set_str(&mut self, key: &str, value: String) {
        if let Repr::Text(text) = &mut self.0
            && !value.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
            && let Some(spliced) = text.splice(key, &value)
        {
            *text = spliced;
            return;
        }
        // NB: an existing string is replaced in place: no new key, no second lookup.
        match self.get_mut(key) {
            Some(Value::String(string)) => *string = value,
            _ => {
                if let Some(object) = self.as_object_mut() {
                    object.insert(key.to_owned(), Value::String(value));
                }
            }
        }
    }

    /// The params as values.
    pub fn into_value(self) -> Value {
        match self.0 {
            Repr::Text(text) => text.value.into_inner().unwrap_or_else(|| build(&text.text)),
            Repr::Value(value) => value,
        }
    }
}

impl Text {
    fn member(&self, key: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| self.text.get(m.name.clone()) == Some(key))
    }

    /// The text with member `key`'s value replaced by the string `value`
    /// (which needs no escaping); `None` when there is no such member.
    fn splice(&self, key: &str, value: &str) -> Option<Self> {
        let at = self.member(key)?.value.clone();
        let old = &*self.text;
        let mut text = String::with_capacity(old.len() + value.len());
        text.push_str(old.get(..at.start)?);
        text.push('"');
        text.push_str(value);
        text.push('"');
        text.push_str(old.get(at.end..)?);
        let replaced = at.start..at.start + value.len() + 2;
        // Members after the replaced value move by the change in its length.
        let moved = |r: &Range<usize>| {
            if r.start >= at.end {
                r.start - at.end + replaced.end..r.end - at.end + replaced.end
            } else {
                r.clone()
            }
        };
        let members = self
            .members
            .iter()
            .map(|m| Member {
                name: moved(&m.name),
                value: if m.value == at {
                    replaced.clone()
                } else {
                    moved(&m.value)
                },
            })
            .collect();
        Some(Self {
            text: text.into_boxed_str(),
            members,
            value: OnceLock::new(),
        })
    }
}

fn build(text: &str) -> Value {
    // NB: cannot fail: the text is well-formed, with no number out of range
    // and no `\u` escape (checked when it was read; a splice adds neither).
    serde_json::from_str(text).unwrap_or_default()
}

/// Whether the well-formed JSON `text` may fail to build as a `Value`: a
/// number an `f64` cannot hold (an exponent, or a very long run of digits),
/// or a `\u` escape (a lone surrogate). Errs towards yes: such params are
/// built at once, so that their error comes when the message is read.
fn may_not_build(text: &[u8]) -> bool {
    // NB: one plain pass: params are mostly short, where setting up a
    // vectorised search costs more than it saves.
    let mut digits = 0;
    let mut previous = 0;
    for &b in text {
        if b.is_ascii_digit() {
            digits += 1;
            if digits >= LONG_DIGITS {
                return true;
            }
        } else {
            let exponent = (b == b'e' || b == b'E') && digits > 0;
            // NB: `\\u` (an escaped backslash, then `u`) counts too: erring towards yes.
            if exponent || (b == b'u' && previous == b'\\') {
                return true;
            }
            digits = 0;
        }
        previous = b;
    }
    false
}

impl Deref for Params {
    type Target = Value;

    fn deref(&self) -> &Value {
        match &self.0 {
            Repr::Text(text) => text.value.get_or_init(|| build(&text.text)),
            Repr::Value(value) => value,
        }
    }
}

impl DerefMut for Params {
    fn deref_mut(&mut self) -> &mut Value {
        if let Repr::Text(text) = &mut self.0 {
            let value = text.value.take().unwrap_or_else(|| build(&text.text));
            self.0 = Repr::Value(value);
        }
        match &mut self.0 {
            Repr::Value(value) => value,
            // NB: not reached: a text was made a value just above.
            Repr::Text(_) => unreachable!("params text left after it was built"),
        }
    }
}

impl From<Value> for Params {
    fn from(value: Value) -> Self {
        Self(Repr::Value(value))
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Text(text) => f.write_str(&text.text),
            Repr::Value(value) => value.fmt(f),
        }
    }
}

/// As values. NB: [`super::Message::encode`] copies text params instead.
impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

/// What [`ParamsSeed`] read.
pub(super) enum Read {
    Params(Params),
    /// Not an object, or not one to keep as text: read the message again
    /// with params as values, which answer for it (refused as before).
    NotPlain,
}

/// Reads a message's `params` in the pass that reads its envelope: where
/// each member lies in the `message` (whose parts the deserializer lends),
/// and whether the object is plain enough to be kept as text.
pub(super) struct ParamsSeed<'m> {
    pub message: &'m [u8],
}

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = Read;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Read, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ParamsSeed<'_> {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("params")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let message = self.message;
        // NB: `None` for a part not lent from `message` (not expected: it
        // makes the params values, not an error).
        let place = |s: &str| {
            let start = (s.as_ptr() as usize).checked_sub(message.as_ptr() as usize)?;
            (start + s.len() <= message.len()).then_some(start..start + s.len())
        };
        let mut members = Vec::with_capacity(4);
        let mut plain = true;
        while let Some(name) = map.next_key::<Name<'de>>()? {
            let value = map.next_value::<&'de RawValue>()?.get();
            if !plain {
                continue;
            }
            let member = match name {
                Name::Plain(name) => place(name).zip(place(value)),
                Name::Escaped => None,
            };
            let Some((name, value)) = member else {
                plain = false;
                continue;
            };
            let repeated = members
                .iter()
                .any(|m: &Member| message.get(m.name.clone()) == message.get(name.clone()));
            let escaped = message
                .get(value.clone())
                .is_some_and(|v| v.first() == Some(&b'"') && memchr::memchr(b'\\', v).is_some());
            if repeated || escaped || members.len() == MAX_MEMBERS {
                plain = false;
                continue;
            }
            members.push(Member { name, value });
        }
        if !plain {
            return Ok(Read::NotPlain);
        }
        let (Some(first), Some(last)) = (members.first(), members.last()) else {
            return Ok(Read::Params(Params::from(Value::Object(Map::new()))));
        };
        // The object's text: from its `{` (before the first name's quote and
        // any whitespace) to its `}` (after the last value and any whitespace).
        let is_space = |b: &&u8| b.is_ascii_whitespace();
        let before = message
            .get(..first.name.start.saturating_sub(1))
            .unwrap_or_default();
        let open = before.len() - before.iter().rev().take_while(is_space).count();
        let after = message.get(last.value.end..).unwrap_or_default();
        let close = last.value.end + after.iter().take_while(is_space).count();
        let text = open
            .checked_sub(1)
            .filter(|&at| message[at] == b'{' && message.get(close) == Some(&b'}'))
            .and_then(|at| Some((at, std::str::from_utf8(message.get(at..=close)?).ok()?)));
        let Some((at, text)) = text else {
            return Ok(Read::NotPlain);
        };
        if may_not_build(text.as_bytes()) {
            return Ok(Read::NotPlain);
        }
        let rebase = |r: &Range<usize>| r.start - at..r.end - at;
        for m in &mut members {
            m.name = rebase(&m.name);
            m.value = rebase(&m.value);
        }
        Ok(Read::Params(Params(Repr::Text(Text {
            text: text.into(),
            members,
            value: OnceLock::new(),
        }))))
    }

    // NB: anything but an object is left to the read as values, which
    // refuses it: with what it refuses (an array holding 1e400 is a parse
    // error there, and only skipped here), not a judgement of this pass.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Read::NotPlain)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Read, E> {
        Ok(Read::NotPlain)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Read, E> {
        Ok(Read::NotPlain)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Read, E> {
        Ok(Read::NotPlain)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Read, E> {
        Ok(Read::NotPlain)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Read, E> {
        Ok(Read::NotPlain)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Read, E> {
        Ok(Read::NotPlain)
    }
}

/// A member name: lent from the message when it has no escapes.
enum Name<'de> {
    Plain(&'de str),
    Escaped,
}

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name::Plain(name))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Name<'de>, E> {
                Ok(Name::Escaped)
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests;
