"""Whether a scenario's workloads fit its pools, decided before anything starts (the rehearsal's plan).

Each workload's pods may go only to the pools whose nodes carry every label of its nodeSelector and whose
NoSchedule/NoExecute taints it tolerates (the scheduler's NodeAffinity and TaintToleration filters,
kubernetes pkg/scheduler/framework/plugins/nodeaffinity and tainttoleration). The pods are then packed
first-fit-decreasing onto one color of each pool (``nodes_per_color`` nodes, less what the DaemonSets that land on
them request), trying the pools in cutover order; a pod that fits nowhere is a blocker naming the workload, the
pools it may use and what they lack. Packing is an estimate (the real scheduler spreads), so a plan that fits is
necessary, not sufficient: the engine's own preflight still checks the new nodes before each drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.engine.quantities import bytes_of, millicores
from bluegreen.sandbox.kube.scheduler import untolerated_taints
from bluegreen.sandbox.scenario import Pool, Scenario, Workload

_HARD_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass(frozen=True)
class PoolPlacement:
    """One pool as the plan sees it: one color's nodes, what each offers, the pods placed on them."""

    pool: str
    nodes: int
    instance_type: str
    cpu_m: int  # allocatable per node
    memory_b: int
    pods: int
    daemonsets: tuple[str, ...]  # DaemonSets with a pod on each of its nodes
    placed: dict[str, int] = field(default_factory=dict)  # "Kind ns/name" -> pods placed here
    cpu_free_m: int = 0  # left over all nodes after placing
    memory_free_b: int = 0

    def to_dict(self) -> dict:
        return {"pool": self.pool, "nodes": self.nodes, "instance_type": self.instance_type,
                "node": {"cpu_m": self.cpu_m, "memory_mi": self.memory_b // 2**20, "pods": self.pods},
                "daemonsets": list(self.daemonsets), "placed": dict(self.placed),
                "cpu_free_m": self.cpu_free_m, "memory_free_mi": self.memory_free_b // 2**20}


@dataclass(frozen=True)
class PoolPlan:
    pools: tuple[PoolPlacement, ...]
    blockers: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.blockers

    def to_dict(self) -> dict:
        return {"ok": self.ok, "pools": [p.to_dict() for p in self.pools], "blockers": list(self.blockers)}

    def lines(self) -> list[str]:
        out = []
        for p in self.pools:
            placed = ", ".join(f"{k} x{n}" for k, n in p.placed.items()) or "no workload pods"
            out.append(f"  pool {p.pool}: {p.nodes} x {p.instance_type} ({p.cpu_m}m CPU, {p.memory_b // 2**20}Mi, "
                       f"{p.pods} pods per node); {placed}; free {p.cpu_free_m}m CPU, "
                       f"{p.memory_free_b // 2**20}Mi")
        out += [f"  BLOCKER: {b}" for b in self.blockers]
        return out


def _label(workload: Workload) -> str:
    return f"{workload.kind} {workload.namespace}/{workload.name}"


def pool_refusal(workload: Workload, pool: Pool) -> str | None:
    """Why the workload's pods may not run on the pool's nodes (None: they may)."""
    labels = pool.node.labels
    missing = {k: v for k, v in workload.node_selector.items() if labels.get(k) != v}
    if missing:
        return "nodeSelector " + ", ".join(f"{k}={v}" for k, v in missing.items()) + " not on its nodes"
    taints = untolerated_taints([dict(t) for t in workload.tolerations], [dict(t) for t in pool.node.taints],
                                _HARD_EFFECTS)
    if taints:
        return "untolerated taint " + ", ".join(
            f"{t['key']}{'=' + t['value'] if t.get('value') else ''}:{t['effect']}" for t in taints)
    return None


def _capacity_key(pool: Pool) -> str:
    """Where an operator raises the pool's node count: the stack's key (the scenario's)."""
    if pool.is_default:
        return "workers.desiredCapacity (nodes_per_color)"
    return f"pools.{pool.name}.desiredCapacity (pools.{pool.name}.nodes_per_color)"


def _pod_count(workload: Workload) -> int:
    return 1 if workload.kind in ("Pod", "Job") else workload.replicas


def plan_pools(scenario: Scenario) -> PoolPlan:
    """Pure decision over the scenario: where every pod could go, and every workload that cannot fit."""
    pools = scenario.all_pools()
    # Per pool: the free (cpu, memory, pods) of each node of one color, after its DaemonSet pods.
    rooms: dict[str, list[list[int]]] = {}
    daemonsets: dict[str, list[str]] = {}
    for pool in pools:
        cpu, memory = millicores(pool.node.cpu), bytes_of(pool.node.memory)
        slots = pool.node.pods
        daemonsets[pool.name] = []
        for workload in scenario.workloads:
            if workload.kind == "DaemonSet" and pool_refusal(workload, pool) is None:
                cpu -= millicores(workload.cpu)
                memory -= bytes_of(workload.memory)
                slots -= 1
                daemonsets[pool.name].append(_label(workload))
        rooms[pool.name] = [[cpu, memory, slots] for _ in range(pool.nodes_per_color)]
    placed: dict[str, dict[str, int]] = {p.name: {} for p in pools}
    blockers: list[str] = []
    for pool in pools:
        if any(value < 0 for value in rooms[pool.name][0]):
            blockers.append(f"pool {pool.name}: the DaemonSets on its nodes ({', '.join(daemonsets[pool.name])}) "
                            f"request more than a {pool.node.instance_type} node offers. Next: a larger instance type")
    order = sorted((w for w in scenario.workloads if w.kind != "DaemonSet"),
                   key=lambda w: (-millicores(w.cpu), -bytes_of(w.memory), w.namespace, w.name))
    for workload in order:
        wanted = _pod_count(workload)
        if wanted == 0:
            continue
        allowed = [p for p in pools if pool_refusal(workload, p) is None]
        if not allowed:
            why = "; ".join(f"{p.name}: {pool_refusal(workload, p)}" for p in pools)
            blockers.append(f"{_label(workload)}: no pool may run its pods ({why}). Next: a pool with those labels "
                            "(and tolerations for its taints), or change the workload's nodeSelector/tolerations")
            continue
        cpu, memory = millicores(workload.cpu), bytes_of(workload.memory)
        left = wanted
        for pool in allowed:
            for room in rooms[pool.name]:
                while left and room[0] >= cpu and room[1] >= memory and room[2] >= 1:
                    room[0] -= cpu
                    room[1] -= memory
                    room[2] -= 1
                    left -= 1
                    placed[pool.name][_label(workload)] = placed[pool.name].get(_label(workload), 0) + 1
        if left:
            sizes = ", ".join(f"{p.name} ({p.nodes_per_color} x {p.node.instance_type}: {p.node.cpu} CPU, "
                              f"{p.node.memory}, {p.node.pods} pods per node)" for p in allowed)
            blockers.append(
                f"{_label(workload)}: {left} of its {wanted} pod(s) ({workload.cpu} CPU, {workload.memory} each) fit "
                f"on no node of the pool(s) it may use: {sizes}. Next: more nodes in "
                + " or ".join(_capacity_key(p) for p in allowed) + ", or a larger instance type")
    result = []
    for pool in pools:
        nodes = rooms[pool.name]
        result.append(PoolPlacement(
            pool=pool.name, nodes=pool.nodes_per_color, instance_type=pool.node.instance_type,
            cpu_m=millicores(pool.node.cpu), memory_b=bytes_of(pool.node.memory), pods=pool.node.pods,
            daemonsets=tuple(daemonsets[pool.name]), placed=placed[pool.name],
            cpu_free_m=sum(max(0, r[0]) for r in nodes), memory_free_b=sum(max(0, r[1]) for r in nodes),
        ))
    return PoolPlan(tuple(result), tuple(blockers))
