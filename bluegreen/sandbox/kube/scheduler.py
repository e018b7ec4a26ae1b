"""Where a pending pod may run: the scheduler's filters and the sandbox's two placement policies.

Pure functions over plain data: the cluster builds a NodeView per node and asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.sandbox.kube.quantity import cpu_millis, memory_bytes

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
ZONE_LABEL = "topology.kubernetes.io/zone"
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


def requirement_matches(requirement: dict, labels: dict[str, str]) -> bool:
    """One NodeSelectorRequirement against a node's labels (component-helpers nodeaffinity: In, NotIn, Exists,
    DoesNotExist, Gt, Lt; a missing label satisfies only NotIn and DoesNotExist)."""
    key, operator = requirement.get("key") or "", requirement.get("operator") or ""
    values = [str(v) for v in requirement.get("values") or []]
    present, value = key in labels, labels.get(key, "")
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(value), int(values[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def node_selector_matches(selector: dict | None, node: NodeView) -> bool:
    """A v1 NodeSelector: any term whose matchExpressions (labels) and matchFields (metadata.name only) all
    match; an empty term, or no terms, match no node."""
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not expressions and not fields:
            continue
        if all(requirement_matches(r, node.labels) for r in expressions) and all(
            r.get("key") == "metadata.name" and requirement_matches(r, {"metadata.name": node.name}) for r in fields
        ):
            return True
    return False


def misfit_reasons(pod_spec: dict, node: NodeView, volume_affinities: list[dict] | tuple = ()) -> list[str]:
    """Why the pod cannot go on the node, in the scheduler's words; empty when it fits.

    The default profile's filters in their order, and like framework.RunFilterPlugins only the first one that
    rejects the node speaks: NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit, VolumeBinding
    (``volume_affinities``: the required node affinity of each PersistentVolume bound to the pod's claims).
    """
    tolerations = pod_spec.get("tolerations") or []
    if node.unschedulable and not tolerates(tolerations, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}):
        return ["node(s) were unschedulable"]  # nodeunschedulable.ErrReasonUnschedulable
    for taint in untolerated_taints(tolerations, node.taints, ("NoSchedule", "NoExecute"))[:1]:
        return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"]
    selector = pod_spec.get("nodeSelector") or {}
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if any(node.labels.get(k) != v for k, v in selector.items()) or (
        required is not None and not node_selector_matches(required, node)
    ):
        return ["node(s) didn't match Pod's node affinity/selector"]  # nodeaffinity.ErrReasonPod
    reasons = []
    cpu, memory = pod_requests(pod_spec)
    if node.used_pods + 1 > node.pods:
        reasons.append("Too many pods")
    if node.used_cpu_m + cpu > node.cpu_m:
        reasons.append("Insufficient cpu")
    if node.used_memory + memory > node.memory:
        reasons.append("Insufficient memory")
    if reasons:
        return reasons
    if any(not node_selector_matches(affinity, node) for affinity in volume_affinities):
        return ["node(s) had volume node affinity conflict"]  # volumebinding.ErrReasonNodeConflict (v1.32)
    return []


def fit_error(node_count: int, counts: dict[str, int]) -> str:
    """framework.FitError.Error: "0/N nodes are available: " + the "<count> <reason>" strings sorted as strings."""
    if not node_count:
        return "no nodes available to schedule pods"  # scheduler.ErrNoNodesAvailable
    return f"0/{node_count} nodes are available: {', '.join(sorted(f'{n} {r}' for r, n in counts.items()))}."


def choose_node(pod_spec: dict, nodes: list[NodeView], placement: str,
                volume_affinities: list[dict] | tuple = ()) -> tuple[NodeView | None, str]:
    """The node the pod goes to (None if none fits) and, when none, the FailedScheduling message."""
    fitting, counts = [], {}
    for node in nodes:
        reasons = misfit_reasons(pod_spec, node, volume_affinities)
        if reasons:
            for reason in reasons:
                counts[reason] = counts.get(reason, 0) + 1
        else:
            fitting.append(node)
    if not fitting:
        return None, fit_error(len(nodes), counts)
    if placement == "packed":
        return min(fitting, key=lambda n: n.order), ""
    cpu, memory = pod_requests(pod_spec)

    def load(node: NodeView) -> tuple[float, int]:
        # LeastAllocated over cpu and memory after placing the pod; ties by creation order.
        cpu_share = (node.used_cpu_m + cpu) / node.cpu_m if node.cpu_m else 1.0
        memory_share = (node.used_memory + memory) / node.memory if node.memory else 1.0
        return ((cpu_share + memory_share) / 2 + node.used_pods * 1e-6, node.order)

    return min(fitting, key=load), ""
