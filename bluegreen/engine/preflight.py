"""Preflight: what a drain of the old color would move, what stays, and every reason it cannot start."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bluegreen.engine.budgets import budgets_for, never_allows, unmanaged_blocker
from bluegreen.engine.naming import COLOR_LABEL, other_color
from bluegreen.engine.nodes import NOT_READY_TAINTS, Node
from bluegreen.engine.placement import NodeRoom, PodToPlace, place, with_daemons
from bluegreen.engine.pods import Pod, classify
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.surge import SingleReplica, SingleReplicaAction, single_replicas_in_view
from bluegreen.engine.view import ClusterView, read_view
from bluegreen.engine.workloads import budget_words


@dataclass(frozen=True)
class WorkloadMove:
    workload: str  # "Deployment ns/name"
    pods: tuple[str, ...]
    budget: str  # "PodDisruptionBudget ns/name" or "implicit (one at a time)"

    def to_dict(self) -> dict:
        return {"workload": self.workload, "pods": list(self.pods), "budget": self.budget}


@dataclass(frozen=True)
class PreflightReport:
    old_nodes: tuple[str, ...]
    new_nodes: tuple[str, ...]
    moves: tuple[WorkloadMove, ...]
    staying: tuple[str, ...]
    blockers: tuple[str, ...]
    warnings: tuple[str, ...]
    cpu_needed_m: int
    cpu_free_m: int
    memory_needed_b: int
    memory_free_b: int
    # Workloads eviction would take to zero Ready pods, and how each moves (surge.py; rollout.singleReplica).
    single_replicas: tuple[SingleReplica, ...] = ()

    @property
    def surge(self) -> tuple[str, ...]:
        """The workloads that move by surge (a rolling restart) instead of eviction."""
        return tuple(str(s.workload) for s in self.single_replicas if s.action is SingleReplicaAction.SURGE)

    @property
    def ok(self) -> bool:
        return not self.blockers

    @property
    def pods_to_move(self) -> int:
        return sum(len(m.pods) for m in self.moves)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok, "old_nodes": list(self.old_nodes), "new_nodes": list(self.new_nodes),
            "pods_to_move": self.pods_to_move, "moves": [m.to_dict() for m in self.moves],
            "staying": list(self.staying), "blockers": list(self.blockers), "warnings": list(self.warnings),
            "room": {"cpu_needed_m": self.cpu_needed_m, "cpu_free_m": self.cpu_free_m,
                     "memory_needed_b": self.memory_needed_b, "memory_free_b": self.memory_free_b},
            "surge": list(self.surge), "single_replicas": [s.to_dict() for s in self.single_replicas],
        }


def plan_drain(view: ClusterView, settings: RolloutSettings, *, new_desired: int,
               singles: list[SingleReplica] | tuple[SingleReplica, ...] = ()) -> PreflightReport:
    """Pure decision over one cluster view; every blocker is collected, none stops the others from being found.
    ``singles``: the workloads eviction would take to zero Ready pods (``surge.single_replicas_in_view``)."""
    old_names = {n.name for n in view.old_nodes}
    blockers: list[str] = []
    warnings: list[str] = []
    staying: list[str] = []
    by_workload: dict[str, list[str]] = defaultdict(list)
    budget_of: dict[str, str] = {}
    moving = []
    for pod in sorted((p for p in view.pods if p.node in old_names), key=lambda p: p.key):
        verdict = classify(pod, settings)
        if verdict.action == "stay":
            staying.append(f"{pod.key}: {verdict.reason}")
            continue
        if verdict.action == "block":
            blockers.append(verdict.reason)
            continue
        if verdict.warning:
            warnings.append(verdict.warning)
        moving.append(pod)
        workload = str(view.workload(pod))
        by_workload[workload].append(pod.key)
        covering = budgets_for(pod, list(view.budgets))
        if len(covering) > 1:
            blockers.append(
                f"pod {pod.key} is covered by {len(covering)} PodDisruptionBudgets ("
                + ", ".join(b.key for b in covering)
                + "); the eviction API refuses such pods. Next: make the budgets' selectors disjoint"
            )
        budget_of[workload] = budget_words(view.workload(pod).kind, covering[0].key if covering else None)
    # Budgets that can never allow an eviction, counted against every live pod they select.
    live = [p for p in view.pods if not p.terminating and p.phase not in ("Succeeded", "Failed")]
    surged = {s.workload for s in singles if s.action is SingleReplicaAction.SURGE}
    for budget in sorted({b for p in moving for b in budgets_for(p, list(view.budgets))}, key=lambda b: b.key):
        if all(view.workload(p) in surged for p in moving if budget.covers(p)):
            continue  # its pods move by surge, not by eviction (surge.surge_past_budget keeps its floor)
        expected = sum(1 for p in live if budget.covers(p))
        why = unmanaged_blocker(budget, [p for p in live if budget.covers(p)]) or never_allows(budget, expected)
        if why:
            blockers.append(why)
    # Room on the new color: the totals for the report, and each pod placed on one node as the scheduler would.
    cpu_needed = sum(p.cpu_m for p in moving)
    mem_needed = sum(p.memory_b for p in moving)
    for node in view.new_nodes:
        if node.unschedulable:
            warnings.append(f"new node {node.name} is cordoned: it takes no pod (the placement skips it)")
    missing = max(0, new_desired - len(view.new_nodes))
    if missing and view.old_nodes:
        warnings.append(f"{missing} new node(s) not joined yet; room estimated from the old nodes' size")
    rooms = new_color_rooms(view, missing)
    cpu_free = sum(r.cpu_m - r.used_cpu_m for r in rooms if not r.unschedulable)
    mem_free = sum(r.memory_b - r.used_memory_b for r in rooms if not r.unschedulable)
    to_place = [pod_to_place(view, p) for p in moving if p.owner_kind is not None]  # bare pods do not come back
    blockers += [m.blocker() for m in place(to_place, rooms).misfits]
    for single in singles:  # rollout.singleReplica: block refuses them, evict warns, surge says how
        if single.action is SingleReplicaAction.BLOCK:
            blockers.append(single.blocker())
        elif single.warning():
            warnings.append(single.warning() or "")
        budget_of[str(single.workload)] = single.describe()
    moves = tuple(
        WorkloadMove(workload, tuple(pods), budget_of[workload]) for workload, pods in sorted(by_workload.items())
    )
    return PreflightReport(
        old_nodes=tuple(sorted(old_names)), new_nodes=tuple(sorted(n.name for n in view.new_nodes)), moves=moves,
        staying=tuple(staying), blockers=tuple(blockers), warnings=tuple(warnings), cpu_needed_m=cpu_needed,
        cpu_free_m=cpu_free, memory_needed_b=mem_needed, memory_free_b=mem_free, single_replicas=tuple(singles),
    )


#: Labels a node of the new color will not share with the old node it is estimated from.
_OWN_LABELS = ("kubernetes.io/hostname",)
#: Taints the node lifecycle controller sets on an old node because it is cordoned or NotReady.
_STATE_TAINTS = ("node.kubernetes.io/unschedulable", *NOT_READY_TAINTS)


def pod_to_place(view: ClusterView, pod: Pod) -> PodToPlace:
    keys = [(pod.namespace, claim) for claim in pod.constraints.claims]
    volumes = tuple(view.volumes[k] for k in keys if k in view.volumes)
    return PodToPlace(pod.key, str(view.workload(pod)), pod.cpu_m, pod.memory_b, pod.constraints, volumes)


def _room(node: Node, used: list[Pod], *, name: str | None = None, labels: dict | None = None,
          estimated: bool = False) -> NodeRoom:
    taints = node.taint_specs if not estimated else tuple(t for t in node.taint_specs if t.key not in _STATE_TAINTS)
    return NodeRoom(
        name or node.name, node.labels if labels is None else labels, taints, node.unschedulable and not estimated,
        node.cpu_m, node.memory_b, node.pods, sum(p.cpu_m for p in used), sum(p.memory_b for p in used), len(used),
        estimated,
    )


def new_color_rooms(view: ClusterView, missing: int) -> list[NodeRoom]:
    """The new color's nodes as the scheduler sees them (what runs there, the DaemonSet pods still to come
    included), then ``missing`` nodes not joined yet, each shaped like an old node (in turn, for their zones)."""
    daemons = {}
    on_node: dict[str, list[Pod]] = defaultdict(list)
    for pod in view.pods:
        if pod.phase in ("Succeeded", "Failed"):
            continue
        on_node[pod.node or ""].append(pod)
        if pod.owner_kind == "DaemonSet":
            daemons.setdefault(f"{pod.namespace}/{pod.owner_name}", (pod.cpu_m, pod.memory_b, pod.constraints))
    rooms = []
    for node in sorted(view.new_nodes, key=lambda n: n.name):
        used = on_node.get(node.name, [])
        present = {f"{p.namespace}/{p.owner_name}" for p in used if p.owner_kind == "DaemonSet"}
        rooms.append(with_daemons(_room(node, used), daemons, present))
    shapes = sorted(view.old_nodes, key=lambda n: n.name)
    for index in range(missing if shapes else 0):
        shape = shapes[index % len(shapes)]
        labels = {k: v for k, v in shape.labels.items() if k not in _OWN_LABELS}
        if shape.color:
            labels[COLOR_LABEL] = other_color(shape.color)
        room = _room(shape, [], name=f"new node {index + 1} (not joined yet)", labels=labels, estimated=True)
        rooms.append(with_daemons(room, daemons, ()))
    return rooms


def preflight(conn, old, new, settings: RolloutSettings) -> PreflightReport:
    """Read-only: what draining ``old`` onto ``new`` would do, and every blocker."""
    view = read_view(conn.kube, old.color, new.color, pool=old.pool)
    return plan_drain(view, settings, new_desired=new.desired, singles=single_replicas_in_view(conn.kube, view,
                                                                                                 settings))
