"""PodDisruptionBudget arithmetic and the eviction verdict, as the real disruption controller and
eviction subresource compute them (pkg/controller/disruption, pkg/registry/core/pod/storage/eviction.go).

Pure functions over plain dicts; the cluster gathers the pods and controller scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bluegreen.sandbox.kube.errors import ApiError, InternalError, TooManyRequests

EVICTION_BLOCKED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_PDBS_MESSAGE = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, a percentage of ``total``."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.endswith("%"):
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
    percent = int(text[:-1])
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def pod_ready(pod: dict) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def pod_healthy(pod: dict) -> bool:
    """Counted in currentHealthy: Ready and not being deleted."""
    return pod_ready(pod) and not pod.get("metadata", {}).get("deletionTimestamp")


def pod_terminal(pod: dict) -> bool:
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")


@dataclass(frozen=True)
class BudgetStatus:
    current_healthy: int
    desired_healthy: int
    disruptions_allowed: int
    expected_pods: int


def budget_status(spec: dict, pods: list[dict], controller_scale: int) -> BudgetStatus:
    """The status of a PDB over the (non-terminal) ``pods`` it selects.

    ``controller_scale`` is the sum of the desired replicas of the pods' controllers, which the
    real controller uses as the expected count for maxUnavailable and for percentage minAvailable.
    """
    pods = [p for p in pods if not pod_terminal(p)]
    current = sum(1 for p in pods if pod_healthy(p))
    expected, desired = len(pods), 0
    if spec.get("maxUnavailable") is not None:
        expected = controller_scale
        desired = expected - scaled_value(spec["maxUnavailable"], expected, round_up=True)
    elif spec.get("minAvailable") is not None:
        minimum = spec["minAvailable"]
        if isinstance(minimum, int) or str(minimum).lstrip("-").isdigit():
            desired = int(minimum)
        else:
            expected = controller_scale
            desired = scaled_value(minimum, expected, round_up=True)
    desired = max(desired, 0)
    allowed = current - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    return BudgetStatus(current, desired, allowed, expected)


@dataclass(frozen=True)
class EvictionVerdict:
    allowed: bool
    reason: str
    error: ApiError | None = None


def eviction_verdict(pod: dict, budgets: list[tuple[dict, BudgetStatus]]) -> EvictionVerdict:
    """Whether evicting ``pod`` may proceed, given every PDB that selects it and its fresh status."""
    metadata = pod.get("metadata", {})
    phase = pod.get("status", {}).get("phase")
    if metadata.get("deletionTimestamp") or phase in ("Succeeded", "Failed", "Pending"):
        return EvictionVerdict(True, "pod is terminal, pending or already terminating: budgets do not apply")
    if not budgets:
        return EvictionVerdict(True, "no PodDisruptionBudget selects the pod")
    if len(budgets) > 1:
        return EvictionVerdict(False, "more than one budget", InternalError(MULTIPLE_PDBS_MESSAGE))
    pdb, status = budgets[0]
    name = pdb["metadata"]["name"]
    if not pod_ready(pod):
        policy = pdb.get("spec", {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
        if policy == "AlwaysAllow":
            return EvictionVerdict(True, f"pod is not ready and {name} allows evicting unhealthy pods")
        if status.current_healthy >= status.desired_healthy and status.desired_healthy > 0:
            return EvictionVerdict(True, f"pod is not ready and the budget {name} is healthy")
    if status.disruptions_allowed <= 0:
        cause = (f"The disruption budget {name} needs {status.desired_healthy} healthy pods "
                 f"and has {status.current_healthy} currently")
        error = TooManyRequests(EVICTION_BLOCKED_MESSAGE,
                                details={"causes": [{"reason": "DisruptionBudget", "message": cause}]})
        return EvictionVerdict(False, cause, error)
    return EvictionVerdict(True, f"the budget {name} allows {status.disruptions_allowed} disruption(s)")
