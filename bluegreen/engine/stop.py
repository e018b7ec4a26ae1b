"""The stop invariant: whenever a drain ends without success, no pod it moved stays unschedulable because of a
node it cordoned.

On any stop the drain observes the workloads it knew (those with pods on the old nodes when it started, those it
evicted from) and every Pending pod the scheduler cannot place. If a pod is Pending, or a workload has fewer Ready
pods than before the run, the old nodes it cordoned are uncordoned, so the pod can land there again and the old
color really keeps serving. ``StopState`` is the truth after that, for the error message and for reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bluegreen.engine.cordons import to_release, uncordon
from bluegreen.engine.kube import WORKLOAD_PATHS
from bluegreen.engine.naming import COLORS, other_color
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.pods import Pod, pod_from_json
from bluegreen.engine.progress import NodesUncordoned, Reporter
from bluegreen.engine.replacements import Health, WorkloadVerdict, below_baseline, judge_workload
from bluegreen.engine.view import replicaset_owners
from bluegreen.engine.workloads import WorkloadRef, workload_of, workload_status_from_json

#: The scheduler's words for a node kept off by its cordon (k8s.io/kubernetes pkg/scheduler/framework/plugins/
#: nodeunschedulable/node_unschedulable.go, ``ErrReasonUnschedulable``).
CORDON_REASON = "node(s) were unschedulable"


@dataclass(frozen=True)
class Shortfall:
    """A workload below its desired ready count, and why."""

    workload: str
    ready: int
    desired: int
    why: str
    pending: tuple[str, ...] = ()  # its Pending pods

    def to_dict(self) -> dict:
        return {"workload": self.workload, "ready": self.ready, "desired": self.desired, "why": self.why,
                "pending": list(self.pending)}


@dataclass(frozen=True)
class StopState:
    """What a stopped drain left behind, after the stop invariant was applied."""

    old_color: str
    cordoned: tuple[str, ...]  # old nodes still cordoned
    uncordoned: tuple[str, ...]  # old nodes this stop uncordoned
    below: tuple[Shortfall, ...]  # workloads below desired
    read_error: str | None = None  # the state could not be read (the API failed): said, not guessed

    def to_dict(self) -> dict:
        return {"old_color": self.old_color, "cordoned_nodes": list(self.cordoned),
                "uncordoned_nodes": list(self.uncordoned), "workloads_below_desired": [s.to_dict() for s in self.below],
                "read_error": self.read_error}

    def describe(self) -> str:
        if self.read_error:
            return (f"State now: unknown, it could not be read ({self.read_error}). Next: `bluegreen status` once "
                    f"the API answers; uncordon {self.old_color} nodes (kubectl uncordon) if a pod is Pending.")
        lines = ["State now:"]
        if self.uncordoned:
            lines.append(f"  uncordoned {len(self.uncordoned)} {self.old_color} node(s) ({_names(self.uncordoned)}) "
                         "so that the moved pods can be scheduled on them again; the old color serves")
        if self.cordoned:
            lines.append(f"  {len(self.cordoned)} {self.old_color} node(s) still cordoned ({_names(self.cordoned)}); "
                         "they keep the pods they hold")
        elif not self.uncordoned:
            lines.append(f"  no {self.old_color} node is cordoned")
        if self.below:
            lines += [f"  below desired: {s.workload} {s.why}" for s in self.below]
        else:
            lines.append("  no workload the run moved or found waiting is below its desired ready count")
        if self.cordoned and not self.below:
            lines.append("Next: fix the cause above and re-run to continue; or go back (activeAmi to the old AMI), "
                         f"which uncordons the {self.old_color} nodes.")
        else:
            lines.append("Next: fix the cause above, then re-run.")
        return "\n".join(lines)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


# -- pure decisions ---------------------------------------------------------------------------------------------


def kept_off_by_cordon(pod: Pod) -> bool:
    """A Pending pod the scheduler turns away from at least one cordoned node (among other reasons, maybe)."""
    return pod.pending_unschedulable and CORDON_REASON in pod.unscheduled_message


def must_release(verdicts: list[WorkloadVerdict], baseline: Mapping[WorkloadRef, int]) -> bool:
    """Uncordon the old nodes when a moved pod is Pending or a workload lost Ready pods in this run."""
    return any(v.health is Health.UNSCHEDULABLE or below_baseline(v, baseline.get(v.ref)) for v in verdicts)


def shortfalls(verdicts: list[WorkloadVerdict]) -> tuple[Shortfall, ...]:
    return tuple(
        Shortfall(str(v.ref), v.ready, v.desired, v.why(), tuple(p.key for p in v.unschedulable))
        for v in sorted(verdicts, key=lambda v: v.ref) if not v.whole
    )


def workloads_to_check(known: set[WorkloadRef], pods: list[Pod], owners: Mapping) -> set[WorkloadRef]:
    """The workloads a stop (or a success) answers for: those the run knew, plus any with a pod that the cordon
    keeps Pending (an earlier run's move, say)."""
    stuck = {workload_of(p, owners) for p in pods if kept_off_by_cordon(p)}
    return {ref for ref in known | stuck if ref.kind not in ("Pod", "DaemonSet")}


# -- observing ----------------------------------------------------------------------------------------------


def observe_workloads(kube, refs: set[WorkloadRef], pods: list[Pod], owners: Mapping) -> list[WorkloadVerdict]:
    """One verdict per workload, from its controller's status and the given pods (one list, read once)."""
    by_ref: dict[WorkloadRef, list[Pod]] = {}
    for pod in pods:
        by_ref.setdefault(workload_of(pod, owners), []).append(pod)
    verdicts = []
    for ref in sorted(refs):
        where = WORKLOAD_PATHS.get(ref.kind)
        if where is None:
            continue
        obj = kube.get_namespaced(where[0], where[1], ref.namespace, ref.name)
        status = None if obj is None else workload_status_from_json(ref, obj)
        verdicts.append(judge_workload(ref, status, by_ref.get(ref, [])))
    return verdicts


def release_stuck(kube, serving_color: str, reporter: Reporter) -> StopState:
    """A gate of a run that makes ``serving_color`` serve failed: the other color's nodes a drain cordoned are
    uncordoned when a pod is kept Pending by that cordon (an earlier, interrupted drain's move)."""
    if serving_color not in COLORS:
        return StopState(serving_color, (), (), (), read_error=f"unknown color {serving_color!r}")
    return settle_stop(kube, other_color(serving_color), set(), {}, reporter)


def settle_stop(kube, old_color: str, known: set[WorkloadRef], baseline: Mapping[WorkloadRef, int],
                reporter: Reporter) -> StopState:
    """Apply the stop invariant and describe the result. Never raises: a failed read is reported as such."""
    try:
        pods = [pod_from_json(p) for p in kube.list_pods()]
        owners = replicaset_owners(kube.list_all("/apis/apps/v1", "replicasets"))
        verdicts = observe_workloads(kube, workloads_to_check(known, pods, owners), pods, owners)
        old_nodes = [node_from_json(n) for n in kube.nodes_of_color(old_color)]
        released: list[str] = []
        if must_release(verdicts, baseline):
            released = uncordon(kube, to_release(old_nodes))
            if released:
                pending = [p.key for v in verdicts for p in v.unschedulable]
                why = (f"pod(s) {', '.join(pending[:3])} Pending" if pending
                       else "workload(s) below the ready count they had before the run")
                reporter.emit(NodesUncordoned(old_color, tuple(released), f"the drain stopped; {why}"))
        cordoned = tuple(n.name for n in old_nodes if n.unschedulable and n.name not in released)
        return StopState(old_color, cordoned, tuple(released), shortfalls(verdicts))
    except Exception as exc:  # the original error must come out, with what is known
        return StopState(old_color, (), (), (), read_error=f"{type(exc).__name__}: {exc}")
