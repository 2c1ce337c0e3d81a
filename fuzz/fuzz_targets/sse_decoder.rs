//! The incremental SSE decoder that reads upstream event streams.
//!
//! Oracle: never a panic, and the events do not depend on how the stream was
//! cut into chunks: the whole input at once and the input in pieces (cut at
//! points taken from the first bytes) give the same events, ids and retry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_dataplane::sse::{Decoder, Event};

/// Larger than any input libFuzzer makes here, so `TooLarge` never depends on chunking.
const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, stream)) = data.split_first() else {
        return;
    };
    let whole = decode(&[stream]);
    let mut pieces = Vec::new();
    let mut rest = stream;
    // Each bit of `cuts` picks a cut length of 1 or 3 bytes, then the tail.
    for bit in 0..8 {
        let at = if cuts >> bit & 1 == 1 { 1 } else { 3 };
        if rest.len() <= at {
            break;
        }
        let (piece, tail) = rest.split_at(at);
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    assert_eq!(whole, decode(&pieces));
});

fn decode(chunks: &[&[u8]]) -> (Vec<Event>, Option<String>, Option<u64>) {
    let mut decoder = Decoder::new(LIMIT);
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(event) = decoder
            .next_event()
            .expect("inputs are far below the limit")
        {
            events.push(event);
        }
    }
    let id = decoder.last_event_id().map(str::to_owned);
    (events, id, decoder.retry_ms)
}
