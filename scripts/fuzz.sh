#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the parsers that face the
# network or the operator: each target in fuzz/ runs for a bounded time from
# its committed seeds (fuzz/seeds/<target>/) plus the corpus grown by earlier
# runs on this machine; a crash fails the script and leaves the input in
# fuzz/artifacts/<target>/. Prints executions and crashes per target.
#
# usage: scripts/fuzz.sh [TARGET...]        (default: every target)
#
# Environment:
#   MCPGW_FUZZ_SECONDS     time per target (default 30)
#   MCPGW_FUZZ_SANITIZER   cargo-fuzz --sanitizer (default none, see below)
#   MCPGW_FUZZ_HOME        cache root (default $HOME/.cache/mcpgw): cargo-fuzz is
#                          installed under cargo-fuzz/, the instrumented build kept
#                          in fuzz-target/ and the grown corpora in fuzz-corpus/,
#                          so that a second run on the machine rebuilds nothing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET="${MCPGW_FUZZ_SECONDS:-30}"
# NB: the gateway forbids unsafe code, so what fuzzing finds here are panics,
# which libFuzzer catches without a sanitizer; AddressSanitizer would halve
# the executions in the same time for little gain. Set `address` to use it.
SANITIZER="${MCPGW_FUZZ_SANITIZER:-none}"
CACHE="${MCPGW_FUZZ_HOME:-${HOME}/.cache/mcpgw}"
INSTALL_ROOT="$CACHE/cargo-fuzz"
TARGET_DIR="$CACHE/fuzz-target"
CORPUS_ROOT="$CACHE/fuzz-corpus"

# NB: cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer, the
# sanitizer-coverage options) and the machine's one toolchain is stable;
# RUSTC_BOOTSTRAP=1 lets stable rustc accept them. Only this script's builds
# see it: the gateway itself is built and tested on plain stable.
export RUSTC_BOOTSTRAP=1

mkdir -p "$INSTALL_ROOT"
(
  # One install at a time when several runs share the cache.
  flock 9
  if [ "$("$INSTALL_ROOT/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION into $INSTALL_ROOT" >&2
    if ! cargo install --locked --version "$CARGO_FUZZ_VERSION" --root "$INSTALL_ROOT" cargo-fuzz \
      >"$INSTALL_ROOT/install.log" 2>&1; then
      tail -30 "$INSTALL_ROOT/install.log" >&2
      exit 1
    fi
  fi
) 9>"$INSTALL_ROOT/.lock"
cargo_fuzz=("$INSTALL_ROOT/bin/cargo-fuzz" fuzz)

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${cargo_fuzz[@]}" list)
fi

# NB: cargo-fuzz has no --locked; this fails, as CI's --locked builds do, when
# fuzz/Cargo.lock no longer matches the manifests.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

build_flags=(--sanitizer "$SANITIZER" --target-dir "$TARGET_DIR")
echo "==> building the fuzz targets (sanitizer: $SANITIZER)"
# One cargo build for every target: they share all their dependencies.
"${cargo_fuzz[@]}" build "${build_flags[@]}"

failed=()
summary=()
for target in "${targets[@]}"; do
  seeds="fuzz/seeds/$target"
  corpus="$CORPUS_ROOT/$target"
  artifacts="fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  log="$(mktemp)"
  started="$(mktemp)"
  echo "==> fuzzing $target for ${SECONDS_PER_TARGET}s"
  status=0
  # New inputs go to the first corpus directory (the cache), never to the
  # committed seeds.
  "${cargo_fuzz[@]}" run "${build_flags[@]}" "$target" "$corpus" "$seeds" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  crashes="$(find "$artifacts" -type f -newer "$started" | wc -l)"
  summary+=("$(printf '%-22s executions: %-10s crashes: %s' "$target" "${runs:-?}" "$crashes")")
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed+=("$target")
    # The panic message and the failing input, without libFuzzer's progress lines.
    grep -v -e '^#[0-9]' -e '^INFO:' -e '^WARNING: Failed to find' "$log" | head -60 >&2
  fi
  rm -f "$log" "$started"
done

echo "==> fuzzing summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
