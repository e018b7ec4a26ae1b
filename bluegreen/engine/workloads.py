"""Workloads (the controllers that own the pods being moved) and when they count as fully available."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from bluegreen.engine.pods import Pod


@dataclass(frozen=True, order=True)
class WorkloadRef:
    kind: str  # Deployment | StatefulSet | ReplicaSet | ReplicationController | Pod (bare) | other owner kinds
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


def workload_of(pod: Pod, replicaset_owners: Mapping[tuple[str, str], tuple[str, str] | None]) -> WorkloadRef:
    """The workload a pod belongs to; a ReplicaSet owned by a Deployment resolves to the Deployment."""
    if pod.owner_kind is None or pod.owner_name is None:
        return WorkloadRef("Pod", pod.namespace, pod.name)
    if pod.owner_kind == "ReplicaSet":
        owner = replicaset_owners.get((pod.namespace, pod.owner_name))
        if owner is not None:
            return WorkloadRef(owner[0], pod.namespace, owner[1])
    return WorkloadRef(pod.owner_kind, pod.namespace, pod.owner_name)


@dataclass(frozen=True)
class WorkloadStatus:
    ref: WorkloadRef
    desired: int
    ready: int
    available: int
    updated: int
    generation_observed: bool
    max_unavailable: int | str | None = None  # the workload's own rolling-update maxUnavailable, when set

    @property
    def rolling(self) -> bool:
        """A Deployment whose controller is rolling out a new template: it takes old pods down itself, up to its
        own maxUnavailable, as soon as its status shows room (deployment controller, rolling.go
        ``reconcileOldReplicaSets``). An eviction decided on the same status would spend that room twice."""
        return self.ref.kind == "Deployment" and (not self.generation_observed or self.updated < self.desired)

    def gap(self) -> str | None:
        """None when fully available; else what is missing, in words."""
        if not self.generation_observed:
            return "controller has not observed the latest spec yet"
        if self.ref.kind == "Deployment":
            if self.updated < self.desired or self.available < self.desired:
                return f"{self.available}/{self.desired} available, {self.updated}/{self.desired} updated"
            return None
        if self.ready < self.desired or self.available < self.desired:
            return f"{self.ready}/{self.desired} ready"
        return None


def workload_status_from_json(ref: WorkloadRef, obj: dict) -> WorkloadStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = obj.get("metadata") or {}
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") if status.get("availableReplicas") is not None else ready)
    updated = int(status.get("updatedReplicas") if status.get("updatedReplicas") is not None else ready)
    observed = status.get("observedGeneration")
    generation = meta.get("generation")
    max_unavailable = ((spec.get("strategy") or spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get(
        "maxUnavailable"
    )
    return WorkloadStatus(
        ref=ref,
        desired=desired,
        ready=ready,
        available=available,
        updated=updated,
        generation_observed=observed is None or generation is None or int(observed) >= int(generation),
        max_unavailable=max_unavailable,
    )


#: Controller kinds whose status the engine reads (desired/ready, rolling-update maxUnavailable).
KNOWN_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "DaemonSet")


def is_generic_owner(kind: str) -> bool:
    """A controller kind the engine does not know (an Argo Rollout, an operator's custom resource owning pods
    directly): the generic rule protects it. Jobs and bare pods have their own rules."""
    return kind not in (*KNOWN_KINDS, "Job", "Pod")


def generic_status(ref: WorkloadRef, baseline_ready: int, pods: list[Pod]) -> WorkloadStatus:
    """The status of a workload of an unknown controller kind, from its own pods: it wants the Ready pods it had
    before the run, one may be in flight at a time (no maxUnavailable of its own is known)."""
    ready = ready_pods(pods)
    return WorkloadStatus(ref, desired=baseline_ready, ready=ready, available=ready, updated=ready,
                          generation_observed=True)


def budget_words(kind: str, pdb: str | None) -> str:
    """What protects a workload's pods during the drain, as ``plan`` states it."""
    if pdb:
        return f"PodDisruptionBudget {pdb}"
    if kind == "Job":
        return ("waits for completion (rollout.jobCompletionTimeoutSeconds), then rollout.unmanagedPods applies")
    if is_generic_owner(kind):
        return f"implicit, generic rule for {kind}: one ready pod at a time, gated on its pods' readiness"
    if kind == "DaemonSet":
        return "stays (DaemonSet)"
    return "implicit: one ready replica at a time (or the workload's own rollingUpdate maxUnavailable)"


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """An int-or-percent ("25%") resolved against ``total`` (Kubernetes IntOrString semantics)."""
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def implicit_allowance(status: WorkloadStatus | None) -> int:
    """How many pods of a workload without a PDB may be in flight at once: one, or its own explicit maxUnavailable.

    Percentages round down like a Deployment's maxUnavailable, but never below one: a drain must make progress.
    """
    if status is None or status.max_unavailable is None:
        return 1
    return max(1, scaled_value(status.max_unavailable, status.desired, round_up=False))


def ready_pods(pods: list[Pod]) -> int:
    """Ready pods that are not on their way out."""
    return sum(1 for p in pods if p.ready and not p.terminating and p.phase == "Running")
