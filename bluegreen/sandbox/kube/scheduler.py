"""Where a pending pod may run: the scheduler's filters and the sandbox's two placement policies.

Pure functions over plain data: the cluster builds a NodeView per node and asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.sandbox.kube.quantity import cpu_millis, memory_bytes

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
PLACEMENTS = ("packed", "spread")


@dataclass
class NodeView:
    name: str
    order: int  # creation order, for "packed"
    labels: dict[str, str]
    taints: list[dict]
    unschedulable: bool
    cpu_m: int
    memory: int
    pods: int
    used_cpu_m: int = 0
    used_memory: int = 0
    used_pods: int = 0


def pod_requests(pod_spec: dict) -> tuple[int, int]:
    """(millicores, bytes) requested by the pod's containers."""
    cpu = memory = 0
    for container in pod_spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += cpu_millis(requests.get("cpu", 0))
        memory += memory_bytes(requests.get("memory", 0))
    return cpu, memory


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """v1.Toleration.ToleratesTaint for any toleration in the list."""
    for toleration in tolerations or []:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key") or ""
        operator = toleration.get("operator") or "Equal"
        if not key:
            if operator == "Exists":
                return True
            continue
        if key != taint.get("key"):
            continue
        if operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated_taints(tolerations: list[dict], taints: list[dict], effects: tuple[str, ...]) -> list[dict]:
    return [t for t in taints if t.get("effect") in effects and not tolerates(tolerations, t)]


def misfit_reasons(pod_spec: dict, node: NodeView) -> list[str]:
    """Why the pod cannot go on the node, in the scheduler's words; empty when it fits."""
    reasons = []
    if node.unschedulable and not tolerates(
        pod_spec.get("tolerations") or [], {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    ):
        reasons.append("node(s) were unschedulable")
    for taint in untolerated_taints(pod_spec.get("tolerations") or [], node.taints, ("NoSchedule", "NoExecute")):
        if taint.get("key") != UNSCHEDULABLE_TAINT or not node.unschedulable:
            reasons.append(f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}")
    selector = pod_spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in selector.items()):
        reasons.append("node(s) didn't match Pod's node affinity/selector")
    cpu, memory = pod_requests(pod_spec)
    if node.used_cpu_m + cpu > node.cpu_m:
        reasons.append("Insufficient cpu")
    if node.used_memory + memory > node.memory:
        reasons.append("Insufficient memory")
    if node.used_pods + 1 > node.pods:
        reasons.append("Too many pods")
    return reasons


def choose_node(pod_spec: dict, nodes: list[NodeView], placement: str) -> tuple[NodeView | None, str]:
    """The node the pod goes to (None if none fits) and, when none, the FailedScheduling message."""
    fitting, counts = [], {}
    for node in nodes:
        reasons = misfit_reasons(pod_spec, node)
        if reasons:
            for reason in reasons:
                counts[reason] = counts.get(reason, 0) + 1
        else:
            fitting.append(node)
    if not fitting:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))
        return None, f"0/{len(nodes)} nodes are available: {detail}." if detail else "0/0 nodes are available."
    if placement == "packed":
        return min(fitting, key=lambda n: n.order), ""
    cpu, memory = pod_requests(pod_spec)

    def load(node: NodeView) -> tuple[float, int]:
        # LeastAllocated over cpu and memory after placing the pod; ties by creation order.
        cpu_share = (node.used_cpu_m + cpu) / node.cpu_m if node.cpu_m else 1.0
        memory_share = (node.used_memory + memory) / node.memory if node.memory else 1.0
        return ((cpu_share + memory_share) / 2 + node.used_pods * 1e-6, node.order)

    return min(fitting, key=load), ""
