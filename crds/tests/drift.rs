//! The committed CRD YAML must match the Rust types it is generated from.

use std::path::Path;

/// Every generated CRD file under `dir` must equal what the types render now.
fn assert_generated_files_match(dir: &Path) {
    let files = mcpgw_crds::crd_files().unwrap_or_else(|error| panic!("rendering failed: {error}"));
    for file in files {
        let path = dir.join(file.name);
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
fn committed_crd_yaml_matches_the_rust_types() {
    assert_generated_files_match(Path::new(env!("CARGO_MANIFEST_DIR")));
}

#[test]
fn chart_copies_match_the_rust_types_when_the_chart_exists() {
    let chart_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/mcpgw/crds");
    if !chart_dir.is_dir() {
        return; // No chart yet; `gen-crds` copies the CRDs there once it exists.
    }
    assert_generated_files_match(&chart_dir);
}
