"""Preflight: what a drain of the old color would move, what stays, and every reason it cannot start."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bluegreen.engine.budgets import budgets_for, never_allows, unmanaged_blocker
from bluegreen.engine.pods import classify
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.view import ClusterView, read_view


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
        }


def plan_drain(view: ClusterView, settings: RolloutSettings, *, new_desired: int) -> PreflightReport:
    """Pure decision over one cluster view; every blocker is collected, none stops the others from being found."""
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
        budget_of[workload] = (
            f"PodDisruptionBudget {covering[0].key}" if covering else "implicit (one ready replica at a time)"
        )
    # Budgets that can never allow an eviction, counted against every live pod they select.
    live = [p for p in view.pods if not p.terminating and p.phase not in ("Succeeded", "Failed")]
    for budget in sorted({b for p in moving for b in budgets_for(p, list(view.budgets))}, key=lambda b: b.key):
        expected = sum(1 for p in live if budget.covers(p))
        why = unmanaged_blocker(budget, [p for p in live if budget.covers(p)]) or never_allows(budget, expected)
        if why:
            blockers.append(why)
    # Room on the new color: requests being moved against what its nodes (present, or still to come) have free.
    cpu_needed = sum(p.cpu_m for p in moving)
    mem_needed = sum(p.memory_b for p in moving)
    pods_needed = len(moving)
    cpu_free = mem_free = pods_free = 0
    for node in view.new_nodes:
        used = [p for p in view.pods_on(node.name) if p.phase not in ("Succeeded", "Failed")]
        cpu_free += node.cpu_m - sum(p.cpu_m for p in used)
        mem_free += node.memory_b - sum(p.memory_b for p in used)
        pods_free += node.pods - len(used)
    missing = max(0, new_desired - len(view.new_nodes))
    if missing and view.old_nodes:
        # Not joined yet (plan before scale-up): assume the new nodes have the old nodes' shape.
        shape = view.old_nodes[0]
        ds_per_node = [p for p in view.pods_on(shape.name) if p.owner_kind == "DaemonSet"]
        cpu_free += missing * (shape.cpu_m - sum(p.cpu_m for p in ds_per_node))
        mem_free += missing * (shape.memory_b - sum(p.memory_b for p in ds_per_node))
        pods_free += missing * (shape.pods - len(ds_per_node))
        warnings.append(f"{missing} new node(s) not joined yet; room estimated from the old nodes' size")
    if moving:
        if cpu_needed > cpu_free:
            blockers.append(f"not enough CPU on the new nodes: pods to move request {cpu_needed}m, free {cpu_free}m. "
                            "Next: raise workers.desiredCapacity or use a larger instance type")
        if mem_needed > mem_free:
            blockers.append(f"not enough memory on the new nodes: pods to move request {mem_needed // 2**20}Mi, "
                            f"free {mem_free // 2**20}Mi. Next: raise workers.desiredCapacity or a larger type")
        if pods_free and pods_needed > pods_free:
            blockers.append(f"not enough pod slots on the new nodes: {pods_needed} to move, {pods_free} free")
    moves = tuple(
        WorkloadMove(workload, tuple(pods), budget_of[workload]) for workload, pods in sorted(by_workload.items())
    )
    return PreflightReport(
        old_nodes=tuple(sorted(old_names)), new_nodes=tuple(sorted(n.name for n in view.new_nodes)), moves=moves,
        staying=tuple(staying), blockers=tuple(blockers), warnings=tuple(warnings), cpu_needed_m=cpu_needed,
        cpu_free_m=cpu_free, memory_needed_b=mem_needed, memory_free_b=mem_free,
    )


def preflight(conn, old, new, settings: RolloutSettings) -> PreflightReport:
    """Read-only: what draining ``old`` onto ``new`` would do, and every blocker."""
    return plan_drain(read_view(conn.kube, old.color, new.color), settings, new_desired=new.desired)
