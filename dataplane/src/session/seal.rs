//! Sealed session ids: the downstream `Mcp-Session-Id` is the session's state
//! itself, encrypted and authenticated (ChaCha20-Poly1305) under a key that
//! every replica shares, so any replica can serve any session.
//!
//! The AEAD key is set up once; sealing and opening are one AEAD pass over a
//! few hundred bytes (microseconds), with no per-request key derivation.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Marks the token format; a future format gets another prefix.
const PREFIX: &str = "v1.";
/// Binds tokens to their purpose: a sealed blob from elsewhere never opens here.
const AAD: &[u8] = b"mcpgw session v1";
pub const KEY_LEN: usize = 32;

/// What a session id carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealedState {
    /// The version negotiated with the client.
    #[serde(rename = "v")]
    pub protocol_version: String,
    /// The client's initialize capabilities and info, replayed to upstreams.
    #[serde(rename = "c")]
    pub capabilities: Value,
    #[serde(rename = "i")]
    pub client_info: Value,
    /// Per toolkit: the upstream session opened for this session.
    #[serde(rename = "u", default)]
    pub upstreams: BTreeMap<String, SealedUpstream>,
    /// The identity of the caller who opened the session (`None`: anonymous);
    /// only the same caller may use it.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Random bytes so two sessions with the same content differ.
    #[serde(rename = "n")]
    pub nonce: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedUpstream {
    /// The upstream's `Mcp-Session-Id` (absent for sessionless upstreams).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The version the upstream chose.
    #[serde(rename = "v")]
    pub protocol_version: String,
    /// The upstream's capabilities (what lists to ask it for).
    #[serde(rename = "c")]
    pub capabilities: Value,
}

/// Why a key could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("session key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("no system randomness for a session key")]
    Random,
}

/// Seals and opens session ids with one key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // NB: never print key material.
        f.write_str("Sealer { key: <redacted> }")
    }
}

impl Sealer {
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        // NB: infallible for a 32-byte key, which the type guarantees.
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).map(LessSafeKey::new);
        Self {
            key: key.unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 takes 32-byte keys")),
            rng: SystemRandom::new(),
        }
    }

    /// A sealer with a fresh random key: sessions then live on this process only.
    pub fn generate() -> Result<Self, KeyError> {
        let mut key = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| KeyError::Random)?;
        Ok(Self::new(&key))
    }

    /// Read a key file: 32 raw bytes, 64 hex digits, or base64 of 32 bytes.
    pub fn from_file(path: &str) -> Result<Self, KeyError> {
        let fail = |reason: &str| KeyError::File {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let bytes = std::fs::read(path).map_err(|e| fail(&e.kind().to_string()))?;
        let key = parse_key(&bytes)
            .ok_or_else(|| fail("expected 32 raw bytes, 64 hex digits or base64 of 32 bytes"))?;
        Ok(Self::new(&key))
    }

    pub fn seal(&self, state: &SealedState) -> String {
        let mut buf = serde_json::to_vec(state).unwrap_or_default();
        let mut nonce = [0u8; NONCE_LEN];
        if self.rng.fill(&mut nonce).is_err() {
            // NB: the OS RNG does not fail on Linux; if it did, a zero nonce
            // would repeat, so refuse to produce a token instead.
            return String::new();
        }
        if self
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut buf,
            )
            .is_err()
        {
            return String::new();
        }
        let mut token = Vec::with_capacity(NONCE_LEN + buf.len());
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&buf);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(token))
    }

    /// The state in a token, or `None` for anything this key did not seal.
    pub fn open(&self, token: &str) -> Option<SealedState> {
        let raw = URL_SAFE_NO_PAD.decode(token.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut sealed)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

fn parse_key(bytes: &[u8]) -> Option<[u8; KEY_LEN]> {
    if bytes.len() == KEY_LEN {
        return bytes.try_into().ok();
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut key = [0u8; KEY_LEN];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        return Some(key);
    }
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state() -> SealedState {
        SealedState {
            protocol_version: "2025-11-25".into(),
            capabilities: json!({"elicitation": {"form": {}, "url": {}}, "sampling": {}}),
            client_info: json!({"name": "t", "version": "1"}),
            upstreams: BTreeMap::from([(
                "everything".to_owned(),
                SealedUpstream {
                    session_id: Some("4a0f3e2c-7b1d-4c55-9f0e-1f2a3b4c5d6e".into()),
                    protocol_version: "2025-11-25".into(),
                    capabilities: json!({"tools": {"listChanged": true}}),
                },
            )]),
            owner: Some("alice".into()),
            nonce: 7,
        }
    }

    #[test]
    fn a_sealed_state_opens_with_the_same_key_only() {
        let key = [7u8; KEY_LEN];
        let (a, b) = (Sealer::new(&key), Sealer::new(&key));
        let token = a.seal(&state());
        assert!(token.starts_with("v1."));
        assert!(
            token.bytes().all(|c| (0x21..=0x7e).contains(&c)),
            "a valid header value"
        );
        assert_eq!(
            b.open(&token),
            Some(state()),
            "another replica with the key opens it"
        );
        assert_eq!(
            Sealer::new(&[8u8; KEY_LEN]).open(&token),
            None,
            "a foreign key does not"
        );
        assert_ne!(a.seal(&state()), token, "fresh nonce every time");
    }

    #[test]
    fn tampered_or_garbage_tokens_do_not_open() {
        let sealer = Sealer::new(&[1u8; KEY_LEN]);
        let token = sealer.seal(&state());
        let mut bytes = token.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        for bad in [
            tampered.as_str(),
            "",
            "v1.",
            "v1.AAAA",
            "v2.abc",
            &token[3..],
            "not a token",
        ] {
            assert_eq!(sealer.open(bad), None, "{bad}");
        }
    }

    #[test]
    fn key_files_may_be_raw_hex_or_base64() {
        let key: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_key(&key), Some(key));
        assert_eq!(parse_key(format!("{hex}\n").as_bytes()), Some(key));
        assert_eq!(parse_key(STANDARD.encode(key).as_bytes()), Some(key));
        assert_eq!(parse_key(b"too short"), None);
        assert_eq!(parse_key(&[0u8; 31]), None);
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(
            format!("{:?}", Sealer::new(&[9u8; KEY_LEN])),
            "Sealer { key: <redacted> }"
        );
    }
}
