#!/usr/bin/env bash
# Run every check of the project on a fresh machine: install the pinned real
# MCP peers (cached), then format, lint, all tests (unit, in-process, real
# peers over loopback, conformance differential), and a bounded fuzzing run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> installing the pinned test peers (cached between runs)"
tests/peers/install.sh

echo "==> building the CRD API server for the operator tests (cached between runs)"
tests/apiserver/build.sh

echo "==> cargo fmt --check"
cargo fmt --all --check
# The fuzz targets are a workspace of their own (see fuzz/Cargo.toml).
cargo fmt --manifest-path fuzz/Cargo.toml --check

echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> Helm chart: lint, template, validate rendered objects, RBAC contract"
tests/helm/check.sh

echo "==> kind e2e suite (runs only where a Docker engine exists)"
tests/e2e/run.sh

echo "==> tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

# NB: after the tests, so that a failing test is reported before the longer
# fuzzing run; MCPGW_FUZZ_SECONDS (default 30) bounds each target.
echo "==> fuzzing: each cargo-fuzz target for a bounded time (instrumented build cached)"
scripts/fuzz.sh
