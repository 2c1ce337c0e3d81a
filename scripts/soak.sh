#!/usr/bin/env bash
# The soak: many MCP sessions for minutes against real peers (the time server
# behind mcp-proxy and the everything server, from tests/peers/install.sh)
# through one gateway process, mixed tools/list, tools/call and GET streams,
# with the everything server killed and restarted on its port halfway.
# Prints the report of bench/src/bin/mcpgw-soak.rs (see there for the
# MCPGW_SOAK_* settings):
#
#   scripts/soak.sh                                        # 1,000 sessions, 5 minutes
#   MCPGW_SOAK_SESSIONS=100 MCPGW_SOAK_SECONDS=20 scripts/soak.sh   # a quick run
#   MCPGW_SOAK_SECONDS=60 MCPGW_SOAK_ROUNDS=3 scripts/soak.sh        # the memory bound
#
# Not part of scripts/test.sh: it holds the machine for minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tests/peers/install.sh >/dev/null
echo "==> building mcpgw-dataplane and mcpgw-soak (release)" >&2
cargo build --release --locked -q -p mcpgw-dataplane -p mcpgw-bench --bin mcpgw-dataplane --bin mcpgw-soak
target="${CARGO_TARGET_DIR:-target}"
# 1,000 sessions hold a few thousand descriptors between the client, the gateway and the peers.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
MCPGW_SOAK_GATEWAY="${MCPGW_SOAK_GATEWAY:-$target/release/mcpgw-dataplane}" \
  exec "$target/release/mcpgw-soak"
