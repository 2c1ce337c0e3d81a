//! Mutated configs: whatever the file holds, the compiler answers with errors, never a panic.

#[test]
fn mutated_yaml_never_panics_the_compiler() {
    const NOISE: &[u8] = b" :{}[]-\n#&*!|>'\"%@`x0";
    let valid = include_str!("../../examples/demo.yaml");
    // xorshift: reproducible without a dependency.
    let mut state: u64 = 0xdead_beef_cafe_f00d;
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
    assert!(rejected > 0, "the mutations do reach the validator");
}
