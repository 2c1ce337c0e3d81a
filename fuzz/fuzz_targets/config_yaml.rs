//! The binding-config parser, validation and compilation (what the data plane
//! runs on every reload, and the operator on every render).
//!
//! Oracle: never a panic; a config that parses renders back to YAML that
//! parses to the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    let _ = mcpgw_config::compile_yaml(yaml);
    let Ok(config) = mcpgw_config::parse_yaml(yaml) else {
        return;
    };
    let rendered = mcpgw_config::to_yaml(&config).expect("a parsed config renders");
    let again = mcpgw_config::parse_yaml(&rendered).expect("a rendered config parses");
    assert_eq!(config, again, "rendered as:\n{rendered}");
});
