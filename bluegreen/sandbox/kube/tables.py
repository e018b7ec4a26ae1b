"""Server-side printing: the meta.k8s.io/v1 Table that ``kubectl get`` asks for, with the real columns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bluegreen.sandbox.kube.resources import ResourceType


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery duration.HumanDuration, as kubectl shows AGE."""
    seconds = int(max(seconds, 0))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 365 * 2 else f"{days // 365}y"


def _age(obj: dict, now_stamp: str) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    parse = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return human_duration((parse(now_stamp) - parse(created)).total_seconds())


def _column(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


def _pod_row(pod: dict, age: str) -> list:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    containers = pod.get("spec", {}).get("containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    # printers.go printPod: the phase, overridden by a container's waiting reason, then by Terminating.
    phase = pod.get("status", {}).get("reason") or pod.get("status", {}).get("phase", "Pending")
    waiting = [(s.get("state") or {}).get("waiting", {}).get("reason") for s in statuses]
    phase = next((w for w in waiting if w), phase)
    if pod["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    return [pod["metadata"]["name"], f"{ready}/{len(containers)}", phase, restarts, age,
            pod.get("status", {}).get("podIP") or "<none>", pod.get("spec", {}).get("nodeName") or "<none>",
            "<none>", "<none>"]


def _node_row(node: dict, age: str) -> list:
    ready = next((c for c in node.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else ("NotReady" if ready else "Unknown")
    if node.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = node.get("status", {}).get("nodeInfo") or {}
    internal = next((a["address"] for a in node.get("status", {}).get("addresses") or []
                     if a.get("type") == "InternalIP"), "<none>")
    external = next((a["address"] for a in node.get("status", {}).get("addresses") or []
                     if a.get("type") == "ExternalIP"), "<none>")
    return [node["metadata"]["name"], status, ",".join(roles) or "<none>", age, info.get("kubeletVersion", ""),
            internal, external, info.get("osImage", ""), info.get("kernelVersion", ""),
            info.get("containerRuntimeVersion", "")]


def _deployment_row(obj: dict, age: str) -> list:
    status = obj.get("status") or {}
    return [obj["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), age]


def _statefulset_row(obj: dict, age: str) -> list:
    status = obj.get("status") or {}
    return [obj["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}", age]


def _replicaset_row(obj: dict, age: str) -> list:
    status = obj.get("status") or {}
    return [obj["metadata"]["name"], obj["spec"].get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), age]


def _daemonset_row(obj: dict, age: str) -> list:
    status = obj.get("status") or {}
    selector = obj["spec"]["template"]["spec"].get("nodeSelector") or {}
    return [obj["metadata"]["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0),
            status.get("numberAvailable", 0), ",".join(f"{k}={v}" for k, v in selector.items()) or "<none>", age]


def _pdb_row(obj: dict, age: str) -> list:
    spec = obj.get("spec") or {}
    return [obj["metadata"]["name"], str(spec.get("minAvailable", "N/A")), str(spec.get("maxUnavailable", "N/A")),
            (obj.get("status") or {}).get("disruptionsAllowed", 0), age]


def _namespace_row(obj: dict, age: str) -> list:
    return [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", "Active"), age]


def _event_row(obj: dict, age: str) -> list:
    involved = obj.get("involvedObject") or {}
    return [age, obj.get("type", ""), obj.get("reason", ""),
            f"{involved.get('kind', '').lower()}/{involved.get('name', '')}", obj.get("message", "")]


def _service_row(obj: dict, age: str) -> list:
    spec = obj.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "<none>"
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [obj["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", "<none>",
            ports, age, selector]


_PRINTERS: dict[str, tuple[list[dict], Callable[[dict, str], list]]] = {
    "services": ([_column("Name", fmt="name"), _column("Type"), _column("Cluster-IP"), _column("External-IP"),
                  _column("Port(s)"), _column("Age"), _column("Selector", priority=1)], _service_row),
    "pods": ([_column("Name", fmt="name"), _column("Ready"), _column("Status"), _column("Restarts", "string"),
              _column("Age"), _column("IP", priority=1), _column("Node", priority=1),
              _column("Nominated Node", priority=1), _column("Readiness Gates", priority=1)], _pod_row),
    "nodes": ([_column("Name", fmt="name"), _column("Status"), _column("Roles"), _column("Age"), _column("Version"),
               _column("Internal-IP", priority=1), _column("External-IP", priority=1),
               _column("OS-Image", priority=1), _column("Kernel-Version", priority=1),
               _column("Container-Runtime", priority=1)], _node_row),
    "deployments": ([_column("Name", fmt="name"), _column("Ready"), _column("Up-to-date", "integer"),
                     _column("Available", "integer"), _column("Age")], _deployment_row),
    "statefulsets": ([_column("Name", fmt="name"), _column("Ready"), _column("Age")], _statefulset_row),
    "replicasets": ([_column("Name", fmt="name"), _column("Desired", "integer"), _column("Current", "integer"),
                     _column("Ready", "integer"), _column("Age")], _replicaset_row),
    "daemonsets": ([_column("Name", fmt="name"), _column("Desired", "integer"), _column("Current", "integer"),
                    _column("Ready", "integer"), _column("Up-to-date", "integer"), _column("Available", "integer"),
                    _column("Node Selector"), _column("Age")], _daemonset_row),
    "poddisruptionbudgets": ([_column("Name", fmt="name"), _column("Min Available"), _column("Max Unavailable"),
                              _column("Allowed Disruptions", "integer"), _column("Age")], _pdb_row),
    "namespaces": ([_column("Name", fmt="name"), _column("Status"), _column("Age")], _namespace_row),
    "events": ([_column("Last Seen"), _column("Type"), _column("Reason"), _column("Object"), _column("Message")],
               _event_row),
}


def to_table(rtype: ResourceType, objects: list[dict], *, now_stamp: str, resource_version: str,
             include_object: str = "Metadata") -> dict:
    """A Table of ``objects``; each row carries the object as PartialObjectMetadata (or whole, or none)."""
    columns, row_of = _PRINTERS.get(rtype.plural, ([_column("Name", fmt="name"), _column("Age")],
                                                    lambda o, age: [o["metadata"]["name"], age]))
    rows = []
    for obj in objects:
        row: dict = {"cells": row_of(obj, _age(obj, now_stamp))}
        if rtype.plural == "pods":
            # kubectl hides finished pods by this row condition unless --show-all.
            finished = obj.get("status", {}).get("phase") in ("Succeeded", "Failed")
            row["conditions"] = [{"type": "Completed", "status": "True" if finished else "False"}]
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}
