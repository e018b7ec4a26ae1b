"""Drain of the old color: re-check both gates, guard the groups, cordon every old node, then evict node by node
(oldest first) through the Eviction API with explicit and implicit budgets, and gate each node on the moved
workloads being fully available again."""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.engine import groups
from bluegreen.engine.budgets import Budget, budget_from_json, budgets_for
from bluegreen.engine.clock import Clock
from bluegreen.engine.errors import (
    DrainTimeout,
    EvictionBlocked,
    EvictionFailed,
    PreflightBlocked,
    WorkloadUnhealthy,
)
from bluegreen.engine.kube import WORKLOAD_PATHS
from bluegreen.engine.load_balancers import LoadBalancerSpec, wait_load_balancers_healthy
from bluegreen.engine.naming import CA_SCALE_DOWN_DISABLED, DRAIN_STATE_ANNOTATION
from bluegreen.engine.nodes import Node, drain_order, node_from_json
from bluegreen.engine.pods import Pod, classify, pod_from_json
from bluegreen.engine.preflight import PreflightReport, plan_drain
from bluegreen.engine.progress import (
    CanaryPause,
    DrainFinished,
    EvictionRefused,
    GroupGuarded,
    GroupUnguarded,
    NodeAlreadyDrained,
    NodeCordoned,
    NodeDrained,
    NodeDrainStarted,
    NodesCordoned,
    Note,
    PodEvicted,
    PodForced,
    PreflightChecked,
    Reporter,
    WorkloadHealthy,
)
from bluegreen.engine.readiness import wait_nodes_ready
from bluegreen.engine.retries import backoff_delay
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.view import read_view, replicaset_owners
from bluegreen.engine.workloads import (
    WorkloadRef,
    WorkloadStatus,
    implicit_allowance,
    ready_pods,
    workload_of,
    workload_status_from_json,
)

CORDONED, DRAINING, DRAINED = "cordoned", "draining", "drained"


@dataclass(frozen=True)
class DrainReport:
    old_group: str
    new_group: str
    nodes_drained: tuple[str, ...]
    nodes_already_drained: tuple[str, ...]
    pods_evicted: tuple[str, ...]
    pods_forced: tuple[str, ...]
    workloads: tuple[str, ...]
    seconds: float
    preflight: PreflightReport

    def to_dict(self) -> dict:
        return {
            "old_group": self.old_group, "new_group": self.new_group, "nodes_drained": list(self.nodes_drained),
            "nodes_already_drained": list(self.nodes_already_drained), "pods_evicted": len(self.pods_evicted),
            "evicted_pods": list(self.pods_evicted), "pods_forced": list(self.pods_forced),
            "workloads": list(self.workloads), "duration_s": round(self.seconds, 3),
            "preflight": self.preflight.to_dict(),
        }


# -- pure decisions ---------------------------------------------------------------------------------------------


def may_evict_implicitly(*, in_flight: int, desired: int, ready: int, allowance: int) -> bool:
    """Implicit budget of a workload without a PDB: never more than ``allowance`` replicas down or in flight."""
    unavailable = max(0, desired - ready)
    return max(unavailable, in_flight) < allowance


def workload_gap(status: WorkloadStatus | None, ready_now: int) -> str | None:
    """None when the workload is fully available again: its controller says so and its Ready pods agree."""
    if status is None:
        return None  # the workload is gone (deleted by its owner): nothing to wait for
    gap = status.gap()
    if gap:
        return gap
    if ready_now < status.desired:
        return f"{ready_now}/{status.desired} pods Ready"
    return None


def budgets_with_room(kube, pods: list[Pod], budgets: list[Budget]) -> set[str]:
    """Keys of the budgets covering ``pods`` whose status allows a disruption now (read fresh)."""
    namespaces = {b.namespace for pod in pods for b in budgets_for(pod, budgets)}
    fresh = [budget_from_json(b) for ns in sorted(namespaces)
             for b in kube.list_namespaced("/apis/policy/v1", "poddisruptionbudgets", ns)]
    return {b.key for b in fresh if b.disruptions_allowed > 0}


def next_batch(nodes: list[Node], done: set[str], size: int) -> list[Node]:
    """The next ``size`` old nodes to drain, oldest first, skipping those finished in this run."""
    return [n for n in drain_order(nodes) if n.name not in done][: max(1, size)]


# -- the drain --------------------------------------------------------------------------------------------------


@dataclass
class _Run:
    conn: object
    old: object
    new: object
    settings: RolloutSettings
    reporter: Reporter
    clock: Clock
    budgets: list[Budget] = field(default_factory=list)
    owners: dict = field(default_factory=dict)
    evicted: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)
    workloads: set[str] = field(default_factory=set)
    selectors: dict = field(default_factory=dict)  # WorkloadRef -> its label selector, as a query string

    @property
    def kube(self):
        return self.conn.kube

    def old_nodes(self) -> list[Node]:
        return [node_from_json(n) for n in self.kube.nodes_of_color(self.old.color, self.old.pool)]

    def set_state(self, node: str, state: str, *, cordon: bool = False) -> None:
        patch: dict = {"metadata": {"annotations": {DRAIN_STATE_ANNOTATION: state}}}
        if cordon:
            patch["spec"] = {"unschedulable": True}
        # A node that vanished (its instance terminated) has nothing left to drain: not an error.
        self.kube.patch_node(node, patch, missing_ok=True)

    def status_of(self, ref: WorkloadRef) -> WorkloadStatus | None:
        where = WORKLOAD_PATHS.get(ref.kind)
        if where is None or ref.kind == "DaemonSet":
            return None
        obj = self.kube.get_namespaced(where[0], where[1], ref.namespace, ref.name)
        if obj is not None and ref not in self.selectors:
            match = ((obj.get("spec") or {}).get("selector") or {})
            labels = match.get("matchLabels") or {}
            if labels and not match.get("matchExpressions"):
                self.selectors[ref] = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        return None if obj is None else workload_status_from_json(ref, obj)

    def live_pods(self, namespaces: set[str]) -> list[Pod]:
        """Pods of the namespaces involved only: a drain polls this, and a cluster-wide list of a big cluster
        every few seconds would cost the API server far more than the drain needs."""
        return [pod_from_json(p) for ns in sorted(namespaces) for p in self.kube.list_pods(namespace=ns)]

    def node_pods(self, nodes: list[str]) -> list[Pod]:
        """Pods still bound to ``nodes`` (an evicted pod stays on its node until it is gone)."""
        return [pod_from_json(p) for name in nodes for p in self.kube.list_pods(node=name)]

    def workload_pods(self, ref: WorkloadRef) -> list[Pod]:
        """The pods of one workload, by its own label selector (its namespace's pods when it has none usable)."""
        selector = self.selectors.get(ref)
        if selector is None:
            return [p for p in self.live_pods({ref.namespace}) if workload_of(p, self.owners) == ref]
        pods = self.kube.list_pods(namespace=ref.namespace, label_selector=selector)
        return [p for p in map(pod_from_json, pods) if workload_of(p, self.owners) == ref]


def drain(conn, old, new, settings: RolloutSettings, reporter: Reporter, clock: Clock, *,
          expected: LoadBalancerSpec | None = None) -> DrainReport:
    """Move every pod off the old color's nodes onto the new color's, or stop with a named error leaving the old
    color serving (cordoned). Safe to re-run after any failure or crash: finished nodes are recognised."""
    start = clock.now()
    # The drain must never start on an unverified new group, whatever the caller did before.
    wait_nodes_ready(conn, new, settings, reporter, clock)
    wait_load_balancers_healthy(conn, new, settings, reporter, clock, expected=expected,
                                like_group=None if expected is not None else old.group_name)
    view = read_view(conn.kube, old.color, new.color, pool=old.pool)
    report = plan_drain(view, settings, new_desired=new.desired)
    reporter.emit(PreflightChecked(len(report.old_nodes), report.pods_to_move, len(report.blockers)))
    if report.blockers:
        raise PreflightBlocked(list(report.blockers))
    run = _Run(conn, old, new, settings, reporter, clock, list(view.budgets), dict(view.replicaset_owners))
    guard(run, [n.name for n in view.new_nodes])
    try:
        drained, already = _drain_all(run)
    except Exception:
        unguard(run)  # best effort; the old nodes stay cordoned and keep serving
        raise
    unguard(run)
    seconds = clock.now() - start
    reporter.emit(DrainFinished(len(drained) + len(already), len(run.evicted), seconds))
    return DrainReport(old.group_name, new.group_name, tuple(drained), tuple(already), tuple(run.evicted),
                       tuple(run.forced), tuple(sorted(run.workloads)), seconds, report)


def guard(run: _Run, new_nodes: list[str]) -> None:
    """The old group must not grow while it drains; new nodes must not be scaled down by cluster-autoscaler."""
    groups.suspend_growth(run.conn.autoscaling, run.old.group_name)
    for name in new_nodes:
        run.kube.patch_node(name, {"metadata": {"annotations": {CA_SCALE_DOWN_DISABLED: "true"}}})
    run.reporter.emit(GroupGuarded(run.old.group_name, len(new_nodes)))


def unguard(run: _Run) -> None:
    try:
        groups.resume_growth(run.conn.autoscaling, run.old.group_name)
        # The new group never needs a guard either: an earlier run killed mid-drain the other way round
        # (a rollback) may have left it suspended.
        groups.resume_growth(run.conn.autoscaling, run.new.group_name)
        for node in run.kube.nodes_of_color(run.new.color, run.new.pool):
            if CA_SCALE_DOWN_DISABLED in ((node.get("metadata") or {}).get("annotations") or {}):
                unprotect = {"metadata": {"annotations": {CA_SCALE_DOWN_DISABLED: None}}}
                run.kube.patch_node(node["metadata"]["name"], unprotect)
    except Exception as exc:  # must not hide the drain's own error; the next run lifts the guard again
        run.reporter.emit(Note(f"could not lift the guard on {run.old.group_name} ({exc}); the next run will"))
        return
    run.reporter.emit(GroupUnguarded(run.old.group_name))


def _cordon_all(run: _Run, nodes: list[Node]) -> None:
    for node in drain_order(nodes):
        if not node.unschedulable or node.drain_state is None:
            run.set_state(node.name, node.drain_state or CORDONED, cordon=True)
            run.reporter.emit(NodeCordoned(node.name))


def _drain_all(run: _Run) -> tuple[list[str], list[str]]:
    nodes = run.old_nodes()
    _cordon_all(run, nodes)
    run.reporter.emit(NodesCordoned(len(nodes)))
    total = len(nodes)
    done: set[str] = set()
    drained: list[str] = []
    already: list[str] = []
    while True:
        # Re-list every pass, so a node that appears mid-drain is cordoned and drained too.
        nodes = run.old_nodes()
        _cordon_all(run, [n for n in nodes if not n.unschedulable])
        batch = next_batch(nodes, done, run.settings.max_parallel_nodes)
        if not batch:
            return drained, already
        total = max(total, len(nodes))
        first = not drained
        moved = _drain_batch(run, batch, len(done), total)
        for node in batch:
            done.add(node.name)
            (drained if moved.get(node.name) is not None else already).append(node.name)
        more = any(n.name not in done for n in nodes)
        if first and drained and more and run.settings.canary_pause_s > 0:
            # Watch the canary: the first drained node's workloads run on the new color before going on.
            run.reporter.emit(CanaryPause(run.settings.canary_pause_s))
            run.clock.sleep(run.settings.canary_pause_s)


def _drain_batch(run: _Run, batch: list[Node], done_before: int, total: int) -> dict[str, int | None]:
    """Drain ``batch`` together; returns node -> pods evicted (None for a node already drained earlier)."""
    settings, clock, kube = run.settings, run.clock, run.kube
    start = clock.now()
    run.owners = replicaset_owners(kube.list_all("/apis/apps/v1", "replicasets"))
    run.budgets = [budget_from_json(b) for b in kube.list_all("/apis/policy/v1", "poddisruptionbudgets")]
    pending: list[tuple[Pod, WorkloadRef]] = []
    result: dict[str, int | None] = {}
    blockers: list[str] = []
    for index, node in enumerate(batch, start=done_before + 1):
        pods = [pod_from_json(p) for p in kube.list_pods(node=node.name)]
        verdicts = [classify(p, settings) for p in pods]
        blockers += [v.reason for v in verdicts if v.action == "block"]
        evictable = [v.pod for v in verdicts if v.action == "evict"]
        if node.drain_state == DRAINED and not evictable:
            run.reporter.emit(NodeAlreadyDrained(node.name))
            result[node.name] = None
            continue
        run.set_state(node.name, DRAINING)
        run.reporter.emit(NodeDrainStarted(node.name, index, total, len(evictable)))
        result[node.name] = 0
        pending += [(p, workload_of(p, run.owners)) for p in evictable]
    if blockers:
        raise PreflightBlocked(blockers)
    in_flight: dict[str, tuple[Pod, WorkloadRef]] = {}
    refused_since: dict[str, float] = {}
    attempts: dict[str, int] = {}
    next_try: dict[str, float] = {}
    statuses: dict[WorkloadRef, WorkloadStatus | None] = {}
    touched: set[WorkloadRef] = set()
    while pending or in_flight:
        now = clock.now()
        if now - start >= settings.node_drain_timeout_s:
            names = [p.key for p, _ in pending] + [p.key for p, _ in in_flight.values()]
            raise DrainTimeout(", ".join(n.name for n in batch), now - start, names)
        live_uids = {p.uid for p in run.node_pods([n.name for n in batch])} if in_flight else set()
        workload_live: dict[WorkloadRef, list[Pod]] = {}
        for uid in [u for u in in_flight if u not in live_uids]:
            del in_flight[uid]  # gone: its replacement is scheduled elsewhere (every old node is cordoned)
        # A refused eviction waits out its backoff, unless its budget shows room again: one small list of PDBs
        # per poll instead of a retry that lands seconds after the replacement became Ready.
        backing_off = [pod for pod, _ in pending if next_try.get(pod.key, 0.0) > now]
        room = budgets_with_room(run.kube, backing_off, run.budgets) if backing_off else set()
        for pod, ref in list(pending):
            if next_try.get(pod.key, 0.0) > now and not any(b.key in room for b in budgets_for(pod, run.budgets)):
                continue
            covering = budgets_for(pod, run.budgets)
            if not covering and ref.kind != "Pod":
                if ref not in statuses:
                    statuses[ref] = run.status_of(ref)
                status = statuses[ref]
                if status is not None:
                    if ref not in workload_live:
                        workload_live[ref] = run.workload_pods(ref)
                    ready = ready_pods(workload_live[ref])
                    flying = sum(1 for _, r in in_flight.values() if r == ref)
                    if not may_evict_implicitly(in_flight=flying, desired=status.desired, ready=ready,
                                                allowance=implicit_allowance(status)):
                        continue
            answer = kube.evict_pod(pod.namespace, pod.name)
            if answer.outcome in ("evicted", "gone"):
                pending.remove((pod, ref))
                if answer.outcome == "evicted":
                    in_flight[pod.uid] = (pod, ref)
                    touched.add(ref)
                    run.evicted.append(pod.key)
                    run.workloads.add(str(ref))
                    result[pod.node] = (result.get(pod.node) or 0) + 1
                    run.reporter.emit(PodEvicted(pod.key, pod.node or "", str(ref)))
                continue
            if answer.outcome == "failed":
                raise EvictionFailed(pod.key, answer.status, answer.message)
            # Refused (429): a budget says not now. Retry with backoff and jitter until the eviction timeout.
            first = refused_since.setdefault(pod.key, now)
            attempts[pod.key] = attempts.get(pod.key, 0) + 1
            pdb = answer.pdb or (covering[0].key if covering else None)
            if answer.pdb and "/" not in answer.pdb:  # a PDB lives in its pod's namespace
                pdb = f"{pod.namespace}/{answer.pdb}"
            if attempts[pod.key] == 1 or attempts[pod.key] % 10 == 0:
                run.reporter.emit(EvictionRefused(pod.key, pdb, attempts[pod.key], now - first))
            if now - first >= settings.eviction_timeout_s:
                if settings.on_pdb_timeout != "force":
                    raise EvictionBlocked(pod.key, pdb, now - first, answer.message)
                kube.delete_pod(pod.namespace, pod.name)
                pending.remove((pod, ref))
                in_flight[pod.uid] = (pod, ref)
                touched.add(ref)
                run.forced.append(pod.key)
                run.workloads.add(str(ref))
                result[pod.node] = (result.get(pod.node) or 0) + 1
                run.reporter.emit(PodForced(pod.key, pod.node or "", pdb))
                continue
            next_try[pod.key] = now + backoff_delay(attempts[pod.key], base_s=settings.poll_interval_s,
                                                    cap_s=settings.poll_interval_s * 6)
        if pending or in_flight:
            clock.sleep(settings.poll_interval_s)
    _wait_workloads(run, touched, start)
    for index, node in enumerate(batch, start=done_before + 1):
        if result.get(node.name) is None:
            continue
        run.set_state(node.name, DRAINED)
        run.reporter.emit(NodeDrained(node.name, index, total, result[node.name] or 0, clock.now() - start))
    return result


def _wait_workloads(run: _Run, touched: set[WorkloadRef], node_start: float) -> None:
    """Workload health gate: every workload that lost a pod is fully available before the next node."""
    settings, clock = run.settings, run.clock
    start = clock.now()
    waiting = {ref for ref in touched if ref.kind != "Pod"}
    while waiting:
        for ref in sorted(waiting):
            status = run.status_of(ref)
            ready = ready_pods(run.workload_pods(ref))
            gap = workload_gap(status, ready)
            if gap is None:
                waiting.discard(ref)
                run.reporter.emit(WorkloadHealthy(str(ref), ready, status.desired if status else ready))
            else:
                now = clock.now()
                if now - start >= settings.workload_healthy_timeout_s:
                    raise WorkloadUnhealthy(str(ref), now - start, gap)
                if now - node_start >= settings.node_drain_timeout_s:
                    raise DrainTimeout(str(ref), now - node_start, [f"{ref}: {gap}"])
        if waiting:
            clock.sleep(settings.poll_interval_s)
