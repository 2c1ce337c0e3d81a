//! Server-sent events: encoding for the downstream streams and an incremental
//! decoder for upstream streams (WHATWG "event stream interpretation").

use bytes::{Bytes, BytesMut};

/// One SSE frame carrying a JSON-RPC message (`event: message`).
pub fn message_event(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 24);
    out.extend_from_slice(b"event: message\ndata: ");
    // NB: messages are compact JSON, which never contains a raw newline; a
    // newline would split the data field, so guard against it anyway.
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\ndata: ");
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"\n\n");
    out.freeze()
}

/// The message a frame of [`message_event`] carries; `None` for any other
/// frame (a keep-alive, or data split over several lines).
pub fn message_data(frame: &[u8]) -> Option<&[u8]> {
    let data = frame
        .strip_prefix(b"event: message\ndata: ")?
        .strip_suffix(b"\n\n")?;
    (!data.contains(&b'\n')).then_some(data)
}

/// A comment line, used as a keep-alive on idle streams.
pub fn keepalive() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// A dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
    /// The last event id seen on the stream so far (it persists across events).
    pub id: Option<String>,
}

/// Incremental decoder: feed it chunks, take complete events out.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
    data: String,
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    /// The latest `retry` value in milliseconds.
    pub retry_ms: Option<u64>,
    /// Whether the BOM check at the stream start is done.
    started: bool,
    /// Largest pending line or event we accept before declaring the stream broken.
    limit: usize,
}

/// The stream sent an event or line larger than the decoder accepts.
#[derive(Debug, thiserror::Error)]
#[error("SSE event larger than {0} bytes")]
pub struct TooLarge(pub usize);

impl Decoder {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The id of the last event that carried one (for `Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event in what was pushed so far.
    pub fn next_event(&mut self) -> Result<Option<Event>, TooLarge> {
        if !self.started {
            if self.buf.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.buf) {
                return Ok(None);
            }
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                let _ = self.buf.split_to(3);
            }
            self.started = true;
        }
        loop {
            let Some(end) = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r') else {
                if self.buf.len() + self.data.len() > self.limit {
                    return Err(TooLarge(self.limit));
                }
                return Ok(None);
            };
            // A lone CR at the end of the buffer may be the first half of CRLF.
            let eol_len = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => return Ok(None),
                }
            } else {
                1
            };
            let line = self.buf.split_to(end);
            let _ = self.buf.split_to(eol_len);
            if let Some(event) = self.process_line(&line) {
                return Ok(Some(event));
            }
            if self.data.len() > self.limit {
                return Err(TooLarge(self.limit));
            }
        }
    }

    fn process_line(&mut self, line: &[u8]) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = self.event.take();
        if !self.has_data {
            // An event with no data (e.g. a priming event) only updates the id.
            return None;
        }
        self.has_data = false;
        Some(Event {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_frame_gives_back_its_message() {
        let frame = message_event(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(
            message_data(&frame),
            Some(&br#"{"jsonrpc":"2.0","id":1,"result":{}}"#[..])
        );
        assert_eq!(message_data(&keepalive()), None);
    }

    fn decode_all(chunks: &[&[u8]]) -> (Vec<Event>, Decoder) {
        let mut d = Decoder::new(1 << 20);
        let mut out = vec![];
        for c in chunks {
            d.push(c);
            while let Some(e) = d.next_event().ok().flatten() {
                out.push(e);
            }
        }
        (out, d)
    }

    #[test]
    fn priming_event_has_an_id_and_empty_data() {
        let (events, d) = decode_all(&[b"id: p1\ndata:\n\nretry: 1500\n\n"]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "");
        assert_eq!(d.last_event_id(), Some("p1"));
        assert_eq!(d.retry_ms, Some(1500));
    }

    #[test]
    fn events_split_across_chunks_and_line_endings_decode() {
        let (events, _) = decode_all(&[
            b"event: message\r\nid: 7\r\nda",
            b"ta: {\"a\":1}\r",
            b"\n\r\n: comment\n\ndata: x\ndata: y\r\r\n",
        ]);
        assert_eq!(
            events,
            vec![
                Event {
                    event: Some("message".into()),
                    data: "{\"a\":1}".into(),
                    id: Some("7".into())
                },
                Event {
                    event: None,
                    data: "x\ny".into(),
                    id: Some("7".into())
                },
            ]
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let (events, _) = decode_all(&[b"\xEF\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(events[0].data, "a");
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut d = Decoder::new(16);
        d.push(b"data: 0123456789abcdefghij");
        assert!(d.next_event().is_err());
    }

    #[test]
    fn encoded_message_decodes_back() {
        let (events, _) = decode_all(&[&message_event(b"{\"x\":1}")]);
        assert_eq!(events[0].data, "{\"x\":1}");
        assert_eq!(events[0].event.as_deref(), Some("message"));
    }
}
