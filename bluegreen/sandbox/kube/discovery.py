"""Discovery documents: /version, /api, /apis, and one APIResourceList per group version."""

from __future__ import annotations

from bluegreen.sandbox.kube.resources import GROUP_VERSIONS, RESOURCE_TYPES, ResourceType

VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-eks-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64",
}

# Subresources listed in discovery (kubectl drain looks for pods/eviction to pick the Eviction API version).
_SUBRESOURCES: dict[str, list[dict]] = {
    "v1": [
        {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy", "version": "v1",
         "kind": "Eviction", "verbs": ["create"]},
        {"name": "pods/status", "singularName": "", "namespaced": True, "kind": "Pod",
         "verbs": ["get", "patch", "update"]},
        {"name": "nodes/status", "singularName": "", "namespaced": False, "kind": "Node",
         "verbs": ["get", "patch", "update"]},
        {"name": "namespaces/status", "singularName": "", "namespaced": False, "kind": "Namespace",
         "verbs": ["get", "patch", "update"]},
    ],
    "apps/v1": [
        {"name": f"{plural}/status", "singularName": "", "namespaced": True, "kind": kind,
         "verbs": ["get", "patch", "update"]}
        for plural, kind in (("deployments", "Deployment"), ("replicasets", "ReplicaSet"),
                             ("statefulsets", "StatefulSet"), ("daemonsets", "DaemonSet"))
    ] + [
        {"name": f"{plural}/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}
        for plural in ("deployments", "replicasets", "statefulsets")
    ],
    "policy/v1": [
        {"name": "poddisruptionbudgets/status", "singularName": "", "namespaced": True,
         "kind": "PodDisruptionBudget", "verbs": ["get", "patch", "update"]},
    ],
}


def _resource_entry(r: ResourceType) -> dict:
    entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": list(r.verbs)}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    return entry


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(name: str) -> dict:
    versions = sorted({r.version for r in RESOURCE_TYPES if r.group == name})
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict:
    groups = sorted({r.group for r in RESOURCE_TYPES if r.group})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in groups]}


def api_group(name: str) -> dict | None:
    if not any(r.group == name for r in RESOURCE_TYPES if r.group):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def api_resource_list(group_version: str) -> dict | None:
    resources = GROUP_VERSIONS.get(group_version)
    if resources is None:
        return None
    entries = [_resource_entry(r) for r in resources] + _SUBRESOURCES.get(group_version, [])
    entries.sort(key=lambda e: e["name"])
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}
