#!/usr/bin/env bash
# Smoke test of the CRD API server, with curl and the client certificate:
# CRD with OpenAPI schema + CEL rule + status subresource -> Established,
# valid object, schema and CEL rejections, status subresource, server-side
# apply, watch, discovery. Starts run.sh itself and stops it at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
out="$work/run.out"

"$here/run.sh" >"$out" 2>"$work/run.err" &
run_pid=$!
trap 'kill -TERM $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1200); do grep -q '^MCPGW_APISERVER_READY ' "$out" && break; kill -0 $run_pid || { cat "$work/run.err"; exit 1; }; sleep 0.1; done
line=$(grep '^MCPGW_APISERVER_READY ' "$out") || { cat "$work/run.err"; exit 1; }
echo "$line"
url=$(sed -n 's/.*url=\([^ ]*\).*/\1/p' <<<"$line")
kubeconfig=$(sed -n 's/.*kubeconfig=\([^ ]*\).*/\1/p' <<<"$line")
pki=$(dirname "$kubeconfig")
k() { curl -sS --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" "$@"; }
py() { python3 -c "import json,sys; o=json.load(sys.stdin); $1"; }
step() { printf '\n== %s\n' "$*"; }

step "no client certificate -> 401"
curl -sS --cacert "$pki/ca.crt" -o /dev/null -w '%{http_code}\n' "$url/readyz"

step "create CRD (schema, CEL rule, status subresource)"
k -X POST -H 'Content-Type: application/yaml' "$url/apis/apiextensions.k8s.io/v1/customresourcedefinitions" --data-binary @- <<'EOF' | py 'print(o["metadata"]["name"], "created")'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.demo.mcpgw.dev}
spec:
  group: demo.mcpgw.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [replicas]
            properties:
              replicas: {type: integer, minimum: 0}
              maxReplicas: {type: integer}
            x-kubernetes-validations:
            - rule: "!has(self.maxReplicas) || self.replicas <= self.maxReplicas"
              message: "replicas must not exceed maxReplicas"
          status:
            type: object
            properties: {ready: {type: boolean}}
EOF
crd="$url/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.demo.mcpgw.dev"
for _ in $(seq 100); do
    k "$crd" | py 'sys.exit(0 if any(c["type"]=="Established" and c["status"]=="True" for c in o.get("status",{}).get("conditions",[])) else 1)' && break
    sleep 0.1
done
k "$crd" | py 'print(", ".join(c["type"]+"="+c["status"] for c in o["status"]["conditions"]))'

step "discovery: /apis (legacy), /apis (aggregated v2), /apis/demo.mcpgw.dev/v1, /api"
k "$url/apis" | py 'print(o["kind"], [(g["name"], g["preferredVersion"]["version"]) for g in o["groups"]])'
k -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' "$url/apis" |
    py 'print(o["kind"], [(g["metadata"]["name"], [v["version"] for v in g["versions"]]) for g in o["items"]])'
k "$url/apis/demo.mcpgw.dev/v1" | py 'print(o["kind"], [r["name"] for r in o["resources"]])'
k "$url/api" | py 'print(o["kind"], o["versions"])'

w="$url/apis/demo.mcpgw.dev/v1/namespaces/default/widgets"
rv=$(k "$w" | py 'print(o["metadata"]["resourceVersion"])')
k -N "$w?watch=true&resourceVersion=$rv&timeoutSeconds=4" >"$work/watch" &
watch_pid=$!
sleep 0.5

create() { k -X POST -H 'Content-Type: application/json' "$w" -d "$1"; }
step "valid object"
create '{"apiVersion":"demo.mcpgw.dev/v1","kind":"Widget","metadata":{"name":"ok"},"spec":{"replicas":2,"maxReplicas":5}}' |
    py 'print("created", o["metadata"]["name"], o["spec"])'
step "schema violation (replicas: -1)"
create '{"apiVersion":"demo.mcpgw.dev/v1","kind":"Widget","metadata":{"name":"bad1"},"spec":{"replicas":-1}}' |
    py 'print(o["code"], o["reason"], "-", o["message"])'
step "CEL violation (replicas 9 > maxReplicas 3)"
create '{"apiVersion":"demo.mcpgw.dev/v1","kind":"Widget","metadata":{"name":"bad2"},"spec":{"replicas":9,"maxReplicas":3}}' |
    py 'print(o["code"], o["reason"], "-", o["message"])'

step "status subresource"
k -X PATCH -H 'Content-Type: application/merge-patch+json' "$w/ok/status" -d '{"status":{"ready":true}}' |
    py 'print("status:", o["status"], "generation:", o["metadata"]["generation"])'
k -X PATCH -H 'Content-Type: application/merge-patch+json' "$w/ok" -d '{"spec":{"replicas":3},"status":{"ready":false}}' |
    py 'print("main resource ignores status:", o["status"], "spec:", o["spec"], "generation:", o["metadata"]["generation"])'

step "server-side apply (fieldManager=mcpgw-test)"
apply() { k -X PATCH -H 'Content-Type: application/apply-patch+yaml' "$w/applied?fieldManager=$1" --data-binary "$2"; }
apply mcpgw-test $'apiVersion: demo.mcpgw.dev/v1\nkind: Widget\nmetadata: {name: applied}\nspec: {replicas: 1}\n' |
    py 'print(o["spec"], [(m["manager"], m["operation"]) for m in o["metadata"]["managedFields"]])'
apply other $'apiVersion: demo.mcpgw.dev/v1\nkind: Widget\nmetadata: {name: applied}\nspec: {replicas: 4}\n' |
    py 'print("conflicting manager:", o["code"], o["reason"], "-", o["message"])'

step "watch events (?watch=true)"
wait $watch_pid || true
while read -r ev; do python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e["type"], e["object"]["metadata"]["name"], "rv="+e["object"]["metadata"]["resourceVersion"])' "$ev"; done <"$work/watch"
