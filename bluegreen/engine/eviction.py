"""Eviction of one pod: its typed outcome, the state of its move, and what to do after a budget refused it.

Modelled on kubectl's drain helper (k8s.io/kubectl/pkg/drain/drain.go, ``Helper.evictPods``): an eviction
answered 429 (a PodDisruptionBudget says "not now") is retried until a timeout, a 404 means the pod is already
gone, anything else stops the drain; an evicted pod is then waited on until its UID is gone
(``Helper.waitForDelete``). Here each pod's move is one small record and the decisions are pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from bluegreen.engine.pods import Pod
from bluegreen.engine.retries import backoff_delay
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.workloads import WorkloadRef


class EvictionOutcome(StrEnum):
    """What the API server answered to one Eviction."""

    EVICTED = "evicted"  # 201: the pod is being deleted gracefully
    REFUSED = "refused"  # 429: a disruption budget refuses it now
    GONE = "gone"  # 404: the pod no longer exists
    FAILED = "failed"  # anything else, after the transport's own retries


class MovePhase(Enum):
    WAITING = "waiting"  # not evicted yet (never tried, or refused and backing off)
    LEAVING = "leaving"  # evicted or force-deleted; its UID is still on the old node
    GONE = "gone"  # deleted: its replacement (if any) is the workload's business now


@dataclass
class PodMove:
    """One pod the drain moves off an old node, and how far that got."""

    pod: Pod
    workload: WorkloadRef
    phase: MovePhase = MovePhase.WAITING
    attempts: int = 0  # eviction requests refused so far
    first_refused: float | None = None
    next_try: float = 0.0
    left_at: float | None = None  # when the eviction (or the forced delete) was accepted
    gone_at: float | None = None  # when its UID was seen gone from the node
    forced: bool = False
    pdb: str | None = None  # the budget that refused it last ("namespace/name")
    costs_availability: bool = True  # it was Ready when it left: an unready pod's move costs nothing
    stuck: str | None = None  # why it is still there long after its grace period (finalizers, node state)
    not_awaited: bool = False  # its node stopped answering: its deletion was not waited for
    released: bool = False  # a Job pod waited for past rollout.jobCompletionTimeoutSeconds, now evictable

    @property
    def open(self) -> bool:
        return self.phase is not MovePhase.GONE

    @property
    def waiting(self) -> bool:
        return self.phase is MovePhase.WAITING

    @property
    def leaving(self) -> bool:
        return self.phase is MovePhase.LEAVING


# -- decisions after a refusal ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryAt:
    at: float


@dataclass(frozen=True)
class GiveUp:
    waited_s: float


@dataclass(frozen=True)
class ForceDelete:
    waited_s: float


RefusalDecision = RetryAt | GiveUp | ForceDelete


def after_refusal(*, attempts: int, first_refused: float, now: float, settings: RolloutSettings) -> RefusalDecision:
    """A budget refused the ``attempts``-th eviction: retry later (backoff with jitter), give up, or force."""
    waited = now - first_refused
    if waited >= settings.eviction_timeout_s:
        return ForceDelete(waited) if settings.on_pdb_timeout == "force" else GiveUp(waited)
    delay = backoff_delay(attempts, base_s=settings.poll_interval_s, cap_s=settings.poll_interval_s * 6)
    return RetryAt(now + delay)


def may_try_now(move: PodMove, now: float, *, budget_has_room: bool) -> bool:
    """A refused eviction waits out its backoff, unless a fresh read of its budget shows room again."""
    return move.waiting and (move.next_try <= now or budget_has_room)


def replacement_due(move: PodMove, now: float, window_s: float) -> bool:
    """Whether the move's replacement may just have been created: a ReplicaSet replaces a pod as soon as it is
    evicted, a StatefulSet once it is gone (the scheduler answers within a moment either way)."""
    recent = [t for t in (move.left_at, move.gone_at) if t is not None]
    return any(now - t <= window_s for t in recent)


def implicit_room(*, allowance: int, desired: int, ready: int, controller_rolling: bool = False) -> int:
    """Evictions a workload without a PDB may take now: its allowance less the replicas already unavailable; none
    while its controller rolls out a new template (it spends the same allowance itself, from a status that lags).
    Unready pods cost nothing and go anyway."""
    if controller_rolling:
        return 0
    return max(0, allowance - max(0, desired - ready))


def may_evict_implicitly(*, in_flight: int, desired: int, ready: int, allowance: int, pod_ready: bool = True,
                         controller_rolling: bool = False) -> bool:
    """Implicit budget of a workload without a PDB: never more than ``allowance`` replicas down or in flight.

    While its controller rolls out a new template (``controller_rolling``) no Ready pod is evicted: the
    controller spends the same allowance on its own and acts on a status that lags, so both together could take
    the workload below it. The drain waits for the rollout to finish (bounded by the node's drain timeout).

    A pod that is not Ready costs no availability: it goes at once and is not counted (as kubectl's drain evicts
    it, and as the eviction handler lets an unready pod go past a PDB: k8s.io/kubernetes pkg/registry/core/pod/
    storage/eviction.go, ``EvictionREST.Create``). ``in_flight`` counts only moves of pods that were Ready."""
    if not pod_ready:
        return True
    room = implicit_room(allowance=allowance, desired=desired, ready=ready, controller_rolling=controller_rolling)
    return room > 0 and in_flight < allowance


#: Seconds past a pod's grace period after which a pod still present counts as stuck Terminating.
STUCK_MARGIN_S = 30.0


def is_stuck(move: PodMove, now: float) -> bool:
    """Still present well after its grace period: a finalizer or a silent kubelet holds it."""
    return move.leaving and move.left_at is not None and now - move.left_at > move.pod.grace_s + STUCK_MARGIN_S


def node_state(ready: bool, reason: str, taints: tuple[str, ...]) -> str:
    """A node's state in a few words, for the operator: Ready, NotReady (reason), unreachable."""
    if "node.kubernetes.io/unreachable" in taints:
        return "unreachable (kubelet stopped reporting)"
    return "Ready" if ready else f"NotReady ({reason or 'no reason given'})"


class JobWait(Enum):
    WAIT = "wait"  # still within rollout.jobCompletionTimeoutSeconds
    EVICT = "evict"  # waited out; unmanagedPods=evict: evict it (the Job recreates what it still needs)
    BLOCK = "block"  # waited out; unmanagedPods=block: stop the drain naming it


def after_job_wait(waited_s: float, settings: RolloutSettings) -> JobWait:
    """A running Job pod on a node being drained: wait for it to complete, up to the timeout, then the
    unmanaged-pod policy applies (kubectl drain has no such wait; a Job's pod evicted mid-run loses its work)."""
    if waited_s < settings.job_completion_timeout_s:
        return JobWait.WAIT
    return JobWait.EVICT if settings.unmanaged_pods == "evict" else JobWait.BLOCK


def should_report_refusal(attempts: int) -> bool:
    """The first refusal and every tenth are reported; the others would only repeat it."""
    return attempts == 1 or attempts % 10 == 0


def refusing_budget(answer_pdb: str | None, pod: Pod, covering: list[str]) -> str | None:
    """The refusing budget as "namespace/name": the API names it without a namespace (it is the pod's)."""
    if answer_pdb:
        return answer_pdb if "/" in answer_pdb else f"{pod.namespace}/{answer_pdb}"
    return covering[0] if covering else None
