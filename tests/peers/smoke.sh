#!/usr/bin/env bash
# End-to-end smoke test of the peer harness (and a reference implementation
# of the readiness protocol in shell):
#   * starts `everything`, `time`, `paging` and `auth` with PORT=0 via run-peer.sh,
#     each in its own session (setsid), and learns the port from the
#     readiness line;
#   * curl initialize against each;
#   * Inspector CLI tools/list + tools/call against each;
#   * py_client.py against everything (expects no step errors);
#   * paging: walks every list by nextCursor, a bad cursor gets -32602, and
#     set-tool-count sends tools/list_changed on the GET stream;
#   * auth: initialize, the Inspector calls whoami ("none"), and /records
#     shows the requests it recorded;
#   * with --conformance: conformance.sh against everything;
#   * stops every process group and checks that nothing is left running.
# Exit 0 when every check passed.
set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_HOME="${MCPGW_PEERS_HOME:-${HOME}/.cache/mcpgw/peers}"
READY_TIMEOUT=30

usage() {
  echo "usage: $(basename "$0") [--conformance]" >&2
}

RUN_CONFORMANCE=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --conformance) RUN_CONFORMANCE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
  shift
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-smoke.XXXXXX")"
declare -A PEER_PID PEER_PORT
FAILURES=0

ok() { printf 'ok    %s\n' "$*"; }
bad() { printf 'FAIL  %s\n' "$*"; FAILURES=$((FAILURES + 1)); }

# All processes in a session (setsid makes the peer its own session leader,
# and mcp-proxy's stdio child is a member of a *different* session, so list
# the peer's descendants too).
descendants() {
  local p
  for p in $(pgrep -P "$1" || true); do echo "$p"; descendants "$p"; done
}

stop_peer() {
  local name="$1" pid="${PEER_PID[$1]:-}"
  [ -n "$pid" ] || return 0
  local procs
  procs="$pid $(descendants "$pid" | tr '\n' ' ')"
  kill -TERM -- "-$pid" 2>/dev/null || true
  local _
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    # reaped below; a zombie child of ours still answers kill -0
    if grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sleep 0.3
  local left="" p
  for p in $procs; do
    if [ -d "/proc/$p" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; then
      left="$left $p"
    fi
  done
  unset "PEER_PID[$name]"
  if [ -z "$left" ]; then ok "$name stopped, nothing left running (pids: $procs)"; else bad "$name left processes:$left"; fi
}

cleanup() {
  local name
  for name in "${!PEER_PID[@]}"; do stop_peer "$name" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

start_peer() {
  local name="$1" fifo="$WORK/$1.fifo" line port=""
  mkfifo "$fifo"
  PORT=0 setsid "$SELF_DIR/run-peer.sh" "$name" 2>"$fifo" >"$WORK/$name.stdout" </dev/null &
  PEER_PID[$name]=$!
  exec {fd}<"$fifo"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ] && IFS= read -r -t "$READY_TIMEOUT" line <&"$fd"; do
    echo "$line" >>"$WORK/$name.stderr"
    case "$line" in
      "MCPGW_PEER_READY port="*) port="${line#MCPGW_PEER_READY port=}"; break ;;
    esac
  done
  # keep draining the peer's stderr so it never blocks on a full pipe
  cat <&"$fd" >>"$WORK/$name.stderr" &
  exec {fd}<&-
  if [ -z "$port" ]; then
    bad "$name: no readiness line within ${READY_TIMEOUT}s; stderr:"
    sed 's/^/      /' "$WORK/$name.stderr" | tail -n 20
    return 1
  fi
  PEER_PORT[$name]="$port"
  ok "$name ready on 127.0.0.1:$port (pid ${PEER_PID[$name]})"
  if ss -ltnH "sport = :$port" 2>/dev/null | grep -qv '127.0.0.1:'; then
    bad "$name: port $port is bound on a non-loopback address"
  fi
}

curl_initialize() {
  local name="$1" url="http://127.0.0.1:${PEER_PORT[$1]}/mcp" out
  out="$(curl -sS -i --max-time 10 -X POST "$url" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"form":{},"url":{}},"sampling":{}},"clientInfo":{"name":"curl-probe","version":"0.0.1"}}}')" \
    || { bad "$name: curl initialize failed"; return 0; }
  if printf '%s' "$out" | head -n 1 | grep -q ' 200' && printf '%s' "$out" | grep -q '"serverInfo"'; then
    ok "$name: curl initialize -> 200, $(printf '%s' "$out" | grep -o '"serverInfo":{[^}]*}' | head -n 1)"
  else
    bad "$name: unexpected initialize response:"; printf '%s\n' "$out" | head -n 15 | sed 's/^/      /'
  fi
}

inspector() {
  local name="$1" tool="$2" args="$3" expect="$4" url="http://127.0.0.1:${PEER_PORT[$1]}/mcp" out
  if out="$("$SELF_DIR/inspector.sh" "$url" --transport http --method tools/list --format json 2>>"$WORK/inspector.err")" \
     && printf '%s' "$out" | grep -q "\"name\":\"$tool\""; then
    ok "$name: inspector tools/list lists $tool"
  else
    bad "$name: inspector tools/list: ${out:0:300}"
  fi
  if out="$("$SELF_DIR/inspector.sh" "$url" --transport http --method tools/call --tool-name "$tool" \
        --tool-args-json "$args" --format json 2>>"$WORK/inspector.err")" \
     && printf '%s' "$out" | grep -q "$expect"; then
    ok "$name: inspector tools/call $tool -> ${out:0:120}"
  else
    bad "$name: inspector tools/call $tool: ${out:0:300}"
  fi
}

# The paging peer over raw HTTP (Python stdlib only): list walks, a bad
# cursor, and tools/list_changed on the standalone GET stream.
paging_checks() {
  "$PEERS_HOME/venv/bin/python" - "$1" <<'PY'
import json, sys, threading, urllib.request

url = sys.argv[1]
base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

def post(body, sid=None):
    headers = dict(base)
    if sid:
        headers.update({"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"})
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        data = resp.read().decode()
        sid = resp.headers.get("mcp-session-id")
    msgs = [json.loads(l[6:]) for l in data.splitlines() if l.startswith("data: ")] or ([json.loads(data)] if data.strip() else [])
    return (msgs[-1] if msgs else None), sid

init, sid = post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "smoke", "version": "0"}}})
caps = init["result"]["capabilities"]
assert all(caps[k]["listChanged"] for k in ("tools", "prompts", "resources")), caps
post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)

def walk(method, field):
    names, pages, cursor = [], 0, None
    while True:
        msg, _ = post({"jsonrpc": "2.0", "id": 2, "method": method, "params": {"cursor": cursor} if cursor else {}}, sid)
        pages += 1
        names += [x.get("name") for x in msg["result"][field]]
        cursor = msg["result"].get("nextCursor")
        if not cursor:
            return names, pages

walks = {m: walk(m, f) for m, f in (("tools/list", "tools"), ("prompts/list", "prompts"), ("resources/list", "resources"))}
assert walks["tools/list"] == ([f"tool-{n:02d}" for n in range(1, 24)] + ["set-tool-count"], 5), walks["tools/list"]
assert walks["prompts/list"] == ([f"prompt-{n:02d}" for n in range(1, 13)], 3), walks["prompts/list"]
assert walks["resources/list"][0] == [f"resource-{n:02d}" for n in range(1, 28)] and walks["resources/list"][1] == 3
bad, _ = post({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"cursor": "garbled"}}, sid)
assert bad["error"]["code"] == -32602, bad

# Standalone GET stream: read it in a thread until list_changed arrives.
got, opened = threading.Event(), threading.Event()
def listen():
    req = urllib.request.Request(url, headers={"Accept": "text/event-stream", "mcp-session-id": sid,
                                               "mcp-protocol-version": "2025-11-25"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        opened.set()
        for line in resp:
            if b"notifications/tools/list_changed" in line:
                got.set()
                return
threading.Thread(target=listen, daemon=True).start()
assert opened.wait(10), "GET stream did not open"
res, _ = post({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "set-tool-count", "arguments": {"count": 7}}}, sid)
assert res["result"]["content"][0]["text"] == "now 7 tools", res
assert got.wait(10), "no notifications/tools/list_changed on the GET stream"
after = walk("tools/list", "tools")
assert after == ([f"tool-{n:02d}" for n in range(1, 8)] + ["set-tool-count"], 2), after
print("tools 24 in 5 pages, prompts 12 in 3, resources 27 in 3, bad cursor -32602, "
      "set-tool-count 7 -> list_changed on GET, then 8 tools in 2 pages")
PY
}

[ -x "$PEERS_HOME/venv/bin/python" ] || { echo "smoke.sh: peers not installed; run $SELF_DIR/install.sh" >&2; exit 1; }

start_peer everything || true
start_peer time || true
start_peer paging || true
start_peer auth || true

if [ -n "${PEER_PORT[everything]:-}" ]; then
  curl_initialize everything
  inspector everything get-sum '{"a":2,"b":40}' 'The sum of 2 and 40 is 42'
  if json="$("$PEERS_HOME/venv/bin/python" "$SELF_DIR/py_client.py" "http://127.0.0.1:${PEER_PORT[everything]}/mcp" 2>"$WORK/py_client.err")" \
     && printf '%s' "$json" | "$PEERS_HOME/venv/bin/python" -c '
import json, sys
r = json.load(sys.stdin)
assert r["errors"] == [], r["errors"]
assert len(r["progress"]["notifications"]) == 3
assert "Ada" in r["elicitation_form"]["result_text"]
assert r["elicitation_url_error"]["code"] == -32042
assert "hello from py_client" in r["sampling"]["result_text"]
print("negotiated %s, %d tools" % (r["negotiated_version"], len(r["tools"])))
' >"$WORK/py_check.out" 2>&1; then
    ok "everything: py_client.py all steps ($(cat "$WORK/py_check.out"))"
  else
    bad "everything: py_client.py: $(tail -n 3 "$WORK/py_check.out" 2>/dev/null) ${json:0:400}"
  fi
  if [ "$RUN_CONFORMANCE" -eq 1 ]; then
    if msg="$("$SELF_DIR/conformance.sh" "http://127.0.0.1:${PEER_PORT[everything]}/mcp" "$WORK/conformance.txt")"; then
      ok "everything: $msg"
    else
      bad "everything: conformance.sh could not run"
    fi
  fi
fi

if [ -n "${PEER_PORT[time]:-}" ]; then
  curl_initialize time
  inspector time get_current_time '{"timezone":"UTC"}' '\\"timezone\\": \\"UTC\\"'
fi

if [ -n "${PEER_PORT[paging]:-}" ]; then
  curl_initialize paging
  inspector paging tool-02 '{"x":1}' 'tool-02 called with {\\"x\\":1}'
  if msg="$(paging_checks "http://127.0.0.1:${PEER_PORT[paging]}/mcp" 2>"$WORK/paging_checks.err")"; then
    ok "paging: $msg"
  else
    bad "paging: ${msg:-} $(tail -n 3 "$WORK/paging_checks.err")"
  fi
fi

if [ -n "${PEER_PORT[auth]:-}" ]; then
  curl_initialize auth
  inspector auth whoami '{}' 'none'
  records="$(curl -sS --max-time 10 "http://127.0.0.1:${PEER_PORT[auth]}/records" || true)"
  if printf '%s' "$records" | grep -q '"authorization": *null'; then
    ok "auth: /records lists the requests, with no Authorization header"
  else
    bad "auth: unexpected /records: ${records:0:300}"
  fi
fi

for name in everything time paging auth; do stop_peer "$name"; done

if [ "$FAILURES" -eq 0 ]; then echo "smoke: all checks passed"; else echo "smoke: $FAILURES check(s) failed"; exit 1; fi
