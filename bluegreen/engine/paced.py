"""The paced strategy's decisions: after the canary node, evict from every remaining old node at once, in waves that
each budget allows, each workload's next wave only once its moved pods are Ready again.

Once every old node is cordoned, evicting from any of them is equally safe as long as every budget holds: a moved
pod can land only on the new color. So the true limit of a cutover is not the number of nodes but the slowest
workload's chain of budget-limited waves. A wave of a workload is as many of its pods (oldest node first) as its
budgets allow right now: each covering PodDisruptionBudget's ``disruptionsAllowed`` (read fresh), or for a workload
without one the implicit budget (``eviction.implicit_room``: ``workloads.implicit_allowance`` less what is
unavailable already). Then the
workload's gate closes until its moved pods' replacements are Ready (the health gate of the serial strategy, per
workload instead of per node), so a budget is never spent on a workload that is still recovering. A pod that is not
Ready costs no availability and takes no room (as the eviction handler lets it go: k8s.io/kubernetes
pkg/registry/core/pod/storage/eviction.go, ``EvictionREST.Create``).

Pure functions over plain data; ``drain.py`` does the reading and the evicting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bluegreen.engine.workloads import WorkloadRef

#: Workload kinds whose pods are not replaced by a controller (a bare pod; a Job, which the drain waits for to
#: complete first): nothing comes back to wait for, so they have no gate and no implicit budget.
UNGATED_KINDS = ("Pod", "Job")


@dataclass(frozen=True)
class Candidate:
    """One pod still waiting to be evicted, as the wave planner sees it."""

    pod: str  # "namespace/name"
    workload: WorkloadRef
    node_rank: int  # its node's place in the drain order (0 = oldest)
    budgets: tuple[str, ...] = ()  # keys ("namespace/name") of the PodDisruptionBudgets covering it
    ready: bool = True  # a Ready pod costs availability (one unit of its budget); an unready one costs none
    next_try: float = 0.0  # after a refusal: not before this (unless its budget shows room again)
    held: bool = False  # not evictable yet (a running Job pod waited for to complete)

    @property
    def gated(self) -> bool:
        return self.workload.kind not in UNGATED_KINDS


@dataclass(frozen=True)
class Wave:
    """The pods to evict now, in order; ``probes`` are among them: tried although their budget shows no room, so
    the API server answers (a budget that keeps refusing stops the drain or is forced, as in the serial strategy)."""

    pods: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    workloads: Mapping[WorkloadRef, int] = field(default_factory=dict)  # pods per workload in this wave


def plan_wave(candidates: Iterable[Candidate], *, open_workloads: set[WorkloadRef], budget_room: Mapping[str, int],
              implicit: Mapping[WorkloadRef, int], now: float) -> Wave:
    """The next wave across every remaining old node: for each workload whose gate is open, its waiting pods oldest
    node first, as many as every covering budget (or its implicit budget) has room for; pods of ungated kinds
    (bare pods, released Job pods) whenever their budget, if any, allows. A refused pod waits out its backoff unless
    its budget shows room. A gated workload under a budget with no room at all gets one probe (see ``Wave``)."""
    room = dict(budget_room)
    implicit_left = dict(implicit)
    chosen: list[str] = []
    per_workload: dict[WorkloadRef, int] = {}
    starved: dict[WorkloadRef, Candidate] = {}
    for c in sorted(candidates, key=lambda c: (c.node_rank, c.pod)):
        if c.held or (c.gated and c.workload not in open_workloads):
            continue
        cost = 1 if c.ready else 0
        if c.budgets:
            has_room = all(room.get(b, 0) >= max(cost, 1) for b in c.budgets)
            if c.next_try > now and not has_room:
                continue  # backing off after a refusal, and nothing has changed
            if not all(room.get(b, 0) >= cost for b in c.budgets):
                if c.next_try <= now:
                    starved.setdefault(c.workload, c)
                continue
            for b in c.budgets:
                room[b] = room.get(b, 0) - cost
        elif c.gated:
            if c.next_try > now:
                continue
            if implicit_left.get(c.workload, 0) < cost:
                continue
            implicit_left[c.workload] = implicit_left.get(c.workload, 0) - cost
        elif c.next_try > now:
            continue
        chosen.append(c.pod)
        per_workload[c.workload] = per_workload.get(c.workload, 0) + 1
    probes = tuple(c.pod for ref, c in sorted(starved.items()) if ref not in per_workload)
    for ref in starved:
        per_workload.setdefault(ref, 1)
    return Wave(tuple(chosen) + probes, probes, per_workload)


class GateStep(Enum):
    """What one look at a workload between its waves decides."""

    OPEN = "open"  # its moved pods are Ready again: its next wave may go
    WAIT = "wait"  # replacements still starting: look again next poll
    UNSCHEDULABLE = "unschedulable"  # a replacement the scheduler cannot place: stop now
    TIMED_OUT = "timed out"  # waited past rollout.workloadHealthyTimeoutSeconds: stop (or roll back)


def gate_step(*, whole: bool, unschedulable: bool, waited_s: float, timeout_s: float) -> GateStep:
    """A workload's gate after its last wave."""
    if whole:
        return GateStep.OPEN
    if unschedulable:
        return GateStep.UNSCHEDULABLE
    return GateStep.TIMED_OUT if waited_s >= timeout_s else GateStep.WAIT


#: Every this many polls a workload's gate reads its pods even while its controller says it is short, so a
#: replacement the scheduler cannot place is named without waiting for the timeout.
FULL_LOOK_EVERY = 5


def gate_needs_pods(*, status_whole: bool, excused: bool, status_only_looks: int, waited_s: float,
                    timeout_s: float) -> bool:
    """Whether a look at a workload's gate reads its pods (a list) or stops at its controller's status (one read).

    The pods decide (Ready, Pending and why), but while the controller's status still counts replacements missing
    they cannot say "whole"; so they are read when the status says whole, when an unready pod of the workload on an
    old node may be excused (``replacements.judge_workload``), after ``FULL_LOOK_EVERY - 1`` looks at the status
    alone, and at the timeout (whose message quotes them)."""
    return (status_whole or excused or waited_s >= timeout_s or status_only_looks >= FULL_LOOK_EVERY - 1)


def emptied_nodes(order: Sequence[str], open_per_node: Mapping[str, int], reported: set[str]) -> list[str]:
    """Nodes (in drain order) that hold no pod still to move and were not reported drained yet."""
    return [n for n in order if n not in reported and open_per_node.get(n, 0) == 0]



@dataclass(frozen=True)
class NodeMove:
    """One pod's move as the node timeout sees it."""

    node: str
    left_at: float | None  # when its eviction was accepted (None: not evicted yet)
    open: bool  # still to be evicted, or evicted and not gone yet


def overdue_nodes(moves: Iterable[NodeMove], *, now: float, timeout_s: float) -> list[str]:
    """Nodes still holding pods to move ``timeout_s`` after their first eviction (rollout.nodeDrainTimeoutSeconds),
    the longest-waiting first.

    Under ``paced`` every remaining node is drained at once, but a node whose pods wait for their workloads' next
    waves is queued, not stuck: its clock starts at its first eviction, as a serial node's starts when its drain
    does. A node none of whose pods has gone yet is bounded by what holds them instead (the workload's gate:
    rollout.workloadHealthyTimeoutSeconds; a refusing budget: rollout.evictionTimeoutSeconds; a Job:
    rollout.jobCompletionTimeoutSeconds), so nothing waits unbounded."""
    first: dict[str, float] = {}
    still_open: set[str] = set()
    for move in moves:
        if move.left_at is not None:
            first[move.node] = min(move.left_at, first.get(move.node, move.left_at))
        if move.open:
            still_open.add(move.node)
    late = [n for n in still_open if n in first and now - first[n] >= timeout_s]
    return sorted(late, key=lambda n: (first[n], n))
