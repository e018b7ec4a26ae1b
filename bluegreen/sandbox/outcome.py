"""The outcome of a rehearsal: what the sandbox's cluster looks like at the end, measured, not claimed.

Which color serves is read from where the application pods run and which nodes take pods, never from what the
engine reported; availability is each Deployment's and StatefulSet's Ready and Pending pods against its desired
replicas. The decisions are pure functions over the cluster's plain JSON objects; ``observe`` reads them from the
sandbox's fake cluster in-process (no HTTP, so an API-error fault cannot hide the final state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bluegreen.engine.naming import COLOR_LABEL, COLORS, in_pool

WorkloadKey = tuple[str, str, str]  # (kind, namespace, name) of a pod's top controller
#: The workloads whose availability the outcome reports (the ones a drain moves and waits for).
MEASURED_KINDS = ("Deployment", "StatefulSet", "Job", "PodSet")


@dataclass(frozen=True)
class Availability:
    """One workload at the end: Ready pods, the replicas it wants, pods waiting for a node."""

    ready: int
    desired: int
    pending: int

    @property
    def at_desired(self) -> bool:
        return self.ready >= self.desired and self.pending == 0

    def to_dict(self) -> dict[str, int]:
        return {"ready": self.ready, "desired": self.desired, "pending": self.pending}


@dataclass(frozen=True)
class ColorNodes:
    """One color's nodes at the end."""

    nodes: int
    schedulable: int  # Ready and not cordoned
    application_pods: int  # bound, not terminating, not DaemonSet/mirror/finished pods

    def to_dict(self) -> dict[str, int]:
        return {"nodes": self.nodes, "schedulable": self.schedulable, "application_pods": self.application_pods}


@dataclass(frozen=True)
class FinalState:
    serving_color: str | None  # None: no color, or both, serve (``serving_detail`` says which)
    serving_detail: str
    availability: dict[str, Availability]  # "namespace/name" -> availability
    cordoned_nodes: tuple[str, ...]
    colors: dict[str, ColorNodes]

    @property
    def below_desired(self) -> dict[str, Availability]:
        return {k: a for k, a in self.availability.items() if not a.at_desired}


# -- pure decisions -------------------------------------------------------------------------------------------------


def _conditions(obj: dict) -> list[dict]:
    return (obj.get("status") or {}).get("conditions") or []


def pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _conditions(pod))


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _conditions(node))


def pod_finished(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_terminating(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def pod_pending(pod: dict) -> bool:
    """Waiting for a node: not bound, not finished, not being deleted."""
    return not (pod.get("spec") or {}).get("nodeName") and not pod_finished(pod) and not pod_terminating(pod)


def in_transit(pod: dict) -> bool:
    """A pod whose state is still changing by itself: being deleted, or bound and starting (not Ready yet)."""
    if pod_finished(pod):
        return False
    if pod_terminating(pod):
        return True
    return bool((pod.get("spec") or {}).get("nodeName")) and not pod_ready(pod)


def is_application_pod(pod: dict, workload: WorkloadKey | None) -> bool:
    """A pod the cutover moves: not a DaemonSet's or a mirror pod, not finished."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if "kubernetes.io/config.mirror" in annotations or pod_finished(pod):
        return False
    return workload is None or workload[0] != "DaemonSet"


def availability(workloads: Iterable[dict], pods: Iterable[dict], workload_of: Callable[[dict], WorkloadKey | None]
                 ) -> dict[str, Availability]:
    """Per Deployment/StatefulSet (``namespace/name``): Ready pods (not terminating), desired replicas, Pending pods."""
    ready: dict[WorkloadKey, int] = {}
    pending: dict[WorkloadKey, int] = {}
    for pod in pods:
        key = workload_of(pod)
        if key is None:
            continue
        if key[0] == "Job":
            if (pod.get("status") or {}).get("phase") == "Succeeded":  # a Job's "ready": its completed pods
                ready[key] = ready.get(key, 0) + 1
            elif pod_pending(pod):
                pending[key] = pending.get(key, 0) + 1
            continue
        if pod_ready(pod) and not pod_terminating(pod):
            ready[key] = ready.get(key, 0) + 1
        elif pod_pending(pod):
            pending[key] = pending.get(key, 0) + 1
    result: dict[str, Availability] = {}
    for obj in workloads:
        meta = obj.get("metadata") or {}
        key = (obj.get("kind") or "", meta.get("namespace") or "default", meta.get("name") or "")
        if key[0] not in MEASURED_KINDS:
            continue
        desired = (obj.get("spec") or {}).get("completions" if key[0] == "Job" else "replicas")
        if key[0] == "Job":  # its completed pods as the Job controller counted them (they may be gone since)
            ready[key] = int((obj.get("status") or {}).get("succeeded") or 0)
        result[f"{key[1]}/{key[2]}"] = Availability(
            ready.get(key, 0), 1 if desired is None else int(desired), pending.get(key, 0)
        )
    return dict(sorted(result.items()))


def color_nodes(nodes: Iterable[dict], pods: Iterable[dict], workload_of: Callable[[dict], WorkloadKey | None]
                ) -> dict[str, ColorNodes]:
    """Per color: its nodes, how many take new pods (Ready, not cordoned), how many application pods they hold."""
    node_color = {n["metadata"]["name"]: ((n["metadata"].get("labels") or {}).get(COLOR_LABEL) or "") for n in nodes}
    counts = {c: [0, 0, 0] for c in COLORS}
    for node in nodes:
        color = node_color[node["metadata"]["name"]]
        if color in counts:
            counts[color][0] += 1
            if node_ready(node) and not (node.get("spec") or {}).get("unschedulable"):
                counts[color][1] += 1
    for pod in pods:
        color = node_color.get((pod.get("spec") or {}).get("nodeName") or "")
        if color in counts and not pod_terminating(pod) and is_application_pod(pod, workload_of(pod)):
            counts[color][2] += 1
    return {c: ColorNodes(*v) for c, v in counts.items()}


def serving(colors: dict[str, ColorNodes]) -> tuple[str | None, str]:
    """The color that serves the workloads: the one holding every application pod, with at least one node that
    takes pods; with no application pod at all, the only color whose nodes take pods. None otherwise, with why."""
    holding = [c for c, n in colors.items() if n.application_pods]
    if len(holding) > 1:
        spread = " and ".join(f"{c} ({colors[c].application_pods})" for c in holding)
        return None, f"application pods run on both colors: {spread}"
    if holding:
        (color,) = holding
        if colors[color].schedulable == 0:
            return None, f"every application pod runs on {color}, but none of its {colors[color].nodes} node(s) " \
                         "takes pods (all cordoned or NotReady)"
        return color, f"every application pod runs on {color}; {colors[color].schedulable}/{colors[color].nodes} " \
                      "of its nodes take pods"
    open_colors = [c for c, n in colors.items() if n.schedulable]
    if len(open_colors) == 1:
        return open_colors[0], f"no application pod; only {open_colors[0]}'s nodes take pods"
    return None, "no application pod, and " + ("no color's nodes take pods" if not open_colors
                                                 else "both colors' nodes take pods")


def final_state(nodes: list[dict], pods: list[dict], workloads: list[dict],
                workload_of: Callable[[dict], WorkloadKey | None]) -> FinalState:
    colors = color_nodes(nodes, pods, workload_of)
    color, detail = serving(colors)
    cordoned = tuple(sorted(n["metadata"]["name"] for n in nodes if (n.get("spec") or {}).get("unschedulable")))
    return FinalState(color, detail, availability(workloads, pods, workload_of), cordoned, colors)


def pool_serving(nodes: list[dict], pods: list[dict], workload_of: Callable[[dict], WorkloadKey | None],
                 pool: str) -> dict:
    """One pool's colors at the end (its nodes by naming.in_pool, the pods on them): which color serves it, why,
    and each color's nodes."""
    names = {n["metadata"]["name"] for n in nodes if in_pool(n["metadata"].get("labels") or {}, pool)}
    colors = color_nodes([n for n in nodes if n["metadata"]["name"] in names],
                         [p for p in pods if (p.get("spec") or {}).get("nodeName") in names], workload_of)
    color, detail = serving(colors)
    return {"serving_color": color, "serving_detail": detail, "nodes": {c: n.to_dict() for c, n in colors.items()}}


def node_colors(nodes: Iterable[dict]) -> dict[str, str]:
    return {n["metadata"]["name"]: ((n["metadata"].get("labels") or {}).get(COLOR_LABEL) or "") for n in nodes}


# -- reading the fake cluster ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterSnapshot:
    """Plain copies of what the outcome is decided on, read at one instant."""

    nodes: list[dict]
    pods: list[dict]
    workloads: list[dict]
    owners: dict[str, WorkloadKey | None]  # pod uid -> its top controller

    def workload_of(self, pod: dict) -> WorkloadKey | None:
        return self.owners.get(pod["metadata"]["uid"])

    def final_state(self) -> FinalState:
        return final_state(self.nodes, self.pods, self.workloads, self.workload_of)

    @property
    def in_transit(self) -> int:
        return sum(1 for p in self.pods if in_transit(p))

    def fingerprint(self) -> tuple:
        """Changes whenever a pod is created, bound, becomes Ready or goes, or a node joins, leaves or is cordoned."""
        pods = tuple(sorted((p["metadata"]["uid"], (p.get("spec") or {}).get("nodeName") or "", pod_ready(p),
                             pod_terminating(p)) for p in self.pods))
        nodes = tuple(sorted((n["metadata"]["name"], bool((n.get("spec") or {}).get("unschedulable")), node_ready(n))
                             for n in self.nodes))
        return pods, nodes


def snapshot(cluster) -> ClusterSnapshot:
    """Read nodes, pods, Deployments and StatefulSets of a sandbox FakeCluster under its lock."""
    with cluster.lock:
        pods = cluster.list("pods")
        return ClusterSnapshot(
            nodes=cluster.list("nodes"),
            pods=pods,
            workloads=[{**o, "kind": kind} for kind, plural in (("Deployment", "deployments"),
                                                              ("StatefulSet", "statefulsets"), ("Job", "jobs"),
                                                              ("PodSet", "podsets"))
                       for o in cluster.list(plural)],
            owners={p["metadata"]["uid"]: cluster.workload_of(p) for p in pods},
        )
