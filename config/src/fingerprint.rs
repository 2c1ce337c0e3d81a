//! How the operator and the data plane identify a config file: the SHA-256
//! of its exact bytes. The data plane reports it at `/readyz` for the file it
//! applied; the operator computes it over the YAML it rendered, and a pod
//! whose report matches serves that config.

/// SHA-256 of a config file's bytes, in lower-case hex.
pub fn config_sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha256_in_hex() {
        assert_eq!(
            config_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
