#!/usr/bin/env bash
# The benchmark of record: the gateway's per-call cost measured the way users
# deploy it, as separate processes on loopback.
#
#   upstream  mcpgw-bench-peer upstream   (a minimal MCP server: JSON answers, no state)
#   hop       mcpgw-bench-peer hop        (a trivial hyper forwarder: the floor of any gateway)
#   gateway   mcpgw-dataplane             (one toolkit `bench` in front of the upstream)
#
# each on an OS-chosen 127.0.0.1 port, driven by wrk (Debian's package,
# installed if missing) with one keep-alive connection and one MCP session per
# wrk thread (bench/wrk/mcp-session.lua): `initialize`, then `tools/call` of
# `echo` (`bench__echo` through the gateway). The paths are interleaved in
# rounds at 1, 16 and 64 connections; the report gives p50/p99 and req/s per
# path (medians over the rounds), the ratios to the hop, and the hop's and the
# gateway's CPU time per call (from /proc/<pid>/stat).
#
# Environment:
#   MCPGW_BENCH_QUICK=1            2 rounds of 1 s (a smoke run; numbers are noisy)
#   MCPGW_BENCH_ROUNDS=N           rounds per connection count (default 5)
#   MCPGW_BENCH_SECONDS=N          seconds per wrk run (default 3)
#   MCPGW_BENCH_CONNECTIONS="1 16 64"
#   MCPGW_BENCH_TLS=0              skip the TLS paths (upstream over TLS, h2 only and HTTP/1.1
#                                  only: bare hop vs gateway), run by default at
#   MCPGW_BENCH_TLS_CONNECTIONS=16 these connection counts,
#   MCPGW_BENCH_TLS_ROUNDS=N       in N rounds (default: twice MCPGW_BENCH_ROUNDS)
#   MCPGW_BENCH_KEEP=FILE          keep every wrk run's result line (one per path and round) in FILE
#   MCPGW_BENCH_MCP_PROXY=1        add a fourth path: the `mcp-proxy` crate (0.6.0), the
#                                  Rust MCP proxy users would otherwise pick, built by cargo
#                                  into ~/.cache/mcpgw/mcp-proxy on first use (~15 min on 2 cores)
#
# It also reports the gateway's CPU while idle (2 s before the load): above 1% of a
# core something spins.
#
# Exit status: 0 whatever the verdicts (it is a report), 1 when a run broke
# (a peer did not start, or wrk saw errors).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -n "${MCPGW_BENCH_QUICK:-}" ]]; then
  rounds="${MCPGW_BENCH_ROUNDS:-2}" seconds="${MCPGW_BENCH_SECONDS:-1}"
else
  rounds="${MCPGW_BENCH_ROUNDS:-5}" seconds="${MCPGW_BENCH_SECONDS:-3}"
fi
connections="${MCPGW_BENCH_CONNECTIONS:-1 16 64}"
lua="$PWD/bench/wrk/mcp-session.lua"

log() { printf '==> %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian's packages"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  # Pinned where the mirror has the version this README's numbers were taken with.
  "${sudo[@]}" apt-get install -y -qq wrk=4.1.0-3+b2 >/dev/null 2>&1 ||
    "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi

log "building mcpgw-dataplane and mcpgw-bench-peer (release)"
cargo build --release --locked -q -p mcpgw-dataplane -p mcpgw-bench

run_dir="$(mktemp -d)"
pids=()
source scripts/processes.sh
trap cleanup EXIT
trap 'exit 130' INT TERM

addr_of() { grep -oE "$2" "$run_dir/$1.log" | head -1 | grep -oE '127\.0\.0\.1:[0-9]+'; }

start upstream '^READY ' target/release/mcpgw-bench-peer upstream
upstream=$(addr_of upstream '^READY .*')
start hop '^READY ' target/release/mcpgw-bench-peer hop "$upstream"
hop_pid=$started_pid hop=$(addr_of hop '^READY .*')
# NB: the config in a directory of its own: the gateway watches its config's directory.
mkdir "$run_dir/config"
target/release/mcpgw-bench-peer config "$upstream" >"$run_dir/config/gateway.yaml"
start gateway 'mcpgw ready' env MCPGW_LOG=warn,mcpgw_dataplane=info \
  target/release/mcpgw-dataplane --config "$run_dir/config/gateway.yaml"
gateway_pid=$started_pid gateway=$(addr_of gateway 'ready addr=127\.0\.0\.1:[0-9]+')
log "upstream $upstream, hop $hop, gateway $gateway"

# The paths measured: where wrk sends, which tool it calls, and whose CPU is counted.
declare -A url_of tool_of pid_of
declare -A era_of
add_path() { url_of[$1]=$2 tool_of[$1]=$3 pid_of[$1]=$4; }
add_path direct "http://$upstream/mcp" echo ""
add_path hop "http://$hop/mcp" echo "$hop_pid"
add_path gateway "http://$gateway/mcp" bench__echo "$gateway_pid"
# The same gateway reached by a client of the 2026-07-28 revision: no session,
# every call stateless (the gateway keeps the upstream session for it).
add_path gateway-2026 "http://$gateway/mcp" bench__echo "$gateway_pid"
era_of[gateway-2026]=2026-07-28
paths="direct hop gateway gateway-2026"
if [[ -n "${MCPGW_BENCH_MCP_PROXY:-}" ]]; then
  mcp_proxy_root="${XDG_CACHE_HOME:-$HOME/.cache}/mcpgw/mcp-proxy"
  if ! "$mcp_proxy_root/bin/mcp-proxy" --help >/dev/null 2>&1; then
    log "building mcp-proxy 0.6.0 with cargo into $mcp_proxy_root (once)"
    # NB: without default features: its OAuth, OpenAPI, OTel and WebSocket extras are
    # not on the path measured, and the build is much shorter without them.
    cargo install --quiet --locked mcp-proxy --version 0.6.0 --no-default-features \
      --root "$mcp_proxy_root"
  fi
  # NB: mcp-proxy listens on a configured port only: take a free one from the OS.
  # Its default log level (info) logs nothing per request, and its readiness line.
  mcp_proxy_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$run_dir/mcp-proxy.toml" <<EOF
[proxy]
name = "bench"
separator = "__"

[proxy.listen]
host = "127.0.0.1"
port = $mcp_proxy_port

[[backends]]
name = "bench"
transport = "http"
url = "http://$upstream/mcp"

EOF
  start mcp-proxy 'Proxy ready' "$mcp_proxy_root/bin/mcp-proxy" --config "$run_dir/mcp-proxy.toml"
  # NB: mcp-proxy serves MCP at `/`, and names tools `<backend><separator><tool>` too.
  add_path mcp-proxy "http://127.0.0.1:$mcp_proxy_port/" bench__echo "$started_pid"
  paths="$paths mcp-proxy"
  log "mcp-proxy 127.0.0.1:$mcp_proxy_port"
fi

# The TLS paths (issue 9's budget): a TLS upstream speaking only h2, or only
# HTTP/1.1, reached by the bare hop and by the gateway (the explicit south chain,
# trusting the bench's CA). wrk reaches the upstream directly over TLS for the
# floor (HTTP/1.1: wrk offers no ALPN).
tls_paths=""
if [[ "${MCPGW_BENCH_TLS:-1}" != 0 ]]; then
  for alpn in h2 http/1.1; do
    tag=${alpn/http\/1.1/h1}
    mkdir -p "$run_dir/tls-$tag/config"
    ca="$run_dir/tls-$tag/ca.crt"
    start "upstream-tls-$tag" '^READY ' target/release/mcpgw-bench-peer tls-upstream "$alpn" "$ca"
    tls_upstream=$(addr_of "upstream-tls-$tag" '^READY .*')
    start "hop-tls-$tag" '^READY ' target/release/mcpgw-bench-peer tls-hop "$tls_upstream" "$ca" "$alpn"
    add_path "hop-tls-$tag" "http://$(addr_of "hop-tls-$tag" '^READY .*')/mcp" echo "$started_pid"
    target/release/mcpgw-bench-peer tls-config "$tls_upstream" "$ca" "$alpn" \
      >"$run_dir/tls-$tag/config/gateway.yaml"
    start "gateway-tls-$tag" 'mcpgw ready' env MCPGW_LOG=warn,mcpgw_dataplane=info \
      target/release/mcpgw-dataplane --config "$run_dir/tls-$tag/config/gateway.yaml"
    add_path "gateway-tls-$tag" "http://$(addr_of "gateway-tls-$tag" 'ready addr=127\.0\.0\.1:[0-9]+')/mcp" \
      bench__echo "$started_pid"
    add_path "direct-tls-$tag" "https://localhost:${tls_upstream##*:}/mcp" echo ""
    tls_paths="$tls_paths direct-tls-$tag hop-tls-$tag gateway-tls-$tag"
  done
  log "TLS upstreams (h2 only, HTTP/1.1 only), their hops and gateways started"
fi

# The on-CPU time (µs) of a process and all its threads so far.
cpu_us() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000000 / hz }' "/proc/$1/stat"
}

# The gateway's CPU while idle, before any load: a data plane that spins on
# its own (as one did, re-reading its config forever) shows here first.
idle_before=$(cpu_us "$gateway_pid")
sleep 2
echo "idle_cpu_us_per_s=$((($(cpu_us "$gateway_pid") - idle_before) / 2))" >"$run_dir/idle.txt"

# One wrk run: path, connections, seconds -> a result line appended to the file $4.
measure() {
  local path="$1" conns="$2" secs="$3" out_file="$4"
  local url=${url_of[$path]} tool=${tool_of[$path]} pid=${pid_of[$path]}
  local before=0 after=0 out
  [[ -n "$pid" ]] && before=$(cpu_us "$pid")
  out=$(MCP_TOOL="$tool" MCP_ERA="${era_of[$path]:-}" wrk -t "$conns" -c "$conns" -d "${secs}s" --timeout 5s -s "$lua" "$url")
  [[ -n "$pid" ]] && after=$(cpu_us "$pid")
  local line
  line=$(grep '^MCPGW_WRK ' <<<"$out") || { echo "bench: wrk printed no result for $path:" >&2; echo "$out" >&2; exit 1; }
  echo "path=$path conns=$conns cpu_us=$((after - before)) ${line#MCPGW_WRK }" >>"$out_file"
}

# Interleaved rounds: a label, the paths, the connection counts, the rounds.
rounds_of() {
  local label="$1" these="$2" n="$4" conns path round
  for conns in $3; do
    log "$label$conns connection(s): warm-up, then $n interleaved rounds of ${seconds}s per path"
    for path in $these; do measure "$path" "$conns" 1 "$run_dir/warm-up.txt"; done
    for ((round = 1; round <= n; round++)); do
      for path in $these; do measure "$path" "$conns" "$seconds" "$run_dir/all.txt"; done
    done
  done
}

rounds_of "" "$paths" "$connections" "$rounds"
if [[ -n "$tls_paths" ]]; then
  # NB: twice the rounds by default: the TLS budget is judged at one connection
  # count, and its added p50 subtracts the direct path's, whose median over 5
  # rounds moved the ratio by up to 0.2 between runs of the same build.
  rounds_of "TLS, " "$tls_paths" "${MCPGW_BENCH_TLS_CONNECTIONS:-16}" "${MCPGW_BENCH_TLS_ROUNDS:-$((2 * rounds))}"
fi

if [[ -n "${MCPGW_BENCH_KEEP:-}" ]]; then
  cp "$run_dir/all.txt" "$MCPGW_BENCH_KEEP"
fi
python3 bench/report.py "$run_dir/all.txt" "$run_dir/idle.txt" "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
