"""Nodes as plain observations: which instance each one is, whether it is Ready, and its drain state."""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.engine.naming import COLOR_LABEL, DRAIN_STATE_ANNOTATION, instance_id_from_provider_id
from bluegreen.engine.placement import Taint, taints_from_json
from bluegreen.engine.quantities import bytes_of, millicores

#: Taints that mean a node is not yet fit to run pods.
NOT_READY_TAINTS = (
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.cloudprovider.kubernetes.io/uninitialized",
    "node.kubernetes.io/network-unavailable",
)


@dataclass(frozen=True)
class Node:
    name: str
    instance_id: str | None
    color: str | None
    ready: bool
    ready_reason: str
    ready_message: str
    taints: tuple[str, ...]
    unschedulable: bool
    created: str
    drain_state: str | None
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    cpu_m: int = 0
    memory_b: int = 0
    pods: int = 0
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    taint_specs: tuple[Taint, ...] = ()  # key, value, effect of each taint (``taints`` has the keys)

    def not_ready_taints(self) -> list[str]:
        return [t for t in self.taints if t in NOT_READY_TAINTS]


def node_from_json(obj: dict) -> Node:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    annotations = dict(meta.get("annotations") or {})
    return Node(
        name=meta["name"],
        instance_id=instance_id_from_provider_id(spec.get("providerID") or ""),
        color=(meta.get("labels") or {}).get(COLOR_LABEL),
        ready=ready.get("status") == "True",
        ready_reason=ready.get("reason") or ("no Ready condition" if not ready else ""),
        ready_message=ready.get("message") or "",
        taints=tuple(t.get("key", "") for t in spec.get("taints") or []),
        unschedulable=bool(spec.get("unschedulable")),
        created=meta.get("creationTimestamp") or "",
        drain_state=annotations.get(DRAIN_STATE_ANNOTATION),
        annotations=annotations,
        cpu_m=millicores(allocatable.get("cpu")),
        memory_b=bytes_of(allocatable.get("memory")),
        pods=int(allocatable.get("pods") or 0),
        labels=dict(meta.get("labels") or {}),
        taint_specs=taints_from_json(spec.get("taints")),
    )


def drain_order(nodes: list[Node]) -> list[Node]:
    """Oldest first (creation time, then name for a stable order)."""
    return sorted(nodes, key=lambda n: (n.created, n.name))
