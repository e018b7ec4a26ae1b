"""Pods as plain observations, and the filters that decide which pods a drain moves.

Like kubectl's drain helper: each filter returns a verdict with a reason, and
the verdicts are collected so every blocker is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bluegreen.engine import opt_outs
from bluegreen.engine.placement import PodConstraints, constraints_from_json, requests_from_json
from bluegreen.engine.settings import RolloutSettings

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str
    node: str | None
    phase: str
    ready: bool
    owner_kind: str | None
    owner_name: str | None
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    terminating: bool = False
    mirror: bool = False
    empty_dir: bool = False
    cpu_m: int = 0
    memory_b: int = 0
    # nodeSelector, required node affinity, tolerations, claims: what the placement check needs
    constraints: PodConstraints = field(default=PodConstraints(), hash=False, compare=False)
    # PodScheduled=False: the scheduler's reason (Unschedulable, SchedulingGated, ...) and its message.
    unscheduled_reason: str | None = None
    unscheduled_message: str = ""
    created: str = ""
    finalizers: tuple[str, ...] = ()
    grace_s: float = 30.0  # the deletion's grace period (deletionGracePeriodSeconds), else the spec's
    # The annotation by which it opts out of voluntary disruption (opt_outs.py), e.g. karpenter.sh/do-not-disrupt.
    opt_out: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def pending_unschedulable(self) -> bool:
        """Waiting for a node the scheduler cannot find (PodScheduled=False, reason Unschedulable)."""
        return self.node is None and self.unscheduled_reason == "Unschedulable" and not self.terminating

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


def pod_from_json(obj: dict) -> Pod:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    refs = meta.get("ownerReferences") or []
    owners = [o for o in refs if o.get("controller")] or refs
    owner = owners[0] if owners else {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    cpu, mem = requests_from_json(spec)
    scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
    unscheduled = scheduled.get("status") == "False"
    return Pod(
        namespace=meta.get("namespace") or "default",
        name=meta["name"],
        uid=meta.get("uid") or "",
        node=spec.get("nodeName"),
        phase=status.get("phase") or "Pending",
        ready=conditions.get("Ready") == "True",
        owner_kind=owner.get("kind"),
        owner_name=owner.get("name"),
        labels=dict(meta.get("labels") or {}),
        terminating=bool(meta.get("deletionTimestamp")),
        mirror=MIRROR_ANNOTATION in (meta.get("annotations") or {}),
        empty_dir=any("emptyDir" in v for v in spec.get("volumes") or []),
        cpu_m=cpu,
        memory_b=mem,
        constraints=constraints_from_json(spec),
        unscheduled_reason=(scheduled.get("reason") or "Unknown") if unscheduled else None,
        unscheduled_message=(scheduled.get("message") or "") if unscheduled else "",
        created=meta.get("creationTimestamp") or "",
        finalizers=tuple(meta.get("finalizers") or ()),
        grace_s=float(meta.get("deletionGracePeriodSeconds") if meta.get("deletionGracePeriodSeconds") is not None
                      else spec.get("terminationGracePeriodSeconds", 30)),
        opt_out=opt_outs.opt_out(meta.get("annotations")),
    )


Action = Literal["evict", "stay", "block"]


@dataclass(frozen=True)
class PodVerdict:
    pod: Pod
    action: Action
    reason: str
    warning: str | None = None


def classify(pod: Pod, settings: RolloutSettings) -> PodVerdict:
    """What a drain does with ``pod``: evict it, leave it (with why), or refuse to start (with why)."""
    if pod.phase in ("Succeeded", "Failed"):
        return PodVerdict(pod, "stay", f"finished ({pod.phase})")
    if pod.mirror:
        return PodVerdict(pod, "stay", "mirror pod (static, managed by the kubelet)")
    if pod.owner_kind == "DaemonSet":
        return PodVerdict(pod, "stay", f"DaemonSet pod ({pod.owner_name})")
    if pod.terminating:
        return PodVerdict(pod, "stay", "already terminating")
    warning = None
    if pod.opt_out is not None:
        if settings.do_not_disrupt == "block":
            return PodVerdict(pod, "block", opt_outs.blocker(pod.key, pod.opt_out))
        warning = opt_outs.warning(pod.key, pod.opt_out, settings.do_not_disrupt, settings.do_not_disrupt_timeout_s)
    if pod.owner_kind is None:
        if settings.unmanaged_pods == "block":
            return PodVerdict(
                pod, "block",
                f"pod {pod.key} has no controller: evicting it deletes it for good. Next: run it under a "
                "Deployment/StatefulSet, delete it yourself, or set rollout.unmanagedPods=evict",
            )
        warning = warning or f"pod {pod.key} has no controller and will be deleted for good (unmanagedPods=evict)"
    if pod.empty_dir:
        if settings.empty_dir == "block":
            return PodVerdict(
                pod, "block",
                f"pod {pod.key} keeps local data in an emptyDir volume that eviction destroys. Next: move the "
                "data to a persistent volume, or set rollout.emptyDir=evict",
            )
        warning = warning or f"pod {pod.key}: its emptyDir data will be lost"
    return PodVerdict(pod, "evict", "evictable", warning)
