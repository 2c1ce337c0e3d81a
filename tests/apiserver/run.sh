#!/usr/bin/env bash
# Start a throw-away CRD API server for tests: etcd + crd-apiserver, both in
# one process group of their own, with state in a fresh temporary directory.
#
# Prints exactly one line on stdout once /readyz answers 200:
#   MCPGW_APISERVER_READY url=https://127.0.0.1:PORT kubeconfig=PATH
# then keeps running until SIGTERM/SIGINT (or until either process dies), at
# which point it terminates the process group and removes the temporary
# directory (so the kubeconfig is only valid while this script runs).
#
# Environment:
#   MCPGW_APISERVER_PORT=N      HTTPS port of the API server (default 0: any free)
#   MCPGW_APISERVER_CERT_DIR=D  keep certificates + kubeconfig in D (created,
#                               reused, not removed) instead of the temp dir
#   MCPGW_APISERVER_LOG_DIR=D   write etcd.log / apiserver.log there (kept)
#                               instead of the temp dir
#   MCPGW_APISERVER_READY_TIMEOUT=SECONDS  (default 120)
# Build-related variables (MCPGW_CACHE, ...) are those of build.sh, which this
# script runs first (a no-op when the build is cached).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[apiserver/run] %s\n' "$*" >&2; }

server_bin=$("$here/build.sh" | tail -n1)
etcd_bin="$(dirname "$server_bin")/etcd"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-apiserver.XXXXXX")
cert_dir="${MCPGW_APISERVER_CERT_DIR:-$tmp/pki}"
log_dir="${MCPGW_APISERVER_LOG_DIR:-$tmp}"
mkdir -p "$log_dir"
ready_timeout="${MCPGW_APISERVER_READY_TIMEOUT:-120}"
pgid=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$pgid" ]] && kill -0 -- "-$pgid" 2>/dev/null; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        # The API server drains within a few seconds; don't wait forever.
        for _ in $(seq 100); do
            kill -0 -- "-$pgid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if (( rc != 0 && rc != 130 && rc != 143 )); then
        for f in "$log_dir/etcd.log" "$log_dir/apiserver.log"; do
            [[ -s "$f" ]] && { log "--- last lines of $f"; tail -n 30 "$f" >&2; }
        done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Ports that something is listening on (IPv4 and IPv6), from /proc.
listening_ports() {
    awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -un
}
free_port() {
    local used p
    used=" $(listening_ports | tr '\n' ' ') $* "
    while :; do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        [[ "$used" == *" $p "* ]] || { echo "$p"; return; }
    done
}

# The process group: etcd (retried on another port pair if it cannot bind),
# then the API server exec'd in place of this subshell, so the server is the
# group leader and etcd its child.
group() {
    local attempt cport pport epid
    for attempt in 1 2 3 4 5; do
        cport=$(free_port)
        pport=$(free_port "$cport")
        "$etcd_bin" --name default --data-dir "$tmp/etcd" \
            --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
            --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
            --initial-cluster "default=http://127.0.0.1:$pport" --initial-cluster-state new \
            >>"$log_dir/etcd.log" 2>&1 &
        epid=$!
        for _ in $(seq 200); do
            kill -0 "$epid" 2>/dev/null || break
            if (exec 3<>"/dev/tcp/127.0.0.1/$cport") 2>/dev/null; then
                exec "$server_bin" --etcd-servers "http://127.0.0.1:$cport" \
                    --bind-address 127.0.0.1 --port "${MCPGW_APISERVER_PORT:-0}" \
                    --cert-dir "$cert_dir" --ready-timeout "${ready_timeout}s" \
                    >"$tmp/apiserver.out" 2>>"$log_dir/apiserver.log"
            fi
            sleep 0.05
        done
        kill -KILL "$epid" 2>/dev/null || true
        wait "$epid" 2>/dev/null || true
        rm -rf "$tmp/etcd"
        echo "etcd did not start on ports $cport/$pport (attempt $attempt)" >>"$log_dir/etcd.log"
    done
    exit 1
}

set -m # the next background job gets a process group of its own
group </dev/null &
pgid=$!
set +m
log "etcd + crd-apiserver in process group $pgid; logs in $log_dir; state in $tmp"

deadline=$(( SECONDS + ready_timeout + 10 ))
line=""
while [[ -z "$line" ]]; do
    line=$(grep -m1 '^MCPGW_APISERVER_READY ' "$tmp/apiserver.out" 2>/dev/null || true)
    [[ -n "$line" ]] && break
    kill -0 "$pgid" 2>/dev/null || { log "the API server exited before becoming ready"; exit 1; }
    (( SECONDS < deadline )) || { log "not ready after ${ready_timeout}s"; exit 1; }
    sleep 0.1
done
echo "$line"

# Run until signalled, or until the server (the group leader) exits.
set +e
wait "$pgid"
rc=$?
set -e
log "the API server exited (status $rc)"
exit 1
