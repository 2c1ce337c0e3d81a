#!/usr/bin/env bash
# Regenerate the committed, generated artifacts (tests fail when they drift).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --quiet --locked -p mcpgw-config --example gen-schema
cargo run --quiet --locked -p mcpgw-crds --example gen-crds
