"""The replacements of moved pods: is a workload whole again, waiting on a slow pod, or stuck on an unplaceable one.

Pure verdicts over a workload's status and its live pods. A replacement the scheduler cannot place (PodScheduled
False, reason Unschedulable: k8s.io/kubernetes pkg/scheduler/schedule_one.go, ``handleSchedulingFailure``) will
not get better by waiting while every old node is cordoned, so it stops a drain at once; a replacement that is
placed but not Ready yet is merely slow, and is waited on up to the workload health timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bluegreen.engine.pods import Pod
from bluegreen.engine.workloads import WorkloadRef, WorkloadStatus, ready_pods

#: The rollout settings (stack config keys) that bound the waits, as operators spell them.
HEALTH_TIMEOUT_KEY = "rollout.workloadHealthyTimeoutSeconds"
NODE_TIMEOUT_KEY = "rollout.nodeDrainTimeoutSeconds"


class Health(Enum):
    AVAILABLE = "available"  # at its desired ready count, nothing Pending
    GONE = "gone"  # the workload itself was deleted: nothing to wait for
    UNSCHEDULABLE = "unschedulable"  # a pod of it is Pending and the scheduler says why
    STARTING = "starting"  # below desired, its missing pods are placed (or not created yet): slow


@dataclass(frozen=True)
class WorkloadVerdict:
    ref: WorkloadRef
    health: Health
    ready: int
    desired: int
    gap: str | None  # the controller's or the pods' shortfall in words
    unschedulable: tuple[Pod, ...] = ()
    starting: tuple[Pod, ...] = ()  # placed, not Ready (ContainerCreating, probes failing, ...)

    @property
    def whole(self) -> bool:
        return self.health in (Health.AVAILABLE, Health.GONE)

    def why(self, *, waited_s: float | None = None) -> str:
        """One line: what is missing and why, quoting the scheduler for a Pending pod."""
        if self.health is Health.UNSCHEDULABLE:
            pod = self.unschedulable[0]
            return (f"{self.ready}/{self.desired} Ready; pod {pod.key} is Pending, the scheduler says: "
                    f"\"{pod.unscheduled_message or pod.unscheduled_reason}\"")
        if self.health is Health.STARTING:
            waited = f" for {waited_s:.0f}s" if waited_s is not None else ""
            if self.starting:
                names = ", ".join(f"{p.key} on {p.node}" for p in self.starting[:3])
                return f"{self.ready}/{self.desired} Ready; slow: {names} placed but not Ready{waited}"
            return f"{self.ready}/{self.desired} Ready ({self.gap}); replacement not created yet{waited}"
        return f"{self.ready}/{self.desired} Ready"


def workload_gap(status: WorkloadStatus | None, ready_now: int) -> str | None:
    """None when fully available again: its controller says so and its Ready pods agree."""
    if status is None:
        return None  # the workload is gone (deleted by its owner): nothing to wait for
    gap = status.gap()
    if gap:
        return gap
    if ready_now < status.desired:
        return f"{ready_now}/{status.desired} pods Ready"
    return None


def judge_workload(ref: WorkloadRef, status: WorkloadStatus | None, pods: list[Pod],
                   excused: frozenset[str] = frozenset()) -> WorkloadVerdict:
    """The workload's health from its status and its live pods (of this workload only).

    ``excused``: nodes still to be drained. A pod of the workload that is not Ready there was not made unready by
    the run (it is not moved yet), so it does not hold the workload's gate: the drain moves it later, and the final
    verification (with nothing excused) asks for every pod."""
    ready = ready_pods(pods)
    if status is None:
        return WorkloadVerdict(ref, Health.GONE, ready, ready, None)
    unschedulable = tuple(p for p in pods if p.pending_unschedulable)
    gap = workload_gap(status, ready)
    unready_elsewhere = sum(1 for p in pods if p.node in excused and not p.ready and not p.terminating
                            and not p.finished)
    if gap and unready_elsewhere and status.generation_observed and ready + unready_elsewhere >= status.desired:
        gap = None
    if unschedulable:
        return WorkloadVerdict(ref, Health.UNSCHEDULABLE, ready, status.desired, gap or "a pod is Pending",
                               unschedulable=unschedulable)
    if gap is None:
        return WorkloadVerdict(ref, Health.AVAILABLE, ready, status.desired, None)
    starting = tuple(p for p in pods if p.node and not p.ready and not p.terminating and not p.finished)
    return WorkloadVerdict(ref, Health.STARTING, ready, status.desired, gap, starting=starting)


def below_baseline(verdict: WorkloadVerdict, baseline: int | None) -> bool:
    """Fewer Ready pods than the workload had before the run (a workload the run did not know: never)."""
    return baseline is not None and verdict.health is not Health.GONE and verdict.ready < baseline
