"""The lower bounds of a cutover, serial and paced: the critical path a scenario's own delays and budgets force.

Serial (``lower_bound``; the paced bound, ``paced_lower_bound``, is documented at its own code below).

Formula (all times in simulated seconds, every input read from the scenario file):

    LB = T_gates + sum over old nodes n of T_node(n) + T_pause

    T_pause = rollout.canaryPauseSeconds (0 unless the scenario sets it): the pause after the first node

    T_gates = max( join_seconds + t_start + max(ready_seconds of the DaemonSets),  # new nodes Ready, their
                                                                          # DaemonSet pods Ready (the readiness
                                                                          # gate checks both)
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
    t_start      = timing.schedule_seconds + timing.container_start_seconds (the sandbox's defaults, 0 + 1, when
                   the scenario has no timing block): what every new pod takes until its container runs, before its
                   readiness delay starts
    t_replace(W) = time from an eviction until its replacement is Ready, which is what frees the budget:
                   Deployment:  t_start + ready_seconds       (the ReplicaSet replaces a pod as soon as it is evicted)
                   StatefulSet: grace_seconds + t_start + ready_seconds (the same-named pod comes back only once the
                                old one is gone)
    t_last(W)    = the last wave, which must also see its evicted pods gone before the node counts as drained:
                   Deployment:  max(t_start + ready_seconds, grace_seconds)
                   StatefulSet: grace_seconds + t_start + ready_seconds

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
    canary_pause_seconds: float = 0.0

    @property
    def drain_seconds(self) -> float:
        return sum(n.seconds for n in self.nodes) + (self.canary_pause_seconds if len(self.nodes) > 1 else 0.0)

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


def replace_seconds(workload: Workload, start_seconds: float = 0.0) -> float:
    """t_replace(W): eviction to Ready replacement (``start_seconds``: t_start)."""
    if workload.kind == "StatefulSet":
        return workload.grace_seconds + start_seconds + workload.ready_seconds
    return start_seconds + workload.ready_seconds


def last_wave_seconds(workload: Workload, start_seconds: float = 0.0) -> float:
    """t_last(W): the last wave also waits for the evicted pods to be gone."""
    if workload.kind == "StatefulSet":
        return workload.grace_seconds + start_seconds + workload.ready_seconds
    return max(start_seconds + workload.ready_seconds, workload.grace_seconds)


def gates_seconds(shape: ScenarioShape) -> float:
    """T_gates: new nodes Ready with their DaemonSet pods, and new targets healthy."""
    ds_ready = max((shape.start_seconds + ds.ready_seconds for ds in shape.daemonsets), default=0.0)
    nodes_ready = shape.join_seconds + ds_ready
    if not shape.has_load_balancers:
        return nodes_ready
    return max(nodes_ready, shape.healthy_after_seconds)


def node_bound(index: int, pods: dict[str, int], workloads: dict[str, Workload],
               start_seconds: float = 0.0) -> NodeBound:
    """T_node(n) for one node holding ``pods`` (workload key -> count)."""
    best = NodeBound(index, 0.0, None, 0)
    for key, count in sorted(pods.items()):
        if count <= 0:
            continue
        workload = workloads[key]
        waves = math.ceil(count / allowed_disruptions(workload))
        seconds = (waves - 1) * replace_seconds(workload, start_seconds) + last_wave_seconds(workload, start_seconds)
        if seconds > best.seconds:
            best = NodeBound(index, seconds, key, waves)
    return best


def lower_bound(shape: ScenarioShape, placement: Placement | None = None) -> LowerBound:
    """LB for ``shape``; ``placement`` defaults to the modelled initial placement of its pods."""
    if placement is None:
        placement = initial_placement(shape)
    workloads = {w.key: w for w in shape.movable}
    nodes = tuple(node_bound(i, dict(pods), workloads, shape.start_seconds) for i, pods in enumerate(placement))
    return LowerBound(gates_seconds=gates_seconds(shape), nodes=nodes, canary_pause_seconds=shape.canary_pause_seconds)


# -- the paced strategy ---------------------------------------------------------------------------------------
#
# The paced strategy (rollout.strategy: paced; bluegreen/engine/paced.py) drains the oldest node alone as its
# canary, then evicts from every remaining old node at once, each workload in waves its budget allows and each wave
# only once the previous one's replacements are Ready. Its bound, from the scenario file alone:
#
#     LB_paced = T_gates + T_node(canary) + T_pause + max over workloads W of T_chain(W)
#
#     T_node(canary) = T_node of the first (oldest) old node, exactly as in the serial bound above
#     T_chain(W)     = (ceil(M / k(W)) - 1) * t_replace(W) + t_last(W),   M = M(W) > 0
#     M(W)           = pods of W on every old node but the canary (the same placement model)
#
# with k, t_replace and t_last as in the serial bound. Workloads' chains run side by side (their budgets are
# independent; a node holds no chain up, since every old node is cordoned and drains at once), so the drain after
# the canary costs its longest chain, not the number of nodes. Cordoning, API latency and scheduling are free, as
# in the serial bound, so no drain that honours the budgets and starts with a canary node can beat it.


@dataclass(frozen=True)
class WorkloadChain:
    workload: str
    pods: int  # M: its pods on the old nodes after the canary
    waves: int
    seconds: float


@dataclass(frozen=True)
class PacedLowerBound:
    gates_seconds: float
    canary: NodeBound | None  # None: no old node at all
    chains: tuple[WorkloadChain, ...]
    canary_pause_seconds: float = 0.0

    @property
    def critical(self) -> WorkloadChain | None:
        """The longest chain: the workload that sets the paced phase's time."""
        return max(self.chains, key=lambda c: (c.seconds, c.workload), default=None)

    @property
    def drain_seconds(self) -> float:
        canary = self.canary.seconds if self.canary is not None else 0.0
        critical = self.critical
        if critical is None:
            return canary
        return canary + self.canary_pause_seconds + critical.seconds

    @property
    def total_seconds(self) -> float:
        return self.gates_seconds + self.drain_seconds


def chain_bound(key: str, pods: int, workload: Workload, start_seconds: float = 0.0) -> WorkloadChain:
    """T_chain(W) for ``pods`` (> 0) pods of one workload spread over the old nodes after the canary."""
    waves = math.ceil(pods / allowed_disruptions(workload))
    seconds = (waves - 1) * replace_seconds(workload, start_seconds) + last_wave_seconds(workload, start_seconds)
    return WorkloadChain(key, pods, waves, seconds)


def paced_lower_bound(shape: ScenarioShape, placement: Placement | None = None) -> PacedLowerBound:
    """LB_paced for ``shape``; ``placement`` defaults to the modelled initial placement of its pods."""
    if placement is None:
        placement = initial_placement(shape)
    workloads = {w.key: w for w in shape.movable}
    canary = node_bound(0, dict(placement[0]), workloads, shape.start_seconds) if placement else None
    rest: dict[str, int] = {}
    for pods in placement[1:]:
        for key, count in pods.items():
            rest[key] = rest.get(key, 0) + count
    chains = tuple(chain_bound(key, count, workloads[key], shape.start_seconds)
                   for key, count in sorted(rest.items()) if count > 0)
    return PacedLowerBound(gates_seconds(shape), canary, chains, shape.canary_pause_seconds)
