#!/usr/bin/env bash
# The kind end-to-end suite: the chart, the operator and the data plane in a
# real cluster, in front of real MCP servers running in the cluster.
#
#   tests/e2e/run.sh
#
# Needs a Docker engine, kind (v0.33.0, the node image below is built for it),
# kubectl, curl, python3 and openssl on PATH; helm from PATH or, when missing, the
# pinned one of tests/helm/install.sh. Without a reachable Docker engine it
# prints a skip line and exits 0. See tests/e2e/README.md.
#
# Steps: create the cluster (tests/e2e/kind.yaml), build both images from
# docker/*.Dockerfile and load them, helm install the chart, deploy the
# upstreams (tests/e2e/upstreams.yaml) and examples/k8s/, wait for
# McpGateway demo to be Ready, then talk MCP to it through a port-forward with
# curl; add a third McpToolkit and check it is served within 30 s without the
# data-plane pod restarting; add a fourth whose credential Secret appears only
# later and check ResolvedRefs follows it; then give the example's https toolkit
# `internal` its CA bundle and client certificate and call it over mutual TLS.
# The cluster is deleted on exit.
#
# Prints one line per check and `N passed, M failed` last; exits 1 if any failed.
#
# Environment:
#   E2E_CLUSTER          kind cluster name (default mcpgw-e2e)
#   E2E_NODE_IMAGE       kind node image (default: the pinned one below)
#   E2E_LOCAL_PORT       local end of the port-forward to svc/demo (default 7114)
#   E2E_KEEP_CLUSTER=1   keep the cluster after the run (for debugging)
#   E2E_SKIP_BUILD=1     do not build the images (they must exist locally)
set -euo pipefail

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "skipped: no Docker engine (the kind e2e suite needs Docker and kind)"
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/e2e"
cd "$ROOT"

# kind v0.33.0 and the Kubernetes 1.37.0 node image its release notes list
# (the digest pins the build made for that kind release).
readonly KIND_VERSION="v0.33.0"
readonly PINNED_NODE_IMAGE="kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
CLUSTER="${E2E_CLUSTER:-mcpgw-e2e}"
NODE_IMAGE="${E2E_NODE_IMAGE:-$PINNED_NODE_IMAGE}"
LOCAL_PORT="${E2E_LOCAL_PORT:-7114}"
SYSTEM_NS="mcpgw-system"
NS="default" # where the upstreams and examples/k8s/ live
TAG="e2e"
OPERATOR_IMAGE="ghcr.io/mcpgw/mcpgw-operator:$TAG"
DATAPLANE_IMAGE="ghcr.io/mcpgw/mcpgw-dataplane:$TAG"
URL="http://127.0.0.1:$LOCAL_PORT/mcp"
PROTOCOL_VERSION="2025-11-25"
RELOAD_BUDGET=30

PASSED=0
FAILED=0
WORK="$(mktemp -d)"
export KUBECONFIG="$WORK/kubeconfig" # never touch the user's kubeconfig
CLUSTER_CREATED=0
PF_PID=""

log() { printf '==> %s\n' "$*" >&2; }
pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() {
  FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"
  if [ -n "${2:-}" ] && [ -s "$2" ]; then tail -n 40 "$2" | sed 's/^/      /'; fi
}
# check NAME CMD...: one check; the command's output is shown when it fails.
check() {
  local name="$1" out="$WORK/check.out"; shift
  if "$@" >"$out" 2>&1; then pass "$name"; else fail "$name" "$out"; return 1; fi
}
# setup NAME CMD...: a step the rest depends on; its failure ends the run.
setup() {
  local name="$1" out="$WORK/setup.out"; shift
  log "$name"
  if "$@" >"$out" 2>&1; then pass "$name"; else fail "$name" "$out"; exit 1; fi
}

diagnostics() {
  log "diagnostics"
  {
    kubectl get all,mcpgateways,mcptoolkits,configmaps -A -o wide || true
    kubectl -n "$NS" describe mcpgateway demo || true
    kubectl -n "$NS" describe pods || true
    kubectl -n "$SYSTEM_NS" logs deployment/mcpgw --tail=200 || true
    kubectl -n "$NS" logs deployment/demo --tail=200 || true
    kubectl get events -A --sort-by=.lastTimestamp | tail -n 60 || true
  } >&2 2>&1
}

finish() {
  local rc=$?
  if [ -n "$PF_PID" ]; then kill "$PF_PID" 2>/dev/null || true; fi
  if [ "$CLUSTER_CREATED" -eq 1 ]; then
    if { [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; } && [ -s "$KUBECONFIG" ]; then diagnostics; fi
    if [ "${E2E_KEEP_CLUSTER:-0}" = 1 ]; then
      log "keeping cluster $CLUSTER (KUBECONFIG=$WORK/kubeconfig); delete it with: kind delete cluster --name $CLUSTER"
    else
      kind delete cluster --name "$CLUSTER" >&2 2>&1 || true
    fi
  fi
  if [ "${E2E_KEEP_CLUSTER:-0}" != 1 ]; then rm -rf "$WORK"; fi
  # An unexpected exit (not a failed check) still counts as a failure.
  if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then FAILED=1; fi
  echo "$PASSED passed, $FAILED failed"
  if [ "$FAILED" -gt 0 ]; then exit 1; fi
  exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------------

for tool in kind kubectl curl python3 openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "e2e: $tool not found on PATH (see tests/e2e/README.md)" >&2; FAILED=1; exit 1; }
done
HELM="$(command -v helm || true)"
if [ -z "$HELM" ]; then HELM="$("$ROOT/tests/helm/install.sh")/helm"; fi
kind_version="$(kind version | awk '{print $2}')"
if [ "$kind_version" != "$KIND_VERSION" ]; then
  log "warning: kind $kind_version, the suite is pinned to $KIND_VERSION (its node image may not fit)"
fi
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "e2e: a kind cluster named $CLUSTER already exists; delete it (kind delete cluster --name $CLUSTER) or set E2E_CLUSTER" >&2
  FAILED=1
  exit 1
fi
shopt -s nullglob
chart_crds=("$ROOT"/charts/mcpgw/crds/*.yaml)
shopt -u nullglob
if [ "${#chart_crds[@]}" -eq 0 ]; then
  echo "e2e: charts/mcpgw/crds/ has no CRDs; generate them: cargo run -p mcpgw-crds --example gen-crds" >&2
  FAILED=1
  exit 1
fi

# --- cluster, images, chart ----------------------------------------------------

CLUSTER_CREATED=1 # from here on, delete it on exit (a half-created one too)
setup "kind create cluster $CLUSTER ($NODE_IMAGE)" \
  kind create cluster --name "$CLUSTER" --config "$HERE/kind.yaml" --image "$NODE_IMAGE" --wait 120s

if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  export DOCKER_BUILDKIT=1
  setup "docker build $OPERATOR_IMAGE" docker build -f docker/operator.Dockerfile -t "$OPERATOR_IMAGE" .
  setup "docker build $DATAPLANE_IMAGE" docker build -f docker/dataplane.Dockerfile -t "$DATAPLANE_IMAGE" .
fi
setup "kind load docker-image (operator, data plane)" \
  kind load docker-image --name "$CLUSTER" "$OPERATOR_IMAGE" "$DATAPLANE_IMAGE"

setup "helm install mcpgw charts/mcpgw --wait" \
  "$HELM" install mcpgw charts/mcpgw --namespace "$SYSTEM_NS" --create-namespace \
    --set image.tag="$TAG" --set dataplaneImage="$DATAPLANE_IMAGE" \
    --set 'logLevel=info\,mcpgw_operator=debug' --wait --timeout 5m
check "operator Deployment available" \
  kubectl -n "$SYSTEM_NS" wait deployment/mcpgw --for=condition=Available --timeout=60s || true

# --- upstreams and the example gateway ---------------------------------------

apply_upstreams() {
  kubectl -n "$NS" create configmap mcpgw-e2e-time-pins \
    --from-file=requirements-proxy.txt=tests/peers/requirements-proxy.txt &&
    kubectl -n "$NS" apply -f "$HERE/upstreams.yaml" &&
    kubectl -n "$NS" rollout status deployment/everything --timeout=10m &&
    kubectl -n "$NS" rollout status deployment/time --timeout=10m &&
    kubectl -n "$NS" rollout status deployment/more --timeout=10m
}
setup "upstreams everything, time and more are ready" apply_upstreams

# examples/k8s/selector.yaml's gateway `public` shares a session key that its
# comment says to create first; create it so that the whole directory applies
# as documented (only `demo` is checked).
apply_examples() {
  kubectl -n "$NS" create secret generic public-session-key \
    --from-literal=session.key="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" &&
    kubectl -n "$NS" apply -f examples/k8s/
}
setup "kubectl apply -f examples/k8s/" apply_examples
check "McpGateway demo is Ready" kubectl -n "$NS" wait mcpgateway/demo --for=condition=Ready --timeout=3m || true

kube_json() { python3 "$HERE/kube_json.py" "$@"; }
gateway_conditions() { # -> fails unless Accepted, Programmed and Ready are True
  local json t s
  json="$(kubectl -n "$NS" get mcpgateway demo -o json)" || return 1
  kube_json conditions <<<"$json"
  for t in Accepted Programmed Ready; do
    s="$(kube_json condition "$t" <<<"$json")"
    [ "$s" = True ] || { echo "condition $t is $s"; return 1; }
  done
}
check "McpGateway demo: Accepted, Programmed and Ready are True" gateway_conditions || true

configmap_rendered() { kubectl -n "$NS" get configmap demo-config -o json | kube_json configmap-has config.yaml bindings; }
deployment_contract() { kubectl -n "$NS" get deployment demo -o json | kube_json gateway-deployment; }
service_contract() { kubectl -n "$NS" get service demo -o json | kube_json gateway-service; }
check "ConfigMap demo-config holds config.yaml" configmap_rendered || true
check "Deployment demo: port 7114 (mcp), probes, config mount" deployment_contract || true
check "Service demo exposes 7114" service_contract || true
check "ServiceAccount demo exists" kubectl -n "$NS" get serviceaccount demo || true

# --- MCP through a port-forward ----------------------------------------------

start_port_forward() {
  kubectl -n "$NS" port-forward svc/demo "$LOCAL_PORT:7114" >"$WORK/port-forward.log" 2>&1 &
  PF_PID=$!
  local _
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$LOCAL_PORT/healthz"; then return 0; fi
    if ! kill -0 "$PF_PID" 2>/dev/null; then cat "$WORK/port-forward.log"; return 1; fi
    sleep 0.5
  done
  echo "no answer on 127.0.0.1:$LOCAL_PORT/healthz after 30 s"; cat "$WORK/port-forward.log"; return 1
}
setup "port-forward svc/demo $LOCAL_PORT:7114" start_port_forward

RPC_ID=0
SID=""
# rpc METHOD PARAMS_JSON: POST a request on session $SID; the JSON-RPC
# response lands in $WORK/response.json.
rpc() {
  RPC_ID=$((RPC_ID + 1))
  local body status
  body="$(printf '{"jsonrpc":"2.0","id":%d,"method":"%s","params":%s}' "$RPC_ID" "$1" "$2")"
  local args=(-sS --max-time 60 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}'
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream')
  if [ -n "$SID" ]; then args+=(-H "mcp-session-id: $SID" -H "mcp-protocol-version: $PROTOCOL_VERSION"); fi
  status="$(curl "${args[@]}" --data-binary "$body" "$URL")" || return 1
  if [ "$status" != 200 ]; then echo "$1: HTTP $status"; cat "$WORK/body"; return 1; fi
  python3 "$HERE/mcp_reply.py" response "$WORK/body" "$WORK/headers" "$RPC_ID" >"$WORK/response.json"
}

initialize() {
  SID=""
  rpc initialize "{\"protocolVersion\":\"$PROTOCOL_VERSION\",\"capabilities\":{},\"clientInfo\":{\"name\":\"mcpgw-e2e\",\"version\":\"0\"}}" || return 1
  SID="$(awk 'tolower($1) == "mcp-session-id:" { print $2 }' "$WORK/headers" | tr -d '\r' | tail -n 1)"
  [ -n "$SID" ] || { echo "no Mcp-Session-Id on the initialize reply"; cat "$WORK/headers"; return 1; }
  local status
  status="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' \
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -H "mcp-session-id: $SID" -H "mcp-protocol-version: $PROTOCOL_VERSION" \
    --data-binary '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$URL")"
  [ "$status" = 202 ] || { echo "notifications/initialized: HTTP $status, want 202"; return 1; }
}

# list_tools: every tool name of the session, one per line, following cursors.
list_tools() {
  local params='{}' page next
  : >"$WORK/tools"
  for page in $(seq 1 50); do
    rpc tools/list "$params" || return 1
    python3 "$HERE/mcp_reply.py" tool-names "$WORK/response.json" >"$WORK/page" || return 1
    grep -v '^NEXT ' "$WORK/page" >>"$WORK/tools" || true
    next="$(sed -n 's/^NEXT //p' "$WORK/page")"
    if [ -z "$next" ]; then cat "$WORK/tools"; return 0; fi
    params="$(python3 -c 'import json, sys; print(json.dumps({"cursor": sys.argv[1]}))' "$next")"
  done
  echo "tools/list: more than $page pages"; return 1
}

has_tools() { # NAME...: the session's tools/list has every NAME
  local t
  list_tools >"$WORK/names" || { cat "$WORK/names"; return 1; }
  for t in "$@"; do
    grep -qx "$t" "$WORK/names" || { echo "$t missing from tools/list:"; cat "$WORK/names"; return 1; }
  done
}

call_tool() { # NAME ARGS_JSON EXPECTED_TEXT_REGEX
  rpc tools/call "{\"name\":\"$1\",\"arguments\":$2}" || return 1
  python3 "$HERE/mcp_reply.py" call-text "$WORK/response.json" >"$WORK/text" || { cat "$WORK/text"; return 1; }
  grep -Eq "$3" "$WORK/text" || { echo "$1: result does not match /$3/:"; cat "$WORK/text"; return 1; }
}

# The gateway serves the bytes the operator rendered: /readyz names the SHA-256
# of the applied file, which must be that of the ConfigMap's config.yaml.
serves_configmap() {
  local want got
  want="$(kubectl -n "$NS" get configmap demo-config -o json | kube_json configmap-sha config.yaml)" || return 1
  curl -fsS --max-time 10 -o "$WORK/readyz" "http://127.0.0.1:$LOCAL_PORT/readyz" || return 1
  got="$(python3 "$HERE/mcp_reply.py" readyz-sha "$WORK/readyz")" || return 1
  [ "$want" = "$got" ] || { echo "/readyz serves $got, ConfigMap demo-config holds $want"; cat "$WORK/readyz"; return 1; }
}

dataplane_pods() { # -> `name uid restarts` of the demo Deployment's pods
  local sel
  sel="$(kubectl -n "$NS" get deployment demo -o json | kube_json selector)" || return 1
  kubectl -n "$NS" get pods -l "$sel" -o json | kube_json pods
}

if check "initialize returns a session id" initialize; then
  check "tools/list has everything__echo and time__get_current_time" \
    has_tools everything__echo time__get_current_time || true
  check "tools/call everything__echo answers through the gateway" \
    call_tool everything__echo '{"message":"hello from mcpgw e2e"}' 'hello from mcpgw e2e' || true
  check "tools/call time__get_current_time answers through the gateway" \
    call_tool time__get_current_time '{"timezone":"UTC"}' '[0-9]{4}-[0-9]{2}-[0-9]{2}' || true
fi
check "/readyz serves the ConfigMap's config" serves_configmap || true

# --- hot reload: a third toolkit ---------------------------------------------

record_pods() { dataplane_pods >"$WORK/pods-before" && [ -s "$WORK/pods-before" ] && cat "$WORK/pods-before"; }
setup "data-plane pods recorded (name, UID, restartCount)" record_pods

# The third toolkit is a copy of the example's `everything` McpToolkit renamed
# to `more` and pointed at svc/more (a second server-everything), so the suite
# does not restate the McpToolkit schema.
add_toolkit_more() {
  kubectl -n "$NS" get mcptoolkit everything -o json | kube_json derive-toolkit everything more >"$WORK/more.json" &&
    cat "$WORK/more.json" &&
    kubectl -n "$NS" apply -f "$WORK/more.json"
}
setup "kubectl apply McpToolkit more (svc/more)" add_toolkit_more
APPLIED_AT=$SECONDS

wait_for_more() { # on the session opened before the change
  local deadline=$((APPLIED_AT + RELOAD_BUDGET))
  until has_tools more__echo everything__echo time__get_current_time; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 1
  done
  echo "$((SECONDS - APPLIED_AT))" >"$WORK/reload-seconds"
}
if [ -n "$SID" ]; then
  if check "tools/list shows more__echo within ${RELOAD_BUDGET} s, same session" wait_for_more; then
    printf '      (listed %s s after the apply)\n' "$(cat "$WORK/reload-seconds")"
  fi
  check "tools/call more__echo answers" call_tool more__echo '{"message":"hello more"}' 'hello more' || true
else
  fail "tools/list shows more__echo within ${RELOAD_BUDGET} s (no session to ask)"
fi

check "McpToolkit more is Accepted" \
  kubectl -n "$NS" wait mcptoolkit/more --for=condition=Accepted --timeout=30s || true

same_pods() {
  dataplane_pods >"$WORK/pods-after" || return 1
  diff -u "$WORK/pods-before" "$WORK/pods-after" || { echo "(name uid restartCount) changed"; return 1; }
}
check "data-plane pods kept their UID and restartCount" same_pods || true

configmap_names_more() { kubectl -n "$NS" get configmap demo-config -o json | kube_json configmap-has config.yaml more; }
check "ConfigMap demo-config names toolkit more" configmap_names_more || true
check "/readyz serves the new ConfigMap" serves_configmap || true
check "McpGateway demo is Ready after the reload" \
  kubectl -n "$NS" wait mcpgateway/demo --for=condition=Ready --timeout=60s || true
check "McpGateway demo: Accepted, Programmed and Ready are True after the reload" gateway_conditions || true

# --- a toolkit credential from a Secret --------------------------------------

# McpToolkit `keyed` reaches svc/more with the gateway's own key from a Secret
# that does not exist yet: the toolkit reports ResolvedRefs=False, then True
# once the Secret is created, and the key's value never lands in the ConfigMap.
add_toolkit_keyed() {
  kube_json with-credential keyed e2e-keyed-token token <"$WORK/more.json" >"$WORK/keyed.json" &&
    kubectl -n "$NS" apply -f "$WORK/keyed.json"
}
setup "kubectl apply McpToolkit keyed (its credential Secret not created yet)" add_toolkit_keyed
check "McpToolkit keyed: ResolvedRefs=False while its Secret is missing" \
  kubectl -n "$NS" wait mcptoolkit/keyed --for=condition=ResolvedRefs=False --timeout=60s || true
setup "kubectl create secret generic e2e-keyed-token" \
  kubectl -n "$NS" create secret generic e2e-keyed-token --from-literal=token=e2e-keyed-value
check "McpToolkit keyed: ResolvedRefs=True once the Secret exists" \
  kubectl -n "$NS" wait mcptoolkit/keyed --for=condition=ResolvedRefs=True --timeout=120s || true

# A new mount rolls the data-plane pods, which ends the port-forward (it
# holds one pod): re-open it whenever /healthz stops answering.
served_after_rollout() { # TOOL: a new session lists TOOL
  local deadline=$((SECONDS + 240))
  until initialize && has_tools "$1"; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 2
    if ! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$LOCAL_PORT/healthz"; then
      kubectl -n "$NS" rollout status deployment/demo --timeout=2m || true
      kill "$PF_PID" 2>/dev/null || true
      start_port_forward || true
    fi
  done
}
check "tools/list shows keyed__echo" served_after_rollout keyed__echo || true
no_value_in_configmap() {
  if kubectl -n "$NS" get configmap demo-config -o json | grep -q e2e-keyed-value; then
    echo "the Secret's value is in ConfigMap demo-config"
    return 1
  fi
}
check "the Secret's value is not in ConfigMap demo-config" no_value_in_configmap || true

# --- an https toolkit with a CA bundle and a client certificate --------------

# examples/k8s/tls.yaml's McpToolkit `internal` (applied with the examples) calls
# svc/internal-mcp, a TLS front for svc/more that demands a client certificate
# (tests/e2e/tls-upstream.yaml), with a CA bundle and a client certificate from
# Secrets that do not exist yet: it reports ResolvedRefs=False, then True once
# they are created from tests/e2e/tls_certs.sh's throw-away CA; a new session
# calls internal__echo over mutual TLS; and no certificate or key lands in the
# ConfigMap, which names the mounted files instead. Not yet run anywhere (no
# Docker where it was written).
check "McpToolkit internal: ResolvedRefs=False while its Secrets are missing" \
  kubectl -n "$NS" wait mcptoolkit/internal --for=condition=ResolvedRefs=False --timeout=60s || true
deploy_tls_upstream() {
  "$HERE/tls_certs.sh" "$WORK/tls" "internal-mcp.$NS.svc" &&
    kubectl -n "$NS" create secret generic internal-mcp-server \
      --from-file=tls.crt="$WORK/tls/server.crt" --from-file=tls.key="$WORK/tls/server.key" \
      --from-file=ca.crt="$WORK/tls/ca.crt" &&
    kubectl -n "$NS" create configmap mcpgw-e2e-tls-proxy --from-file=tls_proxy.js="$HERE/tls_proxy.js" &&
    kubectl -n "$NS" apply -f "$HERE/tls-upstream.yaml" &&
    kubectl -n "$NS" rollout status deployment/internal-mcp --timeout=5m
}
setup "TLS upstream internal-mcp (client certificates required) is ready" deploy_tls_upstream
create_tls_secrets() {
  kubectl -n "$NS" create secret generic internal-mcp-ca --from-file=ca.crt="$WORK/tls/ca.crt" &&
    kubectl -n "$NS" create secret tls internal-mcp-client \
      --cert="$WORK/tls/client.crt" --key="$WORK/tls/client.key"
}
setup "kubectl create secret internal-mcp-ca and internal-mcp-client" create_tls_secrets
check "McpToolkit internal: ResolvedRefs=True once its Secrets exist" \
  kubectl -n "$NS" wait mcptoolkit/internal --for=condition=ResolvedRefs=True --timeout=120s || true
if check "tools/list shows internal__echo" served_after_rollout internal__echo; then
  check "tools/call internal__echo answers over mutual TLS" \
    call_tool internal__echo '{"message":"hello over mTLS"}' 'hello over mTLS' || true
fi
tls_files_named_not_copied() {
  kubectl -n "$NS" get configmap demo-config -o json >"$WORK/demo-config.json" || return 1
  if grep -q -e 'BEGIN CERTIFICATE' -e 'PRIVATE KEY' "$WORK/demo-config.json"; then
    echo "a certificate or key is in ConfigMap demo-config"; return 1
  fi
  kube_json configmap-has config.yaml /etc/mcpgw/tls/internal/ca.crt <"$WORK/demo-config.json"
}
check "ConfigMap demo-config names the TLS files, holds no certificate or key" tls_files_named_not_copied || true
