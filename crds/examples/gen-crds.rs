//! Rewrites the committed CRD YAML from the Rust types:
//! `cargo run -p mcpgw-crds --example gen-crds`.
//!
//! Writes `crds/<kind>.yaml`, and the same files into the Helm chart's `crds/` directory
//! when the chart exists.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace_dir = crate_dir.parent().unwrap_or(crate_dir);
    let chart_dir = workspace_dir.join("charts/mcpgw/crds");
    let files = mcpgw_crds::crd_files()?;
    for file in &files {
        let path = crate_dir.join(file.name);
        std::fs::write(&path, &file.yaml)?;
        println!("wrote {}", path.display());
    }
    if chart_dir.is_dir() {
        for file in &files {
            let path = chart_dir.join(file.name);
            std::fs::write(&path, &file.yaml)?;
            println!("wrote {}", path.display());
        }
    } else {
        println!(
            "note: {} does not exist; not copying the CRDs into the chart",
            chart_dir.display()
        );
    }
    Ok(())
}
