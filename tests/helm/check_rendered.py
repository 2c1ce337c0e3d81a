#!/usr/bin/env python3
"""Check `helm template` output of charts/mcpgw against the operator contract.

usage: check_rendered.py {rbac,operator} RENDERED.yaml --namespace NS
           [--watch a,b] [--no-leader-election] [--lease-name NAME]
           [--operator-image IMG] [--dataplane-image IMG] [--log-level LVL]

rbac:     the RBAC objects grant exactly the contract: the watch rules
          cluster-wide (ClusterRole + ClusterRoleBinding) when no namespace is
          watched, else a Role + RoleBinding in each watched namespace and
          nothing cluster-wide; Lease rights only in the release namespace and
          only with leader election. No wildcard, no resourceNames or
          nonResourceURLs, no verb or resource beyond the contract, none missing.
operator: the operator Deployment, ServiceAccount and metrics Service carry the
          contract's environment, downward API, probes, port and hardening.

Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

import yaml

RBAC_GROUP = "rbac.authorization.k8s.io"

# (apiGroup, resource) -> verbs, wherever the operator watches its resources.
WATCH_RULES: dict[tuple[str, str], set[str]] = {
    ("mcpgw.dev", "mcpgateways"): {"get", "list", "watch"},
    ("mcpgw.dev", "mcptoolkits"): {"get", "list", "watch"},
    ("mcpgw.dev", "mcpgateways/status"): {"get", "patch", "update"},
    ("mcpgw.dev", "mcptoolkits/status"): {"get", "patch", "update"},
    ("", "configmaps"): {"get", "list", "watch", "create", "patch"},
    ("", "services"): {"get", "list", "watch", "create", "patch"},
    ("", "serviceaccounts"): {"get", "list", "watch", "create", "patch"},
    ("apps", "deployments"): {"get", "list", "watch", "create", "patch"},
    # get: which keys a referenced Secret holds (session key, JWT keys, toolkit
    # credentials); list/watch: their metadata, to re-reconcile when one appears.
    ("", "secrets"): {"get", "list", "watch"},
    ("", "pods"): {"get", "list", "watch"},
    ("events.k8s.io", "events"): {"create", "patch"},
}

# Leader election, in the release namespace only.
LEASE_RULES: dict[tuple[str, str], set[str]] = {
    ("coordination.k8s.io", "leases"): {"get", "create", "update", "patch"},
}

ALLOWED_KINDS = {
    "ServiceAccount",
    "Deployment",
    "Service",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "CustomResourceDefinition",
}


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def expect(self, cond: bool, message: str) -> bool:
        if not cond:
            self.add(message)
        return cond


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def ident(obj: dict) -> str:
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    name = md.get("name", "?")
    return f"{obj.get('kind', '?')} {ns + '/' if ns else ''}{name}"


def rule_grants(obj: dict, problems: Problems) -> dict[tuple[str, str], set[str]]:
    """Flatten a role's rules into (group, resource) -> verbs, refusing what
    the contract never needs."""
    grants: dict[tuple[str, str], set[str]] = defaultdict(set)
    rules = obj.get("rules")
    if not isinstance(rules, list) or not rules:
        problems.add(f"{ident(obj)}: no rules")
        return grants
    if obj.get("aggregationRule") is not None:
        problems.add(f"{ident(obj)}: aggregationRule is not part of the contract")
    for i, rule in enumerate(rules):
        where = f"{ident(obj)} rules[{i}]"
        for field in ("resourceNames", "nonResourceURLs"):
            if rule.get(field):
                problems.add(f"{where}: {field} is not part of the contract")
        groups = rule.get("apiGroups") or []
        resources = rule.get("resources") or []
        verbs = rule.get("verbs") or []
        if not (groups and resources and verbs):
            problems.add(f"{where}: needs apiGroups, resources and verbs")
        for field, values in (("apiGroups", groups), ("resources", resources), ("verbs", verbs)):
            if any("*" in str(v) for v in values):
                problems.add(f"{where}: wildcard in {field}: {values}")
        for g in groups:
            for r in resources:
                grants[(g, r)].update(verbs)
    return grants


def compare(obj: dict, want: dict[tuple[str, str], set[str]], problems: Problems) -> None:
    got = rule_grants(obj, problems)
    for key in sorted(set(got) | set(want)):
        group, resource = key
        label = f"{group or 'core'}/{resource}"
        extra = got.get(key, set()) - want.get(key, set())
        missing = want.get(key, set()) - got.get(key, set())
        if key not in want:
            problems.add(f"{ident(obj)}: grants {label} {sorted(extra)}, beyond the contract")
            continue
        if extra:
            problems.add(f"{ident(obj)}: grants {label} {sorted(extra)}, beyond the contract")
        if missing:
            problems.add(f"{ident(obj)}: lacks {label} {sorted(missing)}, which the operator needs")


def check_rbac(docs: list[dict], args: argparse.Namespace, problems: Problems) -> None:
    watch = [n for n in args.watch.split(",") if n]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        by_kind[d.get("kind", "?")].append(d)
        problems.expect(d.get("kind") in ALLOWED_KINDS, f"{ident(d)}: unexpected kind")

    sas = by_kind["ServiceAccount"]
    sa_name = sas[0]["metadata"]["name"] if sas else None
    problems.expect(len(sas) == 1, f"want 1 ServiceAccount, got {len(sas)}")

    roles = {(r["metadata"].get("namespace"), r["metadata"]["name"]): r for r in by_kind["Role"]}
    croles = {r["metadata"]["name"]: r for r in by_kind["ClusterRole"]}

    def check_binding(b: dict, role_kind: str, role_ns: str | None) -> None:
        ref = b.get("roleRef") or {}
        problems.expect(
            ref.get("apiGroup") == RBAC_GROUP and ref.get("kind") == role_kind,
            f"{ident(b)}: roleRef must be a {role_kind}, got {ref}",
        )
        target = croles.get(ref.get("name")) if role_kind == "ClusterRole" else roles.get((role_ns, ref.get("name")))
        problems.expect(target is not None, f"{ident(b)}: roleRef names no rendered {role_kind}: {ref.get('name')}")
        subjects = b.get("subjects") or []
        problems.expect(
            subjects
            == [{"kind": "ServiceAccount", "name": sa_name, "namespace": args.namespace}],
            f"{ident(b)}: subjects must be exactly the operator's ServiceAccount "
            f"{args.namespace}/{sa_name}, got {subjects}",
        )

    lease_role_keys = set()
    if watch:
        problems.expect(not croles, f"watchNamespaces set, yet ClusterRoles rendered: {sorted(croles)}")
        problems.expect(
            not by_kind["ClusterRoleBinding"],
            "watchNamespaces set, yet ClusterRoleBindings rendered: "
            + str([ident(b) for b in by_kind["ClusterRoleBinding"]]),
        )
    else:
        problems.expect(len(croles) == 1, f"want exactly 1 ClusterRole, got {sorted(croles)}")
        problems.expect(
            len(by_kind["ClusterRoleBinding"]) == 1,
            f"want exactly 1 ClusterRoleBinding, got {len(by_kind['ClusterRoleBinding'])}",
        )
        for r in croles.values():
            compare(r, WATCH_RULES, problems)
        for b in by_kind["ClusterRoleBinding"]:
            check_binding(b, "ClusterRole", None)

    # Roles: the watch rules in each watched namespace, the Lease rules in the
    # release namespace; nothing else.
    watch_roles_by_ns: dict[str, int] = defaultdict(int)
    for (ns, name), r in roles.items():
        grants_leases = any(
            "coordination.k8s.io" in (rule.get("apiGroups") or []) for rule in r.get("rules") or []
        )
        if grants_leases:
            lease_role_keys.add((ns, name))
            problems.expect(
                ns == args.namespace,
                f"{ident(r)}: Lease rights only in the release namespace {args.namespace}",
            )
            compare(r, LEASE_RULES, problems)
        else:
            watch_roles_by_ns[ns] += 1
            problems.expect(ns in watch, f"{ident(r)}: Role in a namespace that is not watched")
            compare(r, WATCH_RULES, problems)
    for ns in watch:
        problems.expect(
            watch_roles_by_ns.get(ns) == 1,
            f"want exactly 1 Role with the watch rules in namespace {ns}, got {watch_roles_by_ns.get(ns, 0)}",
        )
    if args.leader_election:
        problems.expect(len(lease_role_keys) == 1, f"want 1 Lease Role, got {sorted(lease_role_keys)}")
    else:
        problems.expect(not lease_role_keys, f"leader election off, yet Lease Roles: {sorted(lease_role_keys)}")

    bound_roles = set()
    for b in by_kind["RoleBinding"]:
        ns = b["metadata"].get("namespace")
        check_binding(b, "Role", ns)
        bound_roles.add((ns, (b.get("roleRef") or {}).get("name")))
    for key in roles:
        problems.expect(key in bound_roles, f"Role {key[0]}/{key[1]} is bound by no RoleBinding")
    problems.expect(
        len(by_kind["RoleBinding"]) == len(roles),
        f"want one RoleBinding per Role ({len(roles)}), got {len(by_kind['RoleBinding'])}",
    )


def env_map(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env") or []}


def check_operator(docs: list[dict], args: argparse.Namespace, problems: Problems) -> None:
    deps = [d for d in docs if d.get("kind") == "Deployment"]
    if not problems.expect(len(deps) == 1, f"want 1 Deployment, got {len(deps)}"):
        return
    dep = deps[0]
    where = ident(dep)
    problems.expect(dep["metadata"].get("namespace") == args.namespace, f"{where}: not in {args.namespace}")
    pod = dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    selector = dep["spec"]["selector"].get("matchLabels") or {}
    problems.expect(
        selector and all(pod_labels.get(k) == v for k, v in selector.items()),
        f"{where}: selector does not match the pod labels",
    )

    sas = [d for d in docs if d.get("kind") == "ServiceAccount"]
    if sas:
        problems.expect(
            pod.get("serviceAccountName") == sas[0]["metadata"]["name"],
            f"{where}: serviceAccountName is not the rendered ServiceAccount",
        )
    containers = pod.get("containers") or []
    if not problems.expect(len(containers) == 1, f"{where}: want 1 container, got {len(containers)}"):
        return
    c = containers[0]
    problems.expect(c.get("image") == args.operator_image, f"{where}: image {c.get('image')!r}, want {args.operator_image!r}")

    env = env_map(c)
    want_values = {
        "MCPGW_DATAPLANE_IMAGE": args.dataplane_image,
        "MCPGW_WATCH_NAMESPACES": args.watch,
        "MCPGW_LEADER_ELECTION": "true" if args.leader_election else "false",
        "MCPGW_LEASE_NAME": args.lease_name,
        "MCPGW_LOG": args.log_level,
    }
    for name, value in want_values.items():
        got = env.get(name, {}).get("value")
        problems.expect(got == value, f"{where}: env {name}={got!r}, want {value!r}")
    for name, path in (("POD_NAMESPACE", "metadata.namespace"), ("POD_NAME", "metadata.name")):
        ref = ((env.get(name) or {}).get("valueFrom") or {}).get("fieldRef") or {}
        problems.expect(ref.get("fieldPath") == path, f"{where}: env {name} must come from the downward API {path}")

    ports = c.get("ports") or []
    problems.expect(
        any(p.get("name") == "http" and p.get("containerPort") == 8080 for p in ports),
        f"{where}: needs container port 8080 named http, got {ports}",
    )
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        problems.expect(
            get.get("path") == path and get.get("port") in ("http", 8080),
            f"{where}: {probe} must GET {path} on port 8080 (http), got {get}",
        )

    psc = pod.get("securityContext") or {}
    csc = c.get("securityContext") or {}

    def effective(key: str):
        return csc.get(key, psc.get(key))

    problems.expect(effective("runAsNonRoot") is True, f"{where}: runAsNonRoot must be true")
    problems.expect(csc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem must be true")
    problems.expect(csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation must be false")
    problems.expect(
        ((csc.get("capabilities") or {}).get("drop")) == ["ALL"],
        f"{where}: capabilities must drop ALL",
    )
    problems.expect(
        (effective("seccompProfile") or {}).get("type") == "RuntimeDefault",
        f"{where}: seccompProfile must be RuntimeDefault",
    )
    uid = effective("runAsUser")
    problems.expect(uid is None or uid != 0, f"{where}: runAsUser must not be 0")

    svcs = [d for d in docs if d.get("kind") == "Service"]
    if problems.expect(len(svcs) == 1, f"want 1 (metrics) Service, got {len(svcs)}"):
        svc = svcs[0]
        sel = svc["spec"].get("selector") or {}
        problems.expect(
            sel and all(pod_labels.get(k) == v for k, v in sel.items()),
            f"{ident(svc)}: selector does not match the operator pods",
        )
        problems.expect(
            any(
                p.get("port") == 8080 and p.get("targetPort") in ("http", 8080) and p.get("name") == "http"
                for p in svc["spec"].get("ports") or []
            ),
            f"{ident(svc)}: needs port 8080 (http) to the operator's http port",
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("check", choices=["rbac", "operator"])
    p.add_argument("rendered")
    p.add_argument("--namespace", required=True)
    p.add_argument("--watch", default="", help="comma-separated watched namespaces")
    p.add_argument("--no-leader-election", dest="leader_election", action="store_false")
    p.add_argument("--lease-name", default="mcpgw-operator")
    p.add_argument("--operator-image", default="ghcr.io/mcpgw/mcpgw-operator:0.1.0")
    p.add_argument("--dataplane-image", default="ghcr.io/mcpgw/mcpgw-dataplane:0.1.0")
    p.add_argument("--log-level", default="info")
    args = p.parse_args()

    docs = load(args.rendered)
    problems = Problems()
    if args.check == "rbac":
        check_rbac(docs, args, problems)
    else:
        check_operator(docs, args, problems)
    for item in problems.items:
        print(f"  {args.check}: {item}")
    return 1 if problems.items else 0


if __name__ == "__main__":
    sys.exit(main())
