#!/usr/bin/env bash
# Start the demo: the reference "everything" MCP server on 127.0.0.1:3001, the
# time server (behind mcp-proxy) on 127.0.0.1:3002, and mcpgw on
# 127.0.0.1:7114/mcp aggregating both (examples/demo.yaml). Installs what it
# needs first. Runs in the foreground; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

EVERYTHING_PORT="${EVERYTHING_PORT:-3001}"
TIME_PORT="${TIME_PORT:-3002}"
GATEWAY_PORT="${GATEWAY_PORT:-7114}"

tests/peers/install.sh
echo "==> building mcpgw-dataplane (release)"
cargo build --release --locked -p mcpgw-dataplane

run_dir="$(mktemp -d)"
pids=()
source scripts/processes.sh
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start a peer and wait for its readiness line.
start_peer() {
  local name="$1" port="$2"
  start "$name" '^MCPGW_PEER_READY' env PORT="$port" tests/peers/run-peer.sh "$name"
  echo "==> $name ready on http://127.0.0.1:$port/mcp"
}

start_peer everything "$EVERYTHING_PORT"
start_peer time "$TIME_PORT"

config="$run_dir/demo.yaml"
sed -e "s#127.0.0.1:3001#127.0.0.1:$EVERYTHING_PORT#" \
    -e "s#127.0.0.1:3002#127.0.0.1:$TIME_PORT#" \
    -e "s#port: 7114#port: $GATEWAY_PORT#" examples/demo.yaml >"$config"

cat <<MSG
==> mcpgw on http://127.0.0.1:$GATEWAY_PORT/mcp (Ctrl-C stops the demo). Try:
    tests/peers/inspector.sh http://127.0.0.1:$GATEWAY_PORT/mcp --transport http --method tools/list
    curl -si http://127.0.0.1:$GATEWAY_PORT/mcp -H 'content-type: application/json' \\
      -H 'accept: application/json, text/event-stream' \\
      -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
MSG
setsid target/release/mcpgw-dataplane --config "$config" &
pids+=("$!")
wait "${pids[-1]}"
