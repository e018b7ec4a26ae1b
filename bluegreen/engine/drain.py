"""Drain of the old color: re-check both gates, guard the groups, cordon every old node, then evict node by node
(oldest first) through the Eviction API with explicit and implicit budgets, gate each node on the moved workloads
being fully available again, and verify the result before reporting success.

Shaped like kubectl's drain helper (k8s.io/kubectl/pkg/drain: ``Helper.GetPodsForDeletion`` filters the pods,
``Helper.DeleteOrEvictPods`` evicts them, ``waitForDelete`` waits until they are gone), as small units over one
typed run state (``RunState``):

* ``plan_batch``: which pods of a batch of nodes move, which stay, what blocks (pure);
* ``evict_pass``: one eviction attempt for each pod that may go now (typed outcomes, ``eviction.py``);
* ``reap``: evicted pods whose UID left their node;
* ``check_replacements``: a replacement the scheduler cannot place stops the run before any further eviction;
* ``health_gate``: every workload that lost a pod is whole again before the next node (``replacements.py``);
* ``verify``: success only when the old nodes hold nothing to move and every workload is whole, nothing Pending.

Whatever stops a run, the stop invariant (``stop.py``) is applied before the error is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bluegreen.engine import groups
from bluegreen.engine.bake import bake
from bluegreen.engine.budgets import Budget, budget_from_json, budgets_for, loosen_advice
from bluegreen.engine.clock import Clock
from bluegreen.engine.cordons import CORDONED, DRAINED, DRAINING, set_state
from bluegreen.engine.errors import (
    CutoverError,
    DrainTimeout,
    DrainUnverified,
    EvictionBlocked,
    EvictionFailed,
    JobNotComplete,
    PodsStuckTerminating,
    PreflightBlocked,
    ReplacementUnschedulable,
    RolledBack,
    SignalFailed,
    WorkloadUnhealthy,
)
from bluegreen.engine.eviction import (
    EvictionOutcome,
    ForceDelete,
    GiveUp,
    JobWait,
    MovePhase,
    PodMove,
    RetryAt,
    after_job_wait,
    after_refusal,
    implicit_room,
    is_stuck,
    may_evict_implicitly,
    may_try_now,
    node_state,
    refusing_budget,
    replacement_due,
    should_report_refusal,
)
from bluegreen.engine.gates import wait_gates
from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.kube import WORKLOAD_PATHS
from bluegreen.engine.load_balancers import LoadBalancerSpec
from bluegreen.engine.naming import CA_SCALE_DOWN_DISABLED
from bluegreen.engine.node_events import NodeEventRecorder
from bluegreen.engine.nodes import Node, drain_order, node_from_json
from bluegreen.engine.notify import Notifier, NotifyEvent
from bluegreen.engine.opt_outs import wait_for_opt_outs
from bluegreen.engine.paced import (
    UNGATED_KINDS,
    Candidate,
    GateStep,
    NodeMove,
    emptied_nodes,
    gate_needs_pods,
    gate_step,
    overdue_nodes,
    plan_wave,
)
from bluegreen.engine.pods import Pod, classify, pod_from_json
from bluegreen.engine.preflight import PreflightReport, plan_drain
from bluegreen.engine.progress import (
    CanaryPause,
    DeleteNotAwaited,
    DrainFinished,
    DrainVerified,
    EvictionRefused,
    FanOutReporter,
    GroupGuarded,
    GroupUnguarded,
    NodeAlreadyDrained,
    NodeCordoned,
    NodeDrained,
    NodeDrainStarted,
    NodesCordoned,
    Note,
    PacedDrainStarted,
    PodEvicted,
    PodForced,
    PodStuckTerminating,
    PreflightChecked,
    Reporter,
    WaveEvicted,
    WorkloadHealthy,
)
from bluegreen.engine.replacements import Health, WorkloadVerdict, judge_workload, workload_gap
from bluegreen.engine.rollback import roll_back
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.signals import SignalWatch, health_gate_failure
from bluegreen.engine.stop import StopState, kept_off_by_cordon, settle_stop, workloads_to_check
from bluegreen.engine.surge import move_by_surge, single_replicas_in_view
from bluegreen.engine.view import ClusterView, read_view, replicaset_owners
from bluegreen.engine.watch import DRAIN_COLLECTIONS, fresh, watching
from bluegreen.engine.workloads import (
    WorkloadRef,
    WorkloadStatus,
    generic_status,
    implicit_allowance,
    is_generic_owner,
    ready_pods,
    workload_of,
    workload_status_from_json,
)

__all__ = [
    "CORDONED", "DRAINED", "DRAINING", "DrainReport", "DrainRun", "ForcedPod", "RunState", "baseline_ready",
    "drain", "drain_old_nodes", "may_evict_implicitly", "next_batch", "plan_batch", "workload_gap",
]


@dataclass(frozen=True)
class ForcedPod:
    """A pod deleted past its disruption budget (rollout.onPdbTimeout=force)."""

    pod: str
    node: str
    budget: str | None

    def to_dict(self) -> dict:
        return {"pod": self.pod, "node": self.node, "budget": self.budget}


@dataclass(frozen=True)
class DrainReport:
    old_group: str
    new_group: str
    nodes_drained: tuple[str, ...]
    nodes_already_drained: tuple[str, ...]
    pods_evicted: tuple[str, ...]
    forced: tuple[ForcedPod, ...]
    workloads: tuple[str, ...]
    seconds: float
    preflight: PreflightReport
    verified: tuple[tuple[str, int, int], ...] = ()  # (workload, ready, desired) as verified at the end
    not_awaited: tuple[str, ...] = ()  # evicted pods on a NotReady/unreachable old node, left Terminating
    surged: tuple[str, ...] = ()  # pods moved by surge (a rolling restart: deleted by their controller, not evicted)

    @property
    def pods_forced(self) -> tuple[str, ...]:
        return tuple(f.pod for f in self.forced)

    @property
    def result(self) -> str:
        """"forced" when a pod was deleted past its budget, else "ok": a forced drain is never a plain success."""
        return "forced" if self.forced else "ok"

    def to_dict(self) -> dict:
        return {
            "result": self.result, "old_group": self.old_group, "new_group": self.new_group,
            "nodes_drained": list(self.nodes_drained), "nodes_already_drained": list(self.nodes_already_drained),
            "pods_evicted": len(self.pods_evicted), "evicted_pods": list(self.pods_evicted),
            "pods_forced": list(self.pods_forced), "forced": [f.to_dict() for f in self.forced],
            "workloads": list(self.workloads), "duration_s": round(self.seconds, 3),
            "verified": {w: {"ready": r, "desired": d} for w, r, d in self.verified},
            "preflight": self.preflight.to_dict(), "pods_not_awaited": list(self.not_awaited),
            "pods_moved_by_surge": len(self.surged), "surged_pods": list(self.surged),
        }


# -- pure decisions ---------------------------------------------------------------------------------------------


def next_batch(nodes: list[Node], done: set[str], size: int) -> list[Node]:
    """The next ``size`` old nodes to drain, oldest first, skipping those finished in this run."""
    return [n for n in drain_order(nodes) if n.name not in done][: max(1, size)]


@dataclass(frozen=True)
class NodeWork:
    node: Node
    evictable: tuple[Pod, ...]
    already_drained: bool  # a hint from an earlier run, confirmed: nothing left to evict on it


@dataclass(frozen=True)
class BatchPlan:
    nodes: tuple[NodeWork, ...]
    blockers: tuple[str, ...]


def plan_batch(pods_by_node: list[tuple[Node, list[Pod]]], settings: RolloutSettings) -> BatchPlan:
    """Which pods of each node move (kubectl's drain filters, ``pods.classify``) and what blocks the batch.

    The node's ``drained`` annotation is only a hint: a node counts as already drained when it says so AND holds
    nothing to evict now."""
    work, blockers = [], []
    for node, pods in pods_by_node:
        verdicts = [classify(p, settings) for p in pods]
        blockers += [v.reason for v in verdicts if v.action == "block"]
        evictable = tuple(v.pod for v in verdicts if v.action == "evict")
        work.append(NodeWork(node, evictable, node.drain_state == DRAINED and not evictable))
    return BatchPlan(tuple(work), tuple(blockers))


def baseline_ready(view: ClusterView, old_names: set[str], settings: RolloutSettings) -> dict[WorkloadRef, int]:
    """Ready pods of every workload with a pod to move on the old nodes, before the run touches anything."""
    refs = {view.workload(p) for p in view.pods
            if p.node in old_names and classify(p, settings).action == "evict"}
    refs = {r for r in refs if r.kind != "Pod"}
    by_ref: dict[WorkloadRef, list[Pod]] = {r: [] for r in refs}
    for pod in view.pods:
        ref = view.workload(pod)
        if ref in by_ref:
            by_ref[ref].append(pod)
    return {ref: ready_pods(pods) for ref, pods in by_ref.items()}


def describe_open_move(move: PodMove, now: float) -> str:
    """What an unfinished move waits on, for a timeout's message."""
    if move.leaving and move.stuck:
        return (f"{move.pod.key} (stuck Terminating {now - (move.left_at or now):.0f}s after its eviction, grace "
                f"period {move.pod.grace_s:.0f}s: {move.stuck})")
    if move.leaving:
        return f"{move.pod.key} (evicted {now - (move.left_at or now):.0f}s ago, still on {move.pod.node})"
    if move.workload.kind == "Job" and not move.released:
        return f"{move.pod.key} (a running Job pod, waited for to complete)"
    if move.attempts:
        return f"{move.pod.key} (refused by budget {move.pdb or '(implicit)'} {move.attempts} time(s))"
    return f"{move.pod.key} (not evicted yet: its workload's implicit budget is used up)"


def refusal_advice(budget: Budget | None, verdict: WorkloadVerdict | None) -> str:
    """The next step after a budget kept refusing: never "force" while the workload waits on its own pods (forcing
    would take it lower still), never "scale up" where that cannot help."""
    if verdict is not None and verdict.health is Health.UNSCHEDULABLE:
        return (f"the budget waits for {verdict.ref}, which is {verdict.why()}; make room for that pod on the new "
                "color, then re-run")
    if verdict is not None and verdict.health is Health.STARTING:
        return (f"the budget waits for {verdict.ref}, which is {verdict.why()}; once its pods are Ready, re-run "
                "(or raise rollout.evictionTimeoutSeconds)")
    loosen = loosen_advice(budget) if budget is not None else "scale the workload up or loosen the budget"
    return f"{loosen}, then re-run; or set rollout.onPdbTimeout=force to delete past the budget"


# -- the run state ----------------------------------------------------------------------------------------------


@dataclass
class RunState:
    """Everything one drain run did so far: the one mutable record the units below update."""

    baseline: dict[WorkloadRef, int] = field(default_factory=dict)  # Ready pods before the run
    moves: list[PodMove] = field(default_factory=list)  # every pod this run set out to move, in order
    drained: list[str] = field(default_factory=list)  # nodes drained by this run
    already: list[str] = field(default_factory=list)  # nodes found drained (and re-verified empty)
    verified: tuple[WorkloadVerdict, ...] = ()
    surged: list[str] = field(default_factory=list)  # old pods moved by surge (surge.py), not evicted

    @property
    def evicted(self) -> list[str]:
        return [m.pod.key for m in self.moves if m.left_at is not None and not m.forced]

    @property
    def forced(self) -> list[ForcedPod]:
        return [ForcedPod(m.pod.key, m.pod.node or "", m.pdb) for m in self.moves if m.forced]

    @property
    def not_awaited(self) -> list[str]:
        return [m.pod.key for m in self.moves if m.not_awaited]

    @property
    def touched(self) -> set[WorkloadRef]:
        """Workloads that lost a pod in this run."""
        return {m.workload for m in self.moves if m.left_at is not None}

    def known(self) -> set[WorkloadRef]:
        return set(self.baseline) | self.touched


@dataclass
class DrainRun:
    """The run's context (connection, groups, settings, reporter, clock), its caches and its state."""

    conn: object
    old: GroupSpec
    new: GroupSpec
    settings: RolloutSettings
    reporter: Reporter
    clock: Clock
    budgets: list[Budget] = field(default_factory=list)
    owners: dict = field(default_factory=dict)
    selectors: dict = field(default_factory=dict)  # WorkloadRef -> its label selector, as a query string
    state: RunState = field(default_factory=RunState)
    primed: bool = False
    watch: SignalWatch | None = None  # the health signals (rollout.alarms, rollout.healthCommand), when configured
    to_drain: frozenset[str] = frozenset()  # old nodes not drained yet: their unready pods do not hold a gate

    @property
    def kube(self):
        return self.conn.kube

    def prime(self, view: ClusterView) -> None:
        """Budgets, owners and each moving workload's Ready count before the run, from one cluster view."""
        self.budgets = list(view.budgets)
        self.owners = dict(view.replicaset_owners)
        self.state.baseline = baseline_ready(view, {n.name for n in view.old_nodes}, self.settings)
        self.primed = True

    def reversed(self) -> DrainRun:
        """The same drain the other way round (the rollback): the new color's nodes drained onto the old color's,
        with the same budgets and health gate, watching no signal."""
        return DrainRun(self.conn, self.new, self.old, self.settings.without_signals(), self.reporter, self.clock)

    def old_nodes(self) -> list[Node]:
        return [node_from_json(n) for n in self.kube.nodes_of_color(self.old.color, self.old.pool)]

    def status_of(self, ref: WorkloadRef) -> WorkloadStatus | None:
        if is_generic_owner(ref.kind):
            return generic_status(ref, self.state.baseline.get(ref, 0), self.workload_pods(ref))
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

    def node_pods(self, nodes: list[str]) -> list[Pod]:
        """Pods still bound to ``nodes`` (an evicted pod stays on its node until it is gone)."""
        return [pod_from_json(p) for name in nodes for p in self.kube.list_pods(node=name)]

    def workload_pods(self, ref: WorkloadRef) -> list[Pod]:
        """The pods of one workload, by its own label selector (its namespace's pods when it has none usable).
        Only the namespaces involved are read: a drain polls this, and a cluster-wide list of a big cluster every
        few seconds would cost the API server far more than the drain needs."""
        selector = self.selectors.get(ref)
        pods = list(map(pod_from_json, self.kube.list_pods(namespace=ref.namespace, label_selector=selector)))
        self.learn_owners(ref.namespace, selector, pods)
        return [p for p in pods if workload_of(p, self.owners) == ref]

    def read_many(self, refs: list[WorkloadRef], *, pods: bool) -> dict[WorkloadRef, tuple]:
        """``status_of`` (and, with ``pods``, ``workload_pods``) of several workloads, their requests sent
        concurrently (the paced strategy looks at many workloads per poll); owners are learnt on this thread."""
        def fetch(ref: WorkloadRef) -> tuple:
            status = self.status_of(ref)
            if not pods:
                return (status,)
            return status, self.kube.list_pods(namespace=ref.namespace, label_selector=self.selectors.get(ref))

        if len(refs) > 1:
            with ThreadPoolExecutor(max_workers=min(EVICTION_WORKERS, len(refs))) as pool:
                fetched = dict(zip(refs, pool.map(fetch, refs), strict=True))
        else:
            fetched = {ref: fetch(ref) for ref in refs}
        if not pods:
            return fetched
        read: dict[WorkloadRef, tuple] = {}
        for ref, (status, items) in fetched.items():
            found = list(map(pod_from_json, items))
            self.learn_owners(ref.namespace, self.selectors.get(ref), found)
            read[ref] = (status, [p for p in found if workload_of(p, self.owners) == ref])
        return read

    def learn_owners(self, namespace: str, selector: str | None, pods: list[Pod]) -> None:
        """Fresh owners on every poll: a pod owned by a ReplicaSet the run has not seen (a rollout's new one)
        makes the ReplicaSets of that workload be read again, by its selector (a Deployment's ReplicaSets carry
        its template's labels), never cluster-wide."""
        if any(p.owner_kind == "ReplicaSet" and (p.namespace, p.owner_name) not in self.owners for p in pods):
            found = self.kube.list_namespaced("/apis/apps/v1", "replicasets", namespace, label_selector=selector)
            self.owners = {**self.owners, **replicaset_owners(found)}

    def verdict(self, ref: WorkloadRef) -> WorkloadVerdict:
        status = self.status_of(ref)
        return judge_workload(ref, status, self.workload_pods(ref), self.to_drain)


# -- the drain --------------------------------------------------------------------------------------------------


def drain(conn, old: GroupSpec, new: GroupSpec, settings: RolloutSettings, reporter: Reporter, clock: Clock, *,
          expected: LoadBalancerSpec | None = None) -> DrainReport:
    """Move every pod off the old color's nodes onto the new color's, verified, or stop with a named error that
    states what it left behind (the stop invariant applied: see ``stop.py``). Safe to re-run after any failure or
    crash: progress annotations let it skip finished nodes, after checking them again. With rollout.notifyUrl,
    its start, failure, rollback or success is posted there (``notify.py``)."""
    notifier = Notifier(settings.notify_url, old, new, reporter)
    notifier.send(NotifyEvent.START)
    try:
        with watching(conn.kube, *DRAIN_COLLECTIONS):  # its polls read memory kept current by watches (watch.py)
            report = _drain(conn, old, new, settings, reporter, clock, expected=expected)
    except RolledBack as exc:
        notifier.send(NotifyEvent.ROLLBACK, str(exc))
        raise
    except CutoverError as exc:
        notifier.send(NotifyEvent.FAILURE, str(exc))
        raise
    notifier.send(NotifyEvent.SUCCESS, f"{len(report.nodes_drained)} node(s) drained, {len(report.pods_evicted)} "
                                       f"pod(s) moved in {report.seconds:.0f}s")
    return report


def _drain(conn, old: GroupSpec, new: GroupSpec, settings: RolloutSettings, reporter: Reporter, clock: Clock, *,
           expected: LoadBalancerSpec | None = None) -> DrainReport:
    start = clock.now()
    # Every node this run touches gets Kubernetes Events (kubectl describe node shows the cutover).
    reporter = FanOutReporter(reporter, NodeEventRecorder(conn.kube))
    run = DrainRun(conn, old, new, settings, reporter, clock)
    try:
        # The drain must never start on an unverified new group, whatever the caller did before. (The readiness
        # gate first lifts any cordon an earlier drain the other way left on the new color.)
        # Both gates in one loop: when both fail, both are reported.
        wait_gates(conn, new, settings, reporter, clock, expected=expected,
                   like_group=None if expected is not None else old.group_name)
        view = read_view(conn.kube, old.color, new.color, pool=old.pool)
        report = plan_drain(view, settings, new_desired=new.desired,
                            singles=single_replicas_in_view(conn.kube, view, settings))
        reporter.emit(PreflightChecked(len(report.old_nodes), report.pods_to_move, len(report.blockers)))
        run.prime(view)
        if report.blockers:
            raise PreflightBlocked(list(report.blockers))
        # A cluster already in alarm does not start a cutover: refused before the guard, a cordon or an eviction.
        run.watch = SignalWatch.for_connection(conn, settings, reporter, old_color=old.color, new_color=new.color)
        if run.watch is not None:
            run.watch.check("before the first eviction", started=False)
    except Exception as exc:
        _stop(run, exc)  # an earlier run may have left old nodes cordoned over a Pending pod
        raise
    guard(run, [n.name for n in view.new_nodes])
    try:
        try:
            state = drain_old_nodes(run)
        except SignalFailed as failed:
            if not settings.rolls_back:
                raise
            roll_back(run, failed, drain_old_nodes)  # raises RolledBack, or RollbackFailed
        except WorkloadUnhealthy as unhealthy:
            if not settings.rolls_back:
                raise
            gate = health_gate_failure(unhealthy.workload, unhealthy.waited_s, unhealthy.detail)
            roll_back(run, SignalFailed((gate,), "at the workload health gate"), drain_old_nodes)
    except Exception:
        unguard(run)  # best effort; a killed process (BaseException) leaves it for the next run to lift
        raise
    unguard(run)
    seconds = clock.now() - start
    reporter.emit(DrainFinished(len(state.drained) + len(state.already), len(state.evicted), seconds))
    return DrainReport(
        old.group_name, new.group_name, tuple(state.drained), tuple(state.already), tuple(state.evicted),
        tuple(state.forced), tuple(sorted(str(w) for w in state.touched)), seconds, report,
        tuple((str(v.ref), v.ready, v.desired) for v in state.verified), tuple(state.not_awaited),
        tuple(state.surged),
    )


def drain_old_nodes(run: DrainRun) -> RunState:
    """The Kubernetes half: cordon, drain node by node, verify. On any failure the stop invariant is applied and
    the error carries the state it left (``CutoverError.state``)."""
    try:
        if not run.primed:
            run.prime(read_view(run.kube, run.old.color, run.new.color, pool=run.old.pool))
        check_stuck(run)
        _drain_all(run)
        verify(run)
        bake(run.watch, run.settings, run.clock, run.reporter, run.old.group_name)
    except Exception as exc:
        _stop(run, exc)
        raise
    return run.state


def _stop(run: DrainRun, exc: Exception) -> StopState:
    if isinstance(exc, CutoverError) and exc.state is not None:
        return exc.state  # a gate already applied the invariant and described the state
    state = settle_stop(run.kube, run.old.color, run.state.known(), run.state.baseline, run.reporter,
                        run.old.pool)
    if isinstance(exc, CutoverError):
        exc.with_state(state)
    else:
        run.reporter.emit(Note(state.describe()))
    return state


def guard(run: DrainRun, new_nodes: list[str]) -> None:
    """The old group must not grow while it drains; new nodes must not be scaled down by cluster-autoscaler."""
    groups.suspend_growth(run.conn.autoscaling, run.old.group_name)
    for name in new_nodes:
        run.kube.patch_node(name, {"metadata": {"annotations": {CA_SCALE_DOWN_DISABLED: "true"}}})
    run.reporter.emit(GroupGuarded(run.old.group_name, len(new_nodes)))


def unguard(run: DrainRun) -> None:
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


def _cordon_all(run: DrainRun, nodes: list[Node]) -> None:
    for node in drain_order(nodes):
        if not node.unschedulable or node.drain_state is None:
            set_state(run.kube, node.name, node.drain_state or CORDONED, cordon=True)
            run.reporter.emit(NodeCordoned(node.name))


def _drain_all(run: DrainRun) -> tuple[list[str], list[str]]:
    nodes = run.old_nodes()
    _cordon_all(run, nodes)
    run.reporter.emit(NodesCordoned(len(nodes)))
    run.state.surged += move_by_surge(run)  # rollout.singleReplica=surge: before any eviction, onto the new nodes
    total = len(nodes)
    done: set[str] = set()
    state = run.state
    while True:
        # Re-list every pass, so a node that appears mid-drain is cordoned and drained too.
        nodes = run.old_nodes()
        _cordon_all(run, [n for n in nodes if not n.unschedulable])
        # paced: the canary (the oldest node) alone, then every remaining node at once (_drain_paced).
        paced = run.settings.strategy == "paced" and bool(state.drained or state.already)
        size = len(nodes) if paced else 1 if run.settings.strategy == "paced" else run.settings.max_parallel_nodes
        batch = next_batch(nodes, done, size)
        run.to_drain = frozenset(n.name for n in nodes if n.name not in done and n not in batch)
        if not batch:
            return state.drained, state.already
        total = max(total, len(nodes))
        first = not state.drained
        moved = (_drain_paced if paced else _drain_batch)(run, batch, len(done), total)
        for node in batch:
            done.add(node.name)
            (state.drained if moved.get(node.name) is not None else state.already).append(node.name)
        if run.watch is not None and not paced and any(moved.get(n.name) is not None for n in batch):
            run.watch.check(f"after node {', '.join(n.name for n in batch)}")
        more = any(n.name not in done for n in nodes)
        if first and state.drained and more and run.settings.canary_pause_s > 0:
            # Watch the canary: the first drained node's workloads run on the new color before going on.
            run.reporter.emit(CanaryPause(run.settings.canary_pause_s))
            run.clock.sleep(run.settings.canary_pause_s)


def _begin_batch(run: DrainRun, batch: list[Node]) -> float:
    """What every strategy does before evicting from ``batch``: wait for its opted-out pods (rollout.doNotDisrupt=
    wait), then read owners and budgets afresh. Returns when the batch's drain started."""
    kube = run.kube
    wait_for_opt_outs(kube, [n.name for n in batch], run.settings, run.clock, run.reporter)
    start = run.clock.now()
    run.owners = replicaset_owners(kube.list_all("/apis/apps/v1", "replicasets"))
    run.budgets = [budget_from_json(b) for b in kube.list_all("/apis/policy/v1", "poddisruptionbudgets")]
    return start


def _drain_batch(run: DrainRun, batch: list[Node], done_before: int, total: int) -> dict[str, int | None]:
    """Drain ``batch`` together; returns node -> pods moved (None for a node found already drained)."""
    settings, clock, kube = run.settings, run.clock, run.kube
    start = _begin_batch(run, batch)
    plan = plan_batch([(n, run.node_pods([n.name])) for n in batch], settings)
    if plan.blockers:
        raise PreflightBlocked(list(plan.blockers), started=True)
    moves: list[PodMove] = []
    result: dict[str, int | None] = {}
    for index, work in enumerate(plan.nodes, start=done_before + 1):
        if work.already_drained:
            run.reporter.emit(NodeAlreadyDrained(work.node.name))
            result[work.node.name] = None
            continue
        set_state(kube, work.node.name, DRAINING)
        run.reporter.emit(NodeDrainStarted(work.node.name, index, total, len(work.evictable)))
        result[work.node.name] = 0
        moves += [PodMove(p, workload_of(p, run.owners)) for p in work.evictable]
    run.state.moves += moves
    while any(m.open for m in moves):
        polled = clock.now()
        reap(run, moves, [n.name for n in batch])
        check_replacements(run, moves)
        now = clock.now()
        if now - start >= settings.node_drain_timeout_s and any(m.open for m in moves):
            stuck = [describe_open_move(m, now) for m in moves if m.open and m.leaving and m.stuck]
            if stuck:
                raise PodsStuckTerminating(", ".join(n.name for n in batch), now - start,
                                           [describe_open_move(m, now) for m in moves if m.open], stuck)
            raise DrainTimeout(", ".join(n.name for n in batch), now - start,
                               [describe_open_move(m, now) for m in moves if m.open])
        await_jobs(run, moves, now - start)
        evict_pass(run, moves, now)
        if any(m.open for m in moves):
            next_poll(run, polled)
    for move in moves:
        if move.left_at is not None and move.pod.node in result:
            result[move.pod.node] = (result[move.pod.node] or 0) + 1
    health_gate(run, {m.workload for m in moves if m.left_at is not None}, node_start=start)
    for index, work in enumerate(plan.nodes, start=done_before + 1):
        if result.get(work.node.name) is None:
            continue
        set_state(kube, work.node.name, DRAINED)
        run.reporter.emit(NodeDrained(work.node.name, index, total, result[work.node.name] or 0,
                                      clock.now() - start))
    return result


def _drain_paced(run: DrainRun, batch: list[Node], done_before: int, total: int) -> dict[str, int | None]:
    """The paced strategy after its canary: evict from every node of ``batch`` at once, each workload in the waves
    its budgets allow and gated on its moved pods being Ready before its next wave (the decisions: ``paced.py``);
    a node is reported drained as soon as it holds nothing more to move. Returns node -> pods moved (None for a
    node found already drained). A node's rollout.nodeDrainTimeoutSeconds runs from its first eviction."""
    settings, clock, kube = run.settings, run.clock, run.kube
    start = _begin_batch(run, batch)
    with ThreadPoolExecutor(max_workers=EVICTION_WORKERS) as pool:  # one list per node, sent concurrently
        listed = list(pool.map(lambda n: run.node_pods([n.name]), batch))
    plan = plan_batch(list(zip(batch, listed, strict=True)), settings)
    if plan.blockers:
        raise PreflightBlocked(list(plan.blockers), started=True)
    # A pod not Ready when planned costs its budget nothing (refreshed for implicit budgets on every look).
    moves = [PodMove(p, workload_of(p, run.owners), costs_availability=p.ready) for work in plan.nodes
             if not work.already_drained for p in work.evictable]
    result: dict[str, int | None] = {}
    order: list[str] = []
    index_of: dict[str, int] = {}
    run.reporter.emit(PacedDrainStarted(sum(1 for w in plan.nodes if not w.already_drained), len(moves),
                                        len({m.workload for m in moves})))
    with ThreadPoolExecutor(max_workers=EVICTION_WORKERS) as pool:  # the progress annotations, concurrently
        list(pool.map(lambda w: set_state(kube, w.node.name, DRAINING),
                      [w for w in plan.nodes if not w.already_drained]))
    for index, work in enumerate(plan.nodes, start=done_before + 1):
        if work.already_drained:
            run.reporter.emit(NodeAlreadyDrained(work.node.name))
            result[work.node.name] = None
            continue
        run.reporter.emit(NodeDrainStarted(work.node.name, index, total, len(work.evictable)))
        result[work.node.name] = 0
        index_of[work.node.name] = index
        order.append(work.node.name)
    run.state.moves += moves
    # Unready pods not evicted yet do not hold their workload's gate; the final health gate asks for every pod.
    run.to_drain = frozenset(order)
    rank = {name: i for i, name in enumerate(order)}
    covering = {id(m): tuple(b.key for b in budgets_for(m.pod, run.budgets)) for m in moves}
    in_flight: dict[WorkloadRef, float] = {}  # workload -> when its last wave went; its gate is closed
    waves: dict[WorkloadRef, int] = {}
    status_only: dict[WorkloadRef, int] = {}  # looks at a gate that read only the controller's status, in a row
    reported: set[str] = set()
    while any(m.open for m in moves):
        polled = clock.now()
        leaving = {m.pod.node for m in moves if m.leaving}
        reap(run, moves, [n for n in order if n in leaving])  # only the nodes an evicted pod is still on
        check_replacements(run, moves)
        now = clock.now()
        overdue = overdue_nodes((NodeMove(m.pod.node or "", m.left_at, m.open) for m in moves), now=now,
                                timeout_s=settings.node_drain_timeout_s)
        if overdue:
            _paced_timeout(moves, overdue, now)
        await_jobs(run, moves, now - start)
        looked = _paced_gates(run, moves, in_flight, status_only)
        _report_emptied(run, moves, order, index_of, total, reported, start)
        open_refs = {m.workload for m in moves if m.waiting} - set(in_flight)
        room = {b.key: b.disruptions_allowed for b in _fresh_budgets(run, moves, open_refs, covering)}
        implicit = _implicit_rooms(run, moves, open_refs, covering, looked)
        candidates = [Candidate(m.pod.key, m.workload, rank.get(m.pod.node or "", len(rank)), covering[id(m)],
                                m.costs_availability, m.next_try, m.workload.kind == "Job" and not m.released)
                      for m in moves if m.waiting]
        wave = plan_wave(candidates, open_workloads=open_refs, budget_room=room, implicit=implicit, now=now)
        by_key = {m.pod.key: m for m in moves if m.waiting}
        went: dict[WorkloadRef, list[PodMove]] = {}
        for move in _evict_wave(run, [by_key[key] for key in wave.pods], now, covering):
            went.setdefault(move.workload, []).append(move)
        for ref, gone in sorted(went.items()):
            left = sum(1 for m in moves if m.workload == ref and m.waiting)
            if ref.kind not in UNGATED_KINDS:
                in_flight[ref] = now
                for move in moves:  # the workload moved on: a refusal's clock starts again from here
                    if move.workload == ref and move.waiting:
                        move.first_refused = None
            waves[ref] = waves.get(ref, 0) + 1
            run.reporter.emit(WaveEvicted(str(ref), waves[ref], len(gone), len({m.pod.node for m in gone}), left))
        if any(m.open for m in moves):
            next_poll(run, polled)
    for move in moves:
        if move.left_at is not None and move.pod.node in result:
            result[move.pod.node] = (result[move.pod.node] or 0) + 1
    run.to_drain = frozenset()
    health_gate(run, set(in_flight), node_start=start)
    _report_emptied(run, moves, order, index_of, total, reported, start)
    return result


def _paced_gates(run: DrainRun, moves: list[PodMove], in_flight: dict[WorkloadRef, float],
                 status_only: dict[WorkloadRef, int]) -> dict:
    """Look at every workload whose last wave is out: open its gate once its moved pods are Ready again, stop at
    once on a replacement the scheduler cannot place, and after rollout.workloadHealthyTimeoutSeconds. Returns
    what was read (workload -> (status, pods)), so the wave's implicit budgets need not read it again."""
    looked: dict[WorkloadRef, tuple[WorkloadStatus | None, list[Pod]]] = {}
    now = run.clock.now()
    excused = {m.workload for m in moves if m.waiting and not m.costs_availability}
    statuses = run.read_many(sorted(in_flight), pods=False)
    full = []
    for ref, (status,) in statuses.items():
        if gate_needs_pods(status_whole=status is None or status.gap() is None, excused=ref in excused,
                           status_only_looks=status_only.get(ref, 0), waited_s=now - in_flight[ref],
                           timeout_s=run.settings.workload_healthy_timeout_s):
            status_only[ref] = 0
            full.append(ref)
        else:  # its controller says it is still short: its pods cannot say "whole" yet
            status_only[ref] = status_only.get(ref, 0) + 1
    for ref, (status, pods) in sorted(run.read_many(full, pods=True).items()):
        looked[ref] = (status, pods)
        waited = now - in_flight[ref]
        verdict = judge_workload(ref, status, pods, run.to_drain)
        step = gate_step(whole=verdict.whole, unschedulable=verdict.health is Health.UNSCHEDULABLE,
                         waited_s=waited, timeout_s=run.settings.workload_healthy_timeout_s)
        if step is GateStep.OPEN:
            del in_flight[ref]
            if not any(m.workload == ref and m.waiting for m in moves):
                run.reporter.emit(WorkloadHealthy(str(ref), verdict.ready, verdict.desired))
        elif step is GateStep.UNSCHEDULABLE:
            pod = verdict.unschedulable[0]
            raise ReplacementUnschedulable(str(ref), pod.key, pod.unscheduled_message or "no reason given",
                                           verdict.ready, verdict.desired)
        elif step is GateStep.TIMED_OUT:
            raise WorkloadUnhealthy(str(ref), waited, verdict.why(waited_s=waited), before="its next wave")
    return looked


def _fresh_budgets(run: DrainRun, moves: list[PodMove], open_refs: set[WorkloadRef],
                   covering: dict[int, tuple[str, ...]]) -> list[Budget]:
    """The budgets covering the waiting pods of open workloads, read fresh (their namespaces' PDBs only)."""
    keys = {k for m in moves if m.waiting and m.workload in open_refs for k in covering[id(m)]}
    if not keys:
        return []
    namespaces = sorted({k.split("/", 1)[0] for k in keys})
    fresh = [budget_from_json(b) for ns in namespaces
             for b in run.kube.list_namespaced("/apis/policy/v1", "poddisruptionbudgets", ns)]
    return [b for b in fresh if b.key in keys]


def _implicit_rooms(run: DrainRun, moves: list[PodMove], open_refs: set[WorkloadRef],
                    covering: dict[int, tuple[str, ...]], looked: dict) -> dict[WorkloadRef, int]:
    """The implicit budget's room of every open workload without a PDB (its status and pods, read once per poll);
    each waiting pod's readiness refreshed from them, so an unready pod is known to cost nothing. Judged on the
    watched copies; a workload that shows room is read again from the server (``fresh``) and judged on that, as
    the serial strategy's ``_implicit_room`` confirms a yes: no API server re-checks this budget."""
    refs = {m.workload for m in moves if m.waiting and m.workload in open_refs and not covering[id(m)]
            and m.workload.kind not in UNGATED_KINDS}
    read = {**run.read_many(sorted(refs - set(looked)), pods=True), **{r: looked[r] for r in refs if r in looked}}
    rooms = _rooms_from(run, moves, read)
    with fresh(run.kube):
        confirmed = run.read_many(sorted(r for r, room in rooms.items() if room > 0), pods=True)
    return {**rooms, **_rooms_from(run, moves, confirmed)}


def _rooms_from(run: DrainRun, moves: list[PodMove], read: dict[WorkloadRef, tuple]) -> dict[WorkloadRef, int]:
    """The implicit room of each workload read (status, pods), the waiting moves' readiness refreshed from them."""
    rooms: dict[WorkloadRef, int] = {}
    for ref in sorted(read):
        status, pods = read[ref]
        live = {p.uid: p for p in pods}
        for move in moves:
            if move.workload == ref and move.waiting:
                pod = live.get(move.pod.uid)
                if pod is None:  # vanished while it waited (its controller deleted it)
                    move.phase = MovePhase.GONE
                    move.gone_at = run.clock.now()
                else:
                    move.costs_availability = pod.ready
        if status is None:
            rooms[ref] = len(moves)  # the workload is gone: nothing to protect
        else:
            rooms[ref] = implicit_room(allowance=implicit_allowance(status), desired=status.desired,
                                       ready=ready_pods(pods), controller_rolling=status.rolling)
    return rooms


def _report_emptied(run: DrainRun, moves: list[PodMove], order: list[str], index_of: dict[str, int], total: int,
                    reported: set[str], start: float) -> None:
    """Nodes that hold nothing more to move are drained: annotated, reported, and the health signals read."""
    open_per_node: dict[str, int] = {}
    moved: dict[str, int] = {}
    for move in moves:
        node = move.pod.node or ""
        open_per_node[node] = open_per_node.get(node, 0) + int(move.open)
        moved[node] = moved.get(node, 0) + int(move.left_at is not None)
    now = run.clock.now()
    emptied = emptied_nodes(order, open_per_node, reported)
    for name in emptied:
        reported.add(name)
        set_state(run.kube, name, DRAINED)
        run.reporter.emit(NodeDrained(name, index_of[name], total, moved.get(name, 0), now - start))
    if emptied and run.watch is not None:
        shown = ", ".join(emptied[:3]) + (f" and {len(emptied) - 3} more" if len(emptied) > 3 else "")
        run.watch.check(f"after node(s) {shown}")


def _paced_timeout(moves: list[PodMove], overdue: list[str], now: float) -> None:
    """rollout.nodeDrainTimeoutSeconds passed since a node's first eviction with pods still on it to move: name
    the nodes (the longest-waiting first) and what their pods wait on."""
    waited = now - min(m.left_at for m in moves if m.pod.node == overdue[0] and m.left_at is not None)
    nodes = ", ".join(overdue[:3]) + (f" and {len(overdue) - 3} more" if len(overdue) > 3 else "")
    remaining = [describe_open_move(m, now) for m in moves if m.open and m.pod.node in overdue]
    stuck = [describe_open_move(m, now) for m in moves if m.open and m.leaving and m.stuck and m.pod.node in overdue]
    if stuck:
        raise PodsStuckTerminating(nodes, waited, remaining, stuck)
    raise DrainTimeout(nodes, waited, remaining)


# -- the units --------------------------------------------------------------------------------------------------


def reap(run: DrainRun, moves: list[PodMove], nodes: list[str]) -> None:
    """Wait for deletion: a leaving pod whose UID is no longer on its node is gone (kubectl: waitForDelete).

    A pod still there after its grace period has its node looked at: on a node that is NotReady or unreachable no
    kubelet will confirm the deletion, so it is not waited for (kubectl drain --skip-wait-for-delete-timeout,
    k8s.io/kubectl/pkg/drain/drain.go ``Helper.waitForDelete`` with ``SkipWaitForDeleteTimeoutSeconds``); one still
    there a margin later is named once, with its finalizers and its node's state (``stuck_terminating``)."""
    leaving = [m for m in moves if m.leaving]
    if not leaving:
        return
    live = {p.uid: p for p in run.node_pods(nodes)}
    now = run.clock.now()
    overdue = []
    for move in leaving:
        if move.pod.uid not in live:
            move.phase = MovePhase.GONE
            move.gone_at = now
        elif move.left_at is not None and now - move.left_at > move.pod.grace_s:
            overdue.append((move, live[move.pod.uid]))
    if overdue:
        _overdue(run, overdue, now)


def _overdue(run: DrainRun, overdue: list[tuple[PodMove, Pod]], now: float) -> None:
    """Evicted pods past their grace period: not awaited on a silent node, named when stuck."""
    states = {n.name: (n.ready and "node.kubernetes.io/unreachable" not in n.taints,
                       node_state(n.ready, n.ready_reason, n.taints)) for n in run.old_nodes()}
    silent: dict[str, list[PodMove]] = {}
    for move, pod in overdue:
        ready, state = states.get(pod.node or "", (False, "gone"))
        if not ready:
            silent.setdefault(pod.node or "", []).append(move)
        elif is_stuck(move, now) and move.stuck is None:
            move.stuck = (f"finalizers {', '.join(pod.finalizers)}" if pod.finalizers else "no finalizers") + (
                f"; node {pod.node} {state}")
            run.reporter.emit(PodStuckTerminating(pod.key, pod.node or "", now - (move.left_at or now),
                                                  pod.finalizers, state))
    for node, gone in silent.items():
        for move in gone:
            move.phase = MovePhase.GONE
            move.gone_at = now
            move.not_awaited = True
        run.reporter.emit(DeleteNotAwaited(node, states.get(node, (False, "gone"))[1],
                                           tuple(m.pod.key for m in gone)))


def check_replacements(run: DrainRun, moves: list[PodMove]) -> None:
    """A workload that lost a pod and now has a pod the scheduler cannot place stops the run at once: waiting will
    not help while every old node is cordoned, and a further eviction would only add to it.

    Only read while a further eviction is possible (a pod still waits) and a replacement may just have been created
    (``eviction.replacement_due``); any later Pending pod is caught by the health gate, which reads each workload's
    pods anyway."""
    if not any(m.waiting for m in moves):
        return
    now = run.clock.now()
    window = 2 * run.settings.poll_interval_s
    touched = {m.workload for m in moves if m.left_at is not None and m.workload.kind != "Pod"}
    due = {m.workload for m in moves if m.workload in touched and replacement_due(m, now, window)}
    if not due:
        return
    for namespace in sorted({ref.namespace for ref in due}):
        pending = list(map(pod_from_json, run.kube.list_pods(namespace=namespace, phase="Pending")))
        run.learn_owners(namespace, None, pending)
        for pod in pending:
            ref = workload_of(pod, run.owners)
            if ref in touched and pod.pending_unschedulable:
                verdict = run.verdict(ref)
                raise ReplacementUnschedulable(str(ref), pod.key, pod.unscheduled_message or "no reason given",
                                               verdict.ready, verdict.desired)


def await_jobs(run: DrainRun, moves: list[PodMove], waited_s: float) -> None:
    """Running Job pods are waited for to complete (a pod that finished or vanished needs no move) up to
    rollout.jobCompletionTimeoutSeconds; then the unmanaged-pod policy applies (``eviction.after_job_wait``)."""
    jobs = [m for m in moves if m.waiting and m.workload.kind == "Job" and not m.released]
    if not jobs:
        return
    live = {p.uid: p for p in run.node_pods(sorted({m.pod.node or "" for m in jobs}))}
    now = run.clock.now()
    blocked: list[PodMove] = []
    for move in jobs:
        pod = live.get(move.pod.uid)
        if pod is None or pod.finished:
            move.phase = MovePhase.GONE  # completed (or gone): it stays finished on its node, nothing to move
            move.gone_at = now
            continue
        decision = after_job_wait(waited_s, run.settings)
        if decision is JobWait.EVICT:
            move.released = True
        elif decision is JobWait.BLOCK:
            blocked.append(move)
    if blocked:
        raise JobNotComplete(", ".join(sorted({m.pod.node or "" for m in blocked})), waited_s,
                             [m.pod.key for m in blocked])


def check_stuck(run: DrainRun) -> None:
    """Before any eviction: a pod that a cordon keeps Pending (an earlier run's move, killed before it could
    uncordon) stops the run, so nothing more is moved while it waits."""
    for pod in map(pod_from_json, run.kube.list_pods(phase="Pending")):
        ref = workload_of(pod, run.owners)
        if kept_off_by_cordon(pod) and ref.kind not in ("Pod", "DaemonSet"):
            verdict = run.verdict(ref)
            raise ReplacementUnschedulable(str(ref), pod.key, pod.unscheduled_message, verdict.ready, verdict.desired)


def evict_pass(run: DrainRun, moves: list[PodMove], now: float) -> None:
    """One eviction attempt for every waiting pod allowed to go now (explicit budget: the API decides; implicit
    budget: decided here), and the outcome applied to its move."""
    waiting = [m for m in moves if m.waiting]
    backing_off = [m.pod for m in waiting if m.next_try > now]
    room = _budgets_with_room(run, backing_off) if backing_off else set()
    live: dict[WorkloadRef, tuple[list[Pod], bool]] = {}  # its pods, and whether read fresh from the server
    statuses: dict[WorkloadRef, WorkloadStatus | None] = {}  # read once per pass: a rollout may start any time
    for move in waiting:
        if move.workload.kind == "Job" and not move.released:
            continue  # waited for to complete (await_jobs)
        covering = budgets_for(move.pod, run.budgets)
        if not may_try_now(move, now, budget_has_room=any(b.key in room for b in covering)):
            continue
        if not covering and move.workload.kind != "Pod" and not _implicit_room(run, move, moves, live, statuses):
            continue
        _evict_one(run, move, now, [b.key for b in covering])


def _evict_one(run: DrainRun, move: PodMove, now: float, covering: list[str]) -> bool:
    """One Eviction for ``move``'s pod and its typed outcome applied; True when the pod is on its way out."""
    return _apply_eviction(run, move, now, covering, run.kube.evict_pod(move.pod.namespace, move.pod.name))


#: Evictions of one paced wave sent at once (kubectl drain evicts a node's pods concurrently, one goroutine per pod:
#: k8s.io/kubectl/pkg/drain/drain.go, ``Helper.evictPods``); below the client's connection pool size.
EVICTION_WORKERS = 8


def _evict_wave(run: DrainRun, wave: list[PodMove], now: float, covering: dict[int, tuple[str, ...]]) -> list[PodMove]:
    """Send the Evictions of ``wave`` concurrently, then apply every answer in order on this thread (events, state);
    returns the moves whose pods are on their way out. An answer that stops the drain (a failure, a budget given up
    on) is raised only after every other answer is applied, so the run state knows each pod that did leave."""
    if len(wave) > 1:
        with ThreadPoolExecutor(max_workers=min(EVICTION_WORKERS, len(wave))) as pool:
            answers = list(pool.map(lambda m: run.kube.evict_pod(m.pod.namespace, m.pod.name), wave))
    else:
        answers = [run.kube.evict_pod(m.pod.namespace, m.pod.name) for m in wave]
    went: list[PodMove] = []
    stop: Exception | None = None
    for move, answer in zip(wave, answers, strict=True):
        try:
            if _apply_eviction(run, move, now, list(covering[id(move)]), answer):
                went.append(move)
        except CutoverError as exc:
            stop = stop or exc
    if stop is not None:
        raise stop
    return went


def _apply_eviction(run: DrainRun, move: PodMove, now: float, covering: list[str], answer) -> bool:
    """The API's answer to ``move``'s Eviction applied to it; True when the pod is on its way out."""
    if answer.outcome is EvictionOutcome.EVICTED:
        _left(run, move, now)
        run.reporter.emit(PodEvicted(move.pod.key, move.pod.node or "", str(move.workload)))
        return True
    if answer.outcome is EvictionOutcome.GONE:
        move.phase = MovePhase.GONE
        return False
    if answer.outcome is EvictionOutcome.FAILED:
        raise EvictionFailed(move.pod.key, answer.status, answer.message)
    _refused(run, move, now, answer.pdb, answer.message, covering)
    return move.forced


def _implicit_room(run: DrainRun, move: PodMove, moves: list[PodMove], live: dict, statuses: dict) -> bool:
    """The implicit budget of a workload without a PDB (its pods and its status read once per pass). Judged on the
    watched copy of its pods; a "yes" is confirmed on a fresh read from the server (once per pass): this budget is
    the engine's alone, no API server re-checks it, so a Ready pod goes only on the server's state."""
    ref = move.workload
    if ref not in statuses:
        statuses[ref] = run.status_of(ref)
    status = statuses[ref]
    if status is None:
        return True
    if ref not in live:
        live[ref] = (run.workload_pods(ref), False)
    allowed = _implicit_decision(run, move, moves, live[ref][0], status)
    if allowed and not live[ref][1]:
        with fresh(run.kube):
            live[ref] = (run.workload_pods(ref), True)
        allowed = _implicit_decision(run, move, moves, live[ref][0], status)
    return allowed


def _implicit_decision(run: DrainRun, move: PodMove, moves: list[PodMove], pods: list[Pod],
                       status: WorkloadStatus) -> bool:
    ref = move.workload
    now_pod = next((p for p in pods if p.uid == move.pod.uid), None)
    if now_pod is None:  # vanished while it waited (its controller deleted it: a rollout, a scale-down)
        move.phase = MovePhase.GONE
        move.gone_at = run.clock.now()
        return False
    move.costs_availability = now_pod.ready
    flying = sum(1 for m in moves if m.leaving and m.workload == ref and m.costs_availability)
    return may_evict_implicitly(in_flight=flying, desired=status.desired, ready=ready_pods(pods),
                                allowance=implicit_allowance(status), pod_ready=now_pod.ready,
                                controller_rolling=status.rolling)


def _left(run: DrainRun, move: PodMove, now: float) -> None:
    move.phase = MovePhase.LEAVING
    move.left_at = now


def _refused(run: DrainRun, move: PodMove, now: float, answer_pdb: str | None, message: str,
             covering: list[str]) -> None:
    """Refused (429): a budget says not now. Retry with backoff until the eviction timeout, then stop or force."""
    if move.first_refused is None:
        move.first_refused = now
    move.attempts += 1
    move.pdb = refusing_budget(answer_pdb, move.pod, covering)
    if should_report_refusal(move.attempts):
        run.reporter.emit(EvictionRefused(move.pod.key, move.pdb, move.attempts, now - move.first_refused))
    decision = after_refusal(attempts=move.attempts, first_refused=move.first_refused, now=now,
                             settings=run.settings)
    if isinstance(decision, RetryAt):
        move.next_try = decision.at
    elif isinstance(decision, GiveUp):
        budget = next((b for b in run.budgets if b.key == move.pdb), None)
        verdict = run.verdict(move.workload) if move.workload.kind != "Pod" else None
        raise EvictionBlocked(move.pod.key, move.pdb, decision.waited_s, message,
                              advice=refusal_advice(budget, verdict))
    elif isinstance(decision, ForceDelete):
        run.kube.delete_pod(move.pod.namespace, move.pod.name)
        move.forced = True
        _left(run, move, now)
        run.reporter.emit(PodForced(move.pod.key, move.pod.node or "", move.pdb))


def _budgets_with_room(run: DrainRun, pods: list[Pod]) -> set[str]:
    """Keys of the budgets covering ``pods`` whose status allows a disruption now (read fresh)."""
    namespaces = {b.namespace for pod in pods for b in budgets_for(pod, run.budgets)}
    fresh = [budget_from_json(b) for ns in sorted(namespaces)
             for b in run.kube.list_namespaced("/apis/policy/v1", "poddisruptionbudgets", ns)]
    return {b.key for b in fresh if b.disruptions_allowed > 0}


def health_gate(run: DrainRun, refs: set[WorkloadRef], *, node_start: float | None,
                announce: bool = True) -> list[WorkloadVerdict]:
    """Every workload in ``refs`` is whole again (desired ready count, nothing Pending) before going on.

    A Pending pod the scheduler cannot place stops at once; a slow one is waited on up to
    rollout.workloadHealthyTimeoutSeconds (and the node's rollout.nodeDrainTimeoutSeconds)."""
    settings, clock = run.settings, run.clock
    start = clock.now()
    since = _last_left(run.state.moves)
    waiting = {ref for ref in refs if ref.kind not in ("Pod", "DaemonSet")}
    whole: list[WorkloadVerdict] = []
    while waiting:
        polled = clock.now()
        for ref in sorted(waiting):
            verdict = run.verdict(ref)
            if verdict.whole:
                waiting.discard(ref)
                whole.append(verdict)
                if announce:
                    run.reporter.emit(WorkloadHealthy(str(ref), verdict.ready, verdict.desired))
                continue
            if verdict.health is Health.UNSCHEDULABLE:
                pod = verdict.unschedulable[0]
                raise ReplacementUnschedulable(str(ref), pod.key, pod.unscheduled_message or "no reason given",
                                               verdict.ready, verdict.desired)
            now = clock.now()
            waited = now - since.get(ref, start)
            if now - start >= settings.workload_healthy_timeout_s:
                raise WorkloadUnhealthy(str(ref), waited, verdict.why(waited_s=waited))
            if node_start is not None and now - node_start >= settings.node_drain_timeout_s:
                raise DrainTimeout(str(ref), now - node_start, [f"{ref}: {verdict.why(waited_s=waited)}"])
        if waiting:
            next_poll(run, polled)
    return whole


def next_poll(run: DrainRun, polled: float) -> None:
    """Wait for the next look of a loop that looked at ``polled``: one look per rollout.pollIntervalSeconds, the
    look's own time included (a slow API server does not stretch the interval), at least a tenth of it as a pause."""
    interval = run.settings.poll_interval_s
    run.clock.sleep(max(interval - (run.clock.now() - polled), interval / 10))


def _last_left(moves: list[PodMove]) -> Mapping[WorkloadRef, float]:
    last: dict[WorkloadRef, float] = {}
    for move in moves:
        if move.left_at is not None:
            last[move.workload] = max(last.get(move.workload, move.left_at), move.left_at)
    return last


def verify(run: DrainRun) -> None:
    """Success is verified, never assumed: every old node holds no pod but DaemonSet/mirror/finished (or already
    terminating) pods, and every workload the run answers for is at its desired ready count with nothing Pending
    (waiting, bounded, for slow ones)."""
    old = run.old_nodes()
    leftovers = [f"{p.key} on {p.node}" for p in run.node_pods([n.name for n in old])
                 if classify(p, run.settings).action != "stay"]
    if leftovers:
        raise DrainUnverified(leftovers)
    pending = [pod_from_json(p) for p in run.kube.list_pods(phase="Pending")]
    run.owners = replicaset_owners(run.kube.list_all("/apis/apps/v1", "replicasets"))
    refs = workloads_to_check(run.state.known(), pending, run.owners)
    run.state.verified = tuple(sorted(health_gate(run, refs, node_start=None, announce=False), key=lambda v: v.ref))
    run.reporter.emit(DrainVerified(len(old), len(run.state.verified)))
