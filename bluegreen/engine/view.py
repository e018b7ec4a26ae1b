"""One read of the cluster state a drain decides on: the colors' nodes, all pods, budgets, ReplicaSet owners."""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.engine.budgets import Budget, budget_from_json
from bluegreen.engine.nodes import Node, node_from_json
from bluegreen.engine.placement import VolumeTopology, volume_topology_from_json
from bluegreen.engine.pods import Pod, pod_from_json
from bluegreen.engine.workloads import WorkloadRef, workload_of


@dataclass(frozen=True)
class ClusterView:
    old_nodes: tuple[Node, ...]
    new_nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    budgets: tuple[Budget, ...]
    replicaset_owners: dict
    # (namespace, claim) -> where its bound PersistentVolume can be used, for claims of pods on the old nodes
    volumes: dict[tuple[str, str], VolumeTopology] = field(default_factory=dict)

    def pods_on(self, node: str) -> list[Pod]:
        return [p for p in self.pods if p.node == node]

    def workload(self, pod: Pod) -> WorkloadRef:
        return workload_of(pod, self.replicaset_owners)


def replicaset_owners(replicasets: list[dict]) -> dict[tuple[str, str], tuple[str, str] | None]:
    owners: dict[tuple[str, str], tuple[str, str] | None] = {}
    for rs in replicasets:
        meta = rs.get("metadata") or {}
        refs = [o for o in meta.get("ownerReferences") or [] if o.get("controller")] or meta.get("ownerReferences")
        key = (meta.get("namespace") or "default", meta["name"])
        owners[key] = (refs[0]["kind"], refs[0]["name"]) if refs else None
    return owners


def read_view(kube, old_color: str, new_color: str, *, pool: str | None = None) -> ClusterView:
    old_nodes = tuple(node_from_json(n) for n in kube.nodes_of_color(old_color, pool))
    new_nodes = tuple(node_from_json(n) for n in kube.nodes_of_color(new_color, pool))
    pods = tuple(pod_from_json(p) for p in kube.list_pods())
    budgets = tuple(budget_from_json(b) for b in kube.list_all("/apis/policy/v1", "poddisruptionbudgets"))
    owners = replicaset_owners(kube.list_all("/apis/apps/v1", "replicasets"))
    old_names = {n.name for n in old_nodes}
    claims = {(p.namespace, c) for p in pods if p.node in old_names for c in p.constraints.claims}
    return ClusterView(old_nodes, new_nodes, pods, budgets, owners, read_volumes(kube, claims))


def bound_volumes(claims: list[dict], volumes: list[dict]) -> dict[tuple[str, str], VolumeTopology]:
    """(namespace, claim) -> the topology of the PersistentVolume each bound claim uses (unbound ones: none)."""
    by_name = {(v.get("metadata") or {}).get("name"): v for v in volumes}
    found: dict[tuple[str, str], VolumeTopology] = {}
    for claim in claims:
        meta = claim.get("metadata") or {}
        volume = by_name.get((claim.get("spec") or {}).get("volumeName"))
        if volume is not None:
            found[(meta.get("namespace") or "default", meta["name"])] = volume_topology_from_json(meta["name"], volume)
    return found


def read_volumes(kube, claims: set[tuple[str, str]]) -> dict[tuple[str, str], VolumeTopology]:
    """Only when some pod to move uses a claim: its namespaces' claims and the cluster's volumes (two lists)."""
    if not claims:
        return {}
    items = [c for ns in sorted({ns for ns, _ in claims})
             for c in kube.list_namespaced("/api/v1", "persistentvolumeclaims", ns)]
    wanted = [c for c in items if ((c.get("metadata") or {}).get("namespace") or "default",
                                   (c.get("metadata") or {}).get("name")) in claims]
    if not wanted:
        return {}
    return bound_volumes(wanted, kube.list_all("/api/v1", "persistentvolumes"))
