#!/usr/bin/env python3
"""Read `kubectl get -o json` output for tests/e2e/run.sh (JSON on stdin).

usage:
  kube_json.py selector                 Deployment -> its label selector (k=v,k=v)
  kube_json.py pods                     PodList -> `name uid restarts` per live pod, sorted
  kube_json.py condition TYPE           object -> status of condition TYPE (or `missing`)
  kube_json.py conditions               object -> `Type=Status (reason: message)` lines
  kube_json.py configmap-sha KEY        ConfigMap -> SHA-256 of data[KEY]'s bytes
  kube_json.py configmap-has KEY TEXT   ConfigMap -> exit 1 unless data[KEY] contains TEXT
  kube_json.py derive-toolkit FROM TO   McpToolkit FROM -> a copy named TO, applyable: the
                                        server metadata and status dropped, spec strings
                                        equal to FROM and URL hosts FROM renamed to TO
  kube_json.py with-credential NAME SECRET KEY
                                        an applyable McpToolkit -> the same upstream as
                                        toolkit NAME, whose credential is key KEY of
                                        Secret SECRET (spec.credentialSecretRef)
  kube_json.py gateway-deployment       the operator's data-plane Deployment follows the
                                        contract (port 7114 `mcp`, probes, config mount)
  kube_json.py gateway-service          the operator's Service exposes port 7114
Exit 1 with a message on stderr when a check does not hold.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys


def fail(message: str) -> None:
    print(f"kube_json.py: {message}", file=sys.stderr)
    sys.exit(1)


def selector(obj: dict) -> None:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not labels:
        fail("the Deployment has no matchLabels")
    print(",".join(f"{k}={v}" for k, v in sorted(labels.items())))


def pods(obj: dict) -> None:
    lines = []
    for pod in obj.get("items") or []:
        md = pod["metadata"]
        if md.get("deletionTimestamp"):
            continue
        restarts = sum(c.get("restartCount", 0) for c in (pod.get("status") or {}).get("containerStatuses") or [])
        lines.append(f"{md['name']} {md['uid']} {restarts}")
    for line in sorted(lines):
        print(line)


def _conditions(obj: dict) -> list[dict]:
    return (obj.get("status") or {}).get("conditions") or []


def condition(obj: dict, kind: str) -> None:
    for c in _conditions(obj):
        if c.get("type") == kind:
            print(c.get("status"))
            return
    print("missing")


def conditions(obj: dict) -> None:
    for c in _conditions(obj):
        print(f"{c.get('type')}={c.get('status')} ({c.get('reason')}: {c.get('message')})")


def configmap_data(obj: dict, key: str) -> str:
    data = obj.get("data") or {}
    if key not in data:
        fail(f"ConfigMap {obj['metadata']['name']} has no key {key} (keys: {sorted(data)})")
    return data[key]


def configmap_sha(obj: dict, key: str) -> None:
    print(hashlib.sha256(configmap_data(obj, key).encode("utf-8")).hexdigest())


def configmap_has(obj: dict, key: str, text: str) -> None:
    if text not in configmap_data(obj, key):
        fail(f"ConfigMap {obj['metadata']['name']} {key} does not mention {text!r}")


def derive_toolkit(obj: dict, old: str, new: str) -> None:
    url_host = re.compile(rf"(://){re.escape(old)}(?=[:/.]|$)")

    def rename(v):
        if isinstance(v, dict):
            return {k: rename(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rename(x) for x in v]
        if isinstance(v, str):
            return new if v == old else url_host.sub(rf"\g<1>{new}", v)
        return v

    md = obj.get("metadata") or {}
    if md.get("name") != old:
        fail(f"expected McpToolkit {old}, got {md.get('name')}")
    annotations = {
        k: v for k, v in (md.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    out = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": {"name": new, "namespace": md.get("namespace")},
        "spec": rename(obj.get("spec") or {}),
    }
    if md.get("labels"):
        out["metadata"]["labels"] = md["labels"]
    if annotations:
        out["metadata"]["annotations"] = annotations
    print(json.dumps(out, indent=2))


def gateway_deployment(obj: dict) -> None:
    problems = []
    spec = obj["spec"]["template"]["spec"]
    containers = spec.get("containers") or []
    mounts = {}
    ok_port = ok_ready = ok_live = False
    for c in containers:
        if any(p.get("containerPort") == 7114 and p.get("name") == "mcp" for p in c.get("ports") or []):
            ok_port = True
            ready = (c.get("readinessProbe") or {}).get("httpGet") or {}
            live = (c.get("livenessProbe") or {}).get("httpGet") or {}
            ok_ready = ready.get("path") == "/readyz" and ready.get("port") in ("mcp", 7114)
            ok_live = live.get("path") == "/healthz" and live.get("port") in ("mcp", 7114)
            mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts") or []}
    if not ok_port:
        problems.append("no container port 7114 named mcp")
    if not ok_ready:
        problems.append("no readiness probe GET /readyz on port mcp")
    if not ok_live:
        problems.append("no liveness probe GET /healthz on port mcp")
    if "/etc/mcpgw/config" not in mounts:
        problems.append(f"the config is not mounted at /etc/mcpgw/config (mounts: {sorted(mounts)})")
    if problems:
        fail("Deployment " + obj["metadata"]["name"] + ": " + "; ".join(problems))


def gateway_service(obj: dict) -> None:
    if not any(p.get("port") == 7114 for p in obj["spec"].get("ports") or []):
        fail(f"Service {obj['metadata']['name']} does not expose port 7114")


def with_credential(obj: dict, name: str, secret: str, key: str) -> None:
    if obj.get("kind") != "McpToolkit":
        fail(f"expected an McpToolkit, got {obj.get('kind')}")
    obj["metadata"] = {"name": name, "namespace": (obj.get("metadata") or {}).get("namespace")}
    spec = obj.setdefault("spec", {})
    spec["toolkit"] = name
    spec["credentialSecretRef"] = {"name": secret, "key": key}
    obj.pop("status", None)
    json.dump(obj, sys.stdout, indent=2)
    print()


def main(argv: list[str]) -> None:
    commands = {
        "selector": (selector, 0),
        "pods": (pods, 0),
        "condition": (condition, 1),
        "conditions": (conditions, 0),
        "configmap-sha": (configmap_sha, 1),
        "configmap-has": (configmap_has, 2),
        "derive-toolkit": (derive_toolkit, 2),
        "with-credential": (with_credential, 3),
        "gateway-deployment": (gateway_deployment, 0),
        "gateway-service": (gateway_service, 0),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    func, _ = commands[argv[1]]
    try:
        obj = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        fail(f"stdin is not JSON: {e}")
    func(obj, *argv[2:])


if __name__ == "__main__":
    main(sys.argv)
