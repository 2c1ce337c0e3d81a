//! The committed CRD YAML must match the Rust types it is generated from.

use std::path::Path;

#[test]
fn committed_crd_yaml_matches_the_rust_types() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = mcpgw_crds::crd_files().unwrap_or_else(|error| panic!("rendering failed: {error}"));
    for file in files {
        let path = crate_dir.join(file.name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == file.yaml,
            "{} is out of date with the Rust types; regenerate it with `{}` and review the diff",
            path.display(),
            mcpgw_crds::GENERATE_COMMAND
        );
    }
}

#[test]
fn chart_copies_match_the_rust_types_when_the_chart_exists() {
    let chart_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/mcpgw/crds");
    if !chart_dir.is_dir() {
        return; // No chart yet; `gen-crds` copies the CRDs there once it exists.
    }
    let files = mcpgw_crds::crd_files().unwrap_or_else(|error| panic!("rendering failed: {error}"));
    for file in files {
        let path = chart_dir.join(file.name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == file.yaml,
            "{} is out of date with the Rust types; regenerate it with `{}` and review the diff",
            path.display(),
            mcpgw_crds::GENERATE_COMMAND
        );
    }
}
