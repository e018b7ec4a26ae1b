"""Surge moves: a workload that eviction would take to zero Ready pods moves by a rolling restart instead.

Evicting the only Ready replica of a workload (one replica; or every Ready one on one node being drained, with no
budget keeping any) is an outage for as long as its replacement takes to start. A Deployment can do better: with
every old node cordoned, a rolling restart (the pod-template annotation ``kubectl rollout restart`` sets:
k8s.io/kubectl pkg/polymorphichelpers/objectrestarter.go ``defaultObjectRestarter``) makes its controller start a
new pod on the new nodes first and stop the old one only once the new one is available (pkg/controller/deployment/
rolling.go, ``maxSurge``/``maxUnavailable`` resolved by deployment/util ``ResolveFenceposts``).

``rollout.singleReplica`` chooses: ``surge`` (the default: Deployments whose strategy allows it move by surge; what
cannot surge, a StatefulSet, a bare pod, a Recreate or maxSurge-0 or paused Deployment, is evicted as before and
the plan says so), ``evict`` (eviction for all), ``block`` (each such workload is a preflight blocker, named).

Pure decisions over plain data (``restart_shape``, ``budget_floor``, ``at_risk``, ``decide``, ``rollout_status``,
``restart_stamp``); small I/O units at the end (``find_single_replicas``, ``move_by_surge``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

from bluegreen.engine.budgets import Budget, allowed_when_all_healthy, budgets_for, never_allows
from bluegreen.engine.errors import ReplacementUnschedulable, SurgeTimeout
from bluegreen.engine.kube import WORKLOAD_PATHS
from bluegreen.engine.nodes import Node, drain_order
from bluegreen.engine.pods import Pod, classify
from bluegreen.engine.progress import Event
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.workloads import (
    WorkloadRef,
    WorkloadStatus,
    implicit_allowance,
    is_generic_owner,
    ready_pods,
    scaled_value,
    workload_of,
    workload_status_from_json,
)

#: The pod-template annotation `kubectl rollout restart` sets (objectrestarter.go), to an RFC 3339 time.
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POLICY_KEY = "rollout.singleReplica"


class SingleReplicaAction(StrEnum):
    """How a workload at risk of going to zero Ready pods moves."""

    SURGE = "surge"  # a rolling restart: the new pod is available before the old one stops
    EVICT = "evict"  # evicted like any other pod: zero Ready until its replacement is Ready
    BLOCK = "block"  # a preflight blocker


# -- pure decisions ---------------------------------------------------------------------------------------------


def fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """A RollingUpdate's (maxSurge, maxUnavailable) in pods (deployment/util ``ResolveFenceposts``: defaults 25%,
    surge rounds up, unavailable rounds down, both 0 means unavailable 1; ``MaxUnavailable`` caps it at desired)."""
    surge = scaled_value(max_surge if max_surge is not None else "25%", desired, round_up=True)
    unavailable = scaled_value(max_unavailable if max_unavailable is not None else "25%", desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


@dataclass(frozen=True)
class RestartShape:
    """What a rolling restart of the workload would do to its availability."""

    keeps_ready: int  # the fewest available pods the restart keeps (desired - maxUnavailable; 0 when it cannot)
    why_not: str | None = None  # why a restart cannot move it without going to zero (None: it can)

    @property
    def can_surge(self) -> bool:
        return self.why_not is None


def restart_shape(kind: str, obj: dict | None, desired: int) -> RestartShape:
    """Whether a rolling restart moves the workload without going to zero available pods, from its object."""
    if kind == "StatefulSet":
        return RestartShape(0, "a StatefulSet replaces a pod only after the old one is gone (same name, same "
                               "volume): it cannot surge")
    if kind == "Pod":
        return RestartShape(0, "a bare pod has no controller to start another: it cannot surge")
    if kind != "Deployment":
        return RestartShape(0, f"a {kind} has no rolling restart that starts a new pod first: it cannot surge")
    if obj is None:
        return RestartShape(0, "the Deployment was not found")
    spec = obj.get("spec") or {}
    if spec.get("paused"):
        return RestartShape(0, "the Deployment is paused, so a restart would not progress (kubectl rollout resume "
                               "first)")
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return RestartShape(0, "its strategy is Recreate: a restart stops every old pod before a new one starts")
    rolling = strategy.get("rollingUpdate") or {}
    surge, unavailable = fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), desired)
    if surge == 0:
        return RestartShape(max(0, desired - unavailable),
                            f"its rollingUpdate maxSurge is {rolling.get('maxSurge')}: a restart stops an old pod "
                            "before its new one starts")
    if desired - unavailable < 1:
        return RestartShape(0, f"its rollingUpdate maxUnavailable {rolling.get('maxUnavailable')} lets a restart "
                               "stop every pod at once")
    return RestartShape(desired - unavailable)


def budget_floor(desired: int, covering: list[Budget], status: WorkloadStatus | None) -> int:
    """The fewest Ready pods the budget protecting a workload keeps while its pods are evicted: its PDBs' (the
    strictest), else the implicit budget's (one at a time, or the workload's own maxUnavailable)."""
    if covering:
        return max(0, max(desired - allowed_when_all_healthy(b, desired) for b in covering))
    return max(0, desired - implicit_allowance(status))


def at_risk(*, ready: int, ready_on_one_batch: int, floor: int) -> bool:
    """Eviction would take the workload to zero Ready pods: it has some, every one of them sits on the old nodes
    drained together, and no budget keeps any."""
    return ready >= 1 and ready_on_one_batch == ready and floor <= 0


def held_by_budget(covering: list[Budget], pods_seen: int) -> str | None:
    """The PodDisruptionBudget that allows no eviction of the workload's pods even with every pod healthy (a
    ``minAvailable: 1`` over one replica, the most common drain blocker), or None. Counted against the pods it
    expects (its status's ``expectedPods``, else ``pods_seen``), as the preflight's ``never_allows`` counts."""
    return next((b.key for b in covering if never_allows(b, b.expected_pods or pods_seen) is not None), None)


def surge_past_budget(workload: WorkloadRef, pods: tuple[str, ...], desired: int, floor: int, shape: RestartShape,
                      policy: str, budget: str) -> SingleReplica | None:
    """A Deployment whose PDB never allows an eviction moves by surge when the restart keeps at least what the
    budget keeps (its controller deletes an old pod only once a new one is available, so the PDB's floor holds);
    otherwise None and the budget stays a preflight blocker. Only when opted in (``rollout.budgetAllowsNone=surge``;
    ``block``, the default, keeps the blocker: such a budget may have been written to stop every restart)."""
    if policy != "surge" or not shape.can_surge or shape.keeps_ready < floor:
        return None
    return SingleReplica(workload, pods, desired, SingleReplicaAction.SURGE, shape.keeps_ready, held_by=budget)


@dataclass(frozen=True)
class SingleReplica:
    """A workload eviction would take to zero Ready pods (or that its PDB never lets be evicted), and how it
    moves."""

    workload: WorkloadRef
    pods: tuple[str, ...]  # its pods on the old nodes
    desired: int
    action: SingleReplicaAction
    keeps_ready: int  # the fewest Ready pods while it moves
    why_not: str | None = None  # why it cannot surge (None: it can)
    held_by: str | None = None  # the PDB that allows it no eviction at all (then it moves by surge or not at all)

    def blocker(self) -> str:
        can = ("it could move by surge (a rolling restart)" if self.why_not is None else self.why_not)
        return (f"{self.workload} would go to 0/{self.desired} Ready while it moves (pods {', '.join(self.pods)}): "
                f"{POLICY_KEY}=block; {can}. Next: give it more replicas spread over nodes with a PodDisruptionBudget "
                f"that keeps one, or set {POLICY_KEY}=surge (or evict to accept the gap)")

    def warning(self) -> str | None:
        if self.action is SingleReplicaAction.EVICT:
            why = (f"{self.why_not}, so it is evicted" if self.why_not and self.why_not.endswith("cannot surge")
                   else f"{self.why_not}; it is evicted instead" if self.why_not
                   else f"it is evicted ({POLICY_KEY}=evict)")
            return f"{self.workload} goes to 0/{self.desired} Ready while it moves: {why}"
        return None

    def describe(self) -> str:
        """The plan's words for how it moves."""
        if self.action is SingleReplicaAction.SURGE:
            held = (f"PodDisruptionBudget {self.held_by} allows it no eviction; " if self.held_by else "")
            return (f"moves by surge ({held}rolling restart onto the new nodes; keeps at least {self.keeps_ready}/"
                    f"{self.desired} Ready)")
        if self.action is SingleReplicaAction.BLOCK:
            return f"blocked ({POLICY_KEY}=block)"
        return f"evicted: 0/{self.desired} Ready until its replacement is"

    def to_dict(self) -> dict:
        return {"workload": str(self.workload), "pods": list(self.pods), "desired": self.desired,
                "action": str(self.action), "keeps_ready": self.keeps_ready, "why_not_surge": self.why_not,
                "held_by_budget": self.held_by}


def decide(workload: WorkloadRef, pods: tuple[str, ...], desired: int, shape: RestartShape,
           policy: str) -> SingleReplica:
    """How a workload at risk moves under ``rollout.singleReplica``: block refuses it; evict evicts it; surge moves
    a Deployment whose strategy allows it by a rolling restart and evicts anything else (the plan says why)."""
    if policy == "block":
        return SingleReplica(workload, pods, desired, SingleReplicaAction.BLOCK, 0, shape.why_not)
    if policy == "surge" and shape.can_surge:
        return SingleReplica(workload, pods, desired, SingleReplicaAction.SURGE, shape.keeps_ready)
    return SingleReplica(workload, pods, desired, SingleReplicaAction.EVICT, 0,
                         shape.why_not if policy == "surge" else None)


def drain_groups(nodes: list[Node], size: int, strategy: str = "serial") -> list[frozenset[str]]:
    """The old nodes in the groups the drain takes them in: oldest first, ``size`` at a time (``serial``), or the
    oldest alone (the canary) and then every other one at once (``paced``)."""
    ordered = [n.name for n in drain_order(nodes)]
    if strategy == "paced":
        return [frozenset(ordered[i:j]) for i, j in ((0, 1), (1, len(ordered))) if ordered[i:j]]
    size = max(1, size)
    return [frozenset(ordered[i:i + size]) for i in range(0, len(ordered), size)]


def rollout_status(obj: dict) -> tuple[bool, str]:
    """Whether a Deployment's rollout is complete, and what it waits for, as `kubectl rollout status` judges it
    (k8s.io/kubectl pkg/polymorphichelpers/rollout_status.go ``DeploymentStatusViewer.Status``). A rollout past its
    progress deadline is reported as such (not complete)."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name = meta.get("name", "")
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return False, "waiting for the spec update to be observed"
    progressing = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return False, f"deployment {name!r} exceeded its progress deadline"
    replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    updated = int(status.get("updatedReplicas") or 0)
    if updated < replicas:
        return False, f"{updated} out of {replicas} new replicas have been updated"
    total = int(status.get("replicas") or 0)
    if total > updated:
        return False, f"{total - updated} old replicas are pending termination"
    available = int(status.get("availableReplicas") or 0)
    if available < updated:
        return False, f"{available} of {updated} updated replicas are available"
    return True, "successfully rolled out"


def restart_stamp(now: datetime, previous: str | None) -> str:
    """The restartedAt value: ``now`` in RFC 3339 (as kubectl sets it), later than ``previous`` (the template's
    current value) so the template changes even when a restart comes within the same second."""
    stamp = now.astimezone(UTC).replace(microsecond=0)
    try:
        before = datetime.fromisoformat(previous.replace("Z", "+00:00")) if previous else None
    except ValueError:
        before = None
    if before is not None and before.tzinfo is not None and before >= stamp:
        stamp = before.astimezone(UTC) + timedelta(seconds=1)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def restart_patch(stamp: str) -> dict:
    """The JSON merge patch of a rolling restart: the template's restartedAt annotation."""
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


# -- progress and failure ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurgeStarted(Event):
    workloads: tuple[str, ...]

    def line(self) -> str:
        return (f"moving {len(self.workloads)} workload(s) by surge (rolling restart: the new pod Ready on a new node "
                f"before the old one stops): {', '.join(self.workloads)}")


@dataclass(frozen=True)
class SurgeWaiting(Event):
    workload: str
    detail: str
    waited_s: float

    def line(self) -> str:
        return f"surge {self.workload}: {self.detail} ({self.waited_s:.0f}s)"


@dataclass(frozen=True)
class SurgeMoved(Event):
    workload: str
    pods: tuple[str, ...]  # the old pods, gone from the old nodes
    from_nodes: tuple[str, ...]
    to_nodes: tuple[str, ...]
    seconds: float

    def line(self) -> str:
        return (f"moved {self.workload} by surge: {', '.join(self.pods)} from {', '.join(self.from_nodes)} to "
                f"{', '.join(self.to_nodes) or '?'} in {self.seconds:.0f}s")


# -- I/O units --------------------------------------------------------------------------------------------------


def _workload_object(kube, ref: WorkloadRef) -> dict | None:
    where = WORKLOAD_PATHS.get(ref.kind)
    return None if where is None else kube.get_namespaced(where[0], where[1], ref.namespace, ref.name)


def find_single_replicas(kube, old_nodes: list[Node], pods_on_old: list[Pod],
                         pods_of: Callable[[WorkloadRef], list[Pod]], workload_of: Callable[[Pod], WorkloadRef],
                         budgets: list[Budget], settings: RolloutSettings) -> list[SingleReplica]:
    """Every workload with pods to move on ``old_nodes`` that eviction would take to zero Ready pods, and how it
    moves. Reads only the candidates: their pods (``pods_of``) and their controller object, one GET each."""
    groups = drain_groups(old_nodes, settings.max_parallel_nodes, settings.strategy)
    group_of = {name: index for index, group in enumerate(groups) for name in group}
    moving: dict[WorkloadRef, list[Pod]] = {}
    for pod in pods_on_old:
        if pod.node not in group_of or classify(pod, settings).action != "evict":
            continue
        ref = workload_of(pod)
        if ref.kind in ("Job", "DaemonSet"):
            continue  # a Job's pods are waited for; DaemonSet pods stay
        moving.setdefault(ref, []).append(pod)
    found = []
    for ref, pods in sorted(moving.items()):
        ready_old = [p for p in pods if ready_pods([p])]
        if not ready_old:
            continue
        covering = budgets_for(ready_old[0], budgets)
        held = held_by_budget(covering, len(pods)) if ref.kind == "Deployment" else None
        if held is None and len({group_of[p.node or ""] for p in ready_old}) != 1:
            continue  # its Ready pods leave in different batches: eviction never takes it to zero
        everywhere = pods if ref.kind == "Pod" else pods_of(ref)
        ready = ready_pods(everywhere)
        obj = _workload_object(kube, ref)
        status = workload_status_from_json(ref, obj) if obj is not None else None
        if status is not None:
            desired = status.desired
        else:
            desired = 1 if ref.kind == "Pod" else ready  # a bare pod; an unknown owner wants what it has
        if is_generic_owner(ref.kind):
            status = None
        floor = budget_floor(desired, covering, status)
        keys = tuple(p.key for p in pods)
        if held is not None:  # no eviction ever: a surge that keeps the budget's floor, or the preflight blocker
            past = surge_past_budget(ref, keys, desired, floor, restart_shape(ref.kind, obj, desired),
                                     settings.budget_allows_none, held)
            found += [past] if past is not None else []
            continue
        if not at_risk(ready=ready, ready_on_one_batch=len(ready_old), floor=floor):
            continue
        found.append(decide(ref, keys, desired, restart_shape(ref.kind, obj, desired), settings.single_replica))
    return found


def single_replicas_in_view(kube, view, settings: RolloutSettings) -> list[SingleReplica]:
    """``find_single_replicas`` over one cluster view (the preflight's): its pods and budgets, GETs of the
    candidates' controllers only."""
    old = {n.name for n in view.old_nodes}
    by_ref: dict[WorkloadRef, list[Pod]] = {}

    def pods_of(ref: WorkloadRef) -> list[Pod]:
        if not by_ref:  # indexed once, on the first candidate
            for pod in view.pods:
                by_ref.setdefault(view.workload(pod), []).append(pod)
        return by_ref.get(ref, [])

    return find_single_replicas(kube, list(view.old_nodes), [p for p in view.pods if p.node in old], pods_of,
                                view.workload, list(view.budgets), settings)


def restart(kube, ref: WorkloadRef, obj: dict | None) -> str:
    """Patch the Deployment's template with a fresh restartedAt, as `kubectl rollout restart` does; returns it."""
    template = ((obj or {}).get("spec") or {}).get("template") or {}
    previous = ((template.get("metadata") or {}).get("annotations") or {}).get(RESTARTED_AT)
    stamp = restart_stamp(datetime.now(UTC), previous)
    group, plural = WORKLOAD_PATHS[ref.kind]
    kube.request("PATCH", f"{group}/namespaces/{quote(ref.namespace)}/{plural}/{quote(ref.name)}",
                 body=restart_patch(stamp), content_type="application/merge-patch+json")
    return stamp


@dataclass
class _Surging:
    plan: SingleReplica
    old: dict[str, str]  # uid -> node of its pods on the old nodes when the restart began
    last: str = ""


def move_by_surge(run) -> list[str]:
    """With every old node cordoned: move each workload eviction would take to zero Ready pods by a rolling
    restart (rollout.singleReplica=surge), all at once, and wait until each rollout is complete (as `kubectl
    rollout status` judges it) and its old pods are gone from the old nodes. Returns the old pods moved.

    Bounded by rollout.workloadHealthyTimeoutSeconds (``SurgeTimeout``); a new pod the scheduler cannot place stops
    at once (``ReplacementUnschedulable``). ``run`` is the drain's ``DrainRun``."""
    settings, clock, kube = run.settings, run.clock, run.kube
    if settings.single_replica != "surge":
        return []
    old_nodes = run.old_nodes()
    pods_on_old = run.node_pods([n.name for n in old_nodes])
    for namespace in sorted({p.namespace for p in pods_on_old}):
        run.learn_owners(namespace, None, [p for p in pods_on_old if p.namespace == namespace])
    singles = find_single_replicas(kube, old_nodes, pods_on_old, run.workload_pods,
                                   lambda p: workload_of(p, run.owners), run.budgets, settings)
    surging: dict[WorkloadRef, _Surging] = {}
    for single in singles:
        if single.action is not SingleReplicaAction.SURGE:
            continue
        old = {p.uid: p.node or "" for p in pods_on_old if p.key in single.pods}
        surging[single.workload] = _Surging(single, old)
    if not surging:
        return []
    run.reporter.emit(SurgeStarted(tuple(str(ref) for ref in sorted(surging))))
    for ref in sorted(surging):
        restart(kube, ref, _workload_object(kube, ref))
    start = clock.now()
    silent = {n.name for n in old_nodes if not n.ready}
    moved: list[str] = []
    while surging:
        for ref in sorted(surging):
            entry = surging[ref]
            obj = _workload_object(kube, ref)
            waited = clock.now() - start
            if obj is None:  # deleted meanwhile: nothing left to move
                del surging[ref]
                continue
            pods = run.workload_pods(ref)
            stuck = [p for p in pods if p.pending_unschedulable]
            if stuck:
                raise ReplacementUnschedulable(str(ref), stuck[0].key, stuck[0].unscheduled_message or
                                               "no reason given", ready_pods(pods), entry.plan.desired)
            complete, detail = rollout_status(obj)
            # An old pod terminating on a node whose kubelet is silent is not waited for (no kubelet confirms it).
            left = [p for p in pods if p.uid in entry.old and not (p.terminating and p.node in silent)]
            if complete and not left:
                del surging[ref]
                names = list(entry.plan.pods)
                to_nodes = tuple(sorted({p.node or "" for p in pods if p.uid not in entry.old and p.node}))
                moved += names
                run.reporter.emit(SurgeMoved(str(ref), tuple(names), tuple(sorted(set(entry.old.values()))),
                                             to_nodes, waited))
                continue
            if complete:
                detail = f"old pod(s) {', '.join(p.key for p in left)} still terminating"
            else:
                slow = [p for p in pods if p.uid not in entry.old and not p.ready and not p.terminating]
                if slow:
                    detail += "; new pod(s) not Ready yet: " + ", ".join(f"{p.key} on {p.node or '(unscheduled)'}"
                                                                        for p in slow[:3])
            if detail != entry.last:
                entry.last = detail
                run.reporter.emit(SurgeWaiting(str(ref), detail, waited))
            if waited >= settings.workload_healthy_timeout_s:
                raise SurgeTimeout(str(ref), waited, detail)
        if surging:
            clock.sleep(settings.poll_interval_s)
    return moved
