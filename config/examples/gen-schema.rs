//! Rewrites `config/schema/mcpgw-config.schema.json` from the model:
//! `cargo run -p mcpgw-config --example gen-schema`.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(mcpgw_config::SCHEMA_FILE);
    std::fs::write(&path, mcpgw_config::json_schema())?;
    println!("wrote {}", path.display());
    Ok(())
}
