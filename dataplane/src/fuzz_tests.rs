//! Deterministic pseudo-random inputs for the parsers that face the network:
//! whatever arrives, they answer with an error, never a panic.

use crate::jsonrpc::Message;
use crate::sse;

/// A small xorshift generator: reproducible without a dependency.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Random bytes biased towards JSON and SSE punctuation, so inputs get past the first byte.
    fn take(&mut self, max: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"{}[]\":,0123456789.-eE truefalsn\\u00\n\r:data id event retry jsonrpc method params result error 2.0";
        let len = (self.next() as usize) % max;
        (0..len)
            .map(|_| match self.next() % 4 {
                0 => self.next() as u8,
                _ => ALPHABET[(self.next() as usize) % ALPHABET.len()],
            })
            .collect()
    }
}

impl Bytes {
    /// Random SSE-shaped input: field names, separators, line ends and noise.
    fn take_sse(&mut self, max: usize) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            b"data:",
            b"data: ",
            b"id: ",
            b"event: ",
            b"retry: ",
            b": ",
            b"\n",
            b"\r\n",
            b"\r",
            b"\n\n",
            b"{\"x\":1}",
            b"42",
            b"\xEF\xBB\xBF",
            b"\0",
            b"message",
        ];
        let len = (self.next() as usize) % max;
        let mut out = Vec::new();
        for _ in 0..len {
            match self.next() % 5 {
                0 => out.push(self.next() as u8),
                _ => out.extend_from_slice(TOKENS[(self.next() as usize) % TOKENS.len()]),
            }
        }
        out
    }
}

#[test]
fn random_bytes_never_panic_the_json_rpc_decoder() {
    let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let input = rng.take(200);
        let _ = Message::decode(&input);
    }
    // Mutations of a valid message reach deeper: some still decode, some do not.
    let valid = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__b","arguments":{}}}"#;
    let (mut decoded, mut refused) = (0, 0);
    for _ in 0..20_000 {
        let mut input = valid.to_vec();
        let at = (rng.next() as usize) % input.len();
        input[at] = rng.next() as u8;
        match Message::decode(&input) {
            Ok(_) => decoded += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(
        decoded > 0 && refused > 0,
        "decoded {decoded}, refused {refused}"
    );
}

#[test]
fn random_chunks_never_panic_the_sse_decoder() {
    let mut rng = Bytes(0x2545_f491_4f6c_dd1d);
    let mut events = 0;
    for _ in 0..2_000 {
        let mut decoder = sse::Decoder::new(4096);
        for _ in 0..20 {
            decoder.push(&rng.take_sse(16));
            while let Ok(Some(_)) = decoder.next_event() {
                events += 1;
            }
        }
    }
    assert!(events > 0, "the inputs do form events");
}
