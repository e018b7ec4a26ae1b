"""The lower bound of a serial cutover: the critical path a scenario's own delays and budgets force.

Formula (all times in simulated seconds, every input read from the scenario file):

    LB = T_gates + sum over old nodes n of T_node(n)

    T_gates = max( join_seconds + max(ready_seconds of the DaemonSets),   # new nodes Ready, their DaemonSet pods
                                                                          # Ready (the readiness gate checks both)
                   healthy_after_seconds )                                 # new targets healthy; the health checks
                                                                          # start when the instance is registered at
                                                                          # launch, so this runs beside the join
                   (the second term only when the scenario has load balancers)

    T_node(n) = max over workloads W with m = m(W, n) > 0 pods on n of
                (waves - 1) * t_replace(W) + t_last(W),   waves = ceil(m / k(W))

    k(W)         = disruptions W's budget allows with every pod healthy:
                   PDB maxUnavailable (int, or percent of replicas rounded up), or
                   replicas - minAvailable (percent rounded up), or, for a workload without a PDB, the implicit
                   budget of docs/design.md: one ready replica at a time, or the workload's own maxUnavailable --
                   for a Deployment its rolling-update maxUnavailable, which the API server defaults to 25%
                   (rounded down, never below 1); for a StatefulSet 1
    t_replace(W) = time from an eviction until its replacement is Ready, which is what frees the budget:
                   Deployment:  ready_seconds                 (the ReplicaSet replaces a pod as soon as it terminates)
                   StatefulSet: grace_seconds + ready_seconds (the same-named pod comes back only once the old is gone)
    t_last(W)    = the last wave, which must also see its evicted pods gone before the node counts as drained:
                   Deployment:  max(ready_seconds, grace_seconds)
                   StatefulSet: grace_seconds + ready_seconds

Workloads on one node drain concurrently (their budgets are independent), so a
node costs its longest chain; nodes are drained one after the other, each
starting when the previous node's replacements are Ready. Cordoning, API
latency, scheduling and scaling the old group to zero are taken as free, so
the bound is optimistic: no real tool can beat it while honouring the budgets
(a tool that ignores the implicit budget can, and the table shows that as a
ratio below 1 together with its availability dip). The pod counts per node
come from ``bench.placement``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.placement import Placement, initial_placement
from bench.shape import ScenarioShape, ShapeError, Workload, scaled


@dataclass(frozen=True)
class NodeBound:
    index: int
    seconds: float
    critical_workload: str | None  # the workload whose chain sets the node's time
    waves: int


@dataclass(frozen=True)
class LowerBound:
    gates_seconds: float
    nodes: tuple[NodeBound, ...]

    @property
    def drain_seconds(self) -> float:
        return sum(n.seconds for n in self.nodes)

    @property
    def total_seconds(self) -> float:
        return self.gates_seconds + self.drain_seconds


def allowed_disruptions(workload: Workload) -> int:
    """k(W): evictions W's budget (or the implicit budget of one) allows at once with every pod healthy."""
    pdb = workload.pdb
    if pdb is None:
        return implicit_allowance(workload)
    if pdb.max_unavailable is not None:
        allowed = scaled(pdb.max_unavailable, workload.replicas)
    else:
        assert pdb.min_available is not None
        allowed = workload.replicas - scaled(pdb.min_available, workload.replicas)
    if allowed <= 0:
        raise ShapeError(
            f"{workload.key}: its PodDisruptionBudget allows no disruption with {workload.replicas} replica(s), "
            "so no drain can finish; loosen the budget in the scenario"
        )
    return allowed


#: A Deployment's spec.strategy.rollingUpdate.maxUnavailable when the manifest does not set it (API default);
#: the scenario schema has no strategy field, so every benchmark Deployment has it.
DEPLOYMENT_MAX_UNAVAILABLE_PERCENT = 25


def implicit_allowance(workload: Workload) -> int:
    """Evictions at once for a workload without a PDB: its own maxUnavailable (rounded down), at least one."""
    if workload.kind == "Deployment":
        return max(1, math.floor(DEPLOYMENT_MAX_UNAVAILABLE_PERCENT * workload.replicas / 100))
    return 1


def replace_seconds(workload: Workload) -> float:
    """t_replace(W): eviction to Ready replacement."""
    if workload.kind == "StatefulSet":
        return workload.grace_seconds + workload.ready_seconds
    return workload.ready_seconds


def last_wave_seconds(workload: Workload) -> float:
    """t_last(W): the last wave also waits for the evicted pods to be gone."""
    if workload.kind == "StatefulSet":
        return workload.grace_seconds + workload.ready_seconds
    return max(workload.ready_seconds, workload.grace_seconds)


def gates_seconds(shape: ScenarioShape) -> float:
    """T_gates: new nodes Ready with their DaemonSet pods, and new targets healthy."""
    ds_ready = max((ds.ready_seconds for ds in shape.daemonsets), default=0.0)
    nodes_ready = shape.join_seconds + ds_ready
    if not shape.has_load_balancers:
        return nodes_ready
    return max(nodes_ready, shape.healthy_after_seconds)


def node_bound(index: int, pods: dict[str, int], workloads: dict[str, Workload]) -> NodeBound:
    """T_node(n) for one node holding ``pods`` (workload key -> count)."""
    best = NodeBound(index, 0.0, None, 0)
    for key, count in sorted(pods.items()):
        if count <= 0:
            continue
        workload = workloads[key]
        waves = math.ceil(count / allowed_disruptions(workload))
        seconds = (waves - 1) * replace_seconds(workload) + last_wave_seconds(workload)
        if seconds > best.seconds:
            best = NodeBound(index, seconds, key, waves)
    return best


def lower_bound(shape: ScenarioShape, placement: Placement | None = None) -> LowerBound:
    """LB for ``shape``; ``placement`` defaults to the modelled initial placement of its pods."""
    if placement is None:
        placement = initial_placement(shape)
    workloads = {w.key: w for w in shape.movable}
    nodes = tuple(node_bound(i, dict(pods), workloads) for i, pods in enumerate(placement))
    return LowerBound(gates_seconds=gates_seconds(shape), nodes=nodes)
