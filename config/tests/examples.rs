//! Every runnable config in the workspace's `examples/` compiles.

use std::path::Path;

#[test]
fn every_workspace_example_compiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) => panic!("{}: {error}", dir.display()),
    };
    let mut compiled = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            let yaml = std::fs::read_to_string(&path).unwrap_or_default();
            if let Err(error) = mcpgw_config::compile_yaml(&yaml) {
                panic!("{} does not compile:\n{error}", path.display());
            }
            compiled.push(path);
        }
    }
    for expected in [
        "demo.yaml",
        "single-toolkit.yaml",
        "guarded.yaml",
        "github.yaml",
    ] {
        assert!(
            compiled.iter().any(|path| path.ends_with(expected)),
            "expected {expected} among the examples, found {compiled:?}"
        );
    }
}
