//! Mutated configs: whatever the file holds, the compiler answers with errors, never a panic.

/// Mutates `valid` 3,000 times (three random bytes each) and compiles every result;
/// returns how many were rejected.
fn rejected_mutations(valid: &str, seed: u64) -> usize {
    const NOISE: &[u8] = b" :{}[]-\n#&*!|>'\"%@`x0";
    // xorshift: reproducible without a dependency.
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as usize
    };
    let mut rejected = 0;
    for _ in 0..3_000 {
        let mut input = valid.as_bytes().to_vec();
        for _ in 0..3 {
            let at = next() % input.len();
            input[at] = NOISE[next() % NOISE.len()];
        }
        if mcpgw_config::compile_yaml(&String::from_utf8_lossy(&input)).is_err() {
            rejected += 1;
        }
    }
    rejected
}

#[test]
fn mutated_yaml_never_panics_the_compiler() {
    let valid = include_str!("../../examples/demo.yaml");
    let rejected = rejected_mutations(valid, 0xdead_beef_cafe_f00d);
    assert!(rejected > 0, "the mutations do reach the validator");
}

#[test]
fn mutated_guarded_yaml_never_panics_the_compiler() {
    // Guards, guarded routes and forwarding have their own parsing and checks.
    let valid = include_str!("../../examples/guarded.yaml");
    let rejected = rejected_mutations(valid, 0x0123_4567_89ab_cdef);
    assert!(rejected > 0, "the mutations do reach the validator");
}

#[test]
fn mutated_github_yaml_never_panics_the_compiler() {
    // The explicit south chain: http, tls and tcp clients and the rules between them.
    let valid = include_str!("../../examples/github.yaml");
    let rejected = rejected_mutations(valid, 0x5eed_0fc4_a12b_3c5d);
    assert!(rejected > 0, "the mutations do reach the validator");
}
