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

#[test]
fn random_bytes_never_panic_the_json_rpc_decoder() {
    let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let input = rng.take(200);
        let _ = Message::decode(&input);
    }
    // Mutations of a valid message reach deeper.
    let valid = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__b","arguments":{}}}"#;
    for _ in 0..20_000 {
        let mut input = valid.to_vec();
        let at = (rng.next() as usize) % input.len();
        input[at] = rng.next() as u8;
        let _ = Message::decode(&input);
    }
}

#[test]
fn random_chunks_never_panic_the_sse_decoder() {
    let mut rng = Bytes(0x2545_f491_4f6c_dd1d);
    for _ in 0..2_000 {
        let mut decoder = sse::Decoder::new(4096);
        for _ in 0..20 {
            decoder.push(&rng.take(64));
            while let Ok(Some(_)) = decoder.next_event() {}
        }
    }
}
