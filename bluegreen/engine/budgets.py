"""PodDisruptionBudgets as plain observations, and which ones can never allow a disruption."""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.engine.pods import Pod
from bluegreen.engine.selectors import matches
from bluegreen.engine.workloads import scaled_value


@dataclass(frozen=True)
class Budget:
    namespace: str
    name: str
    selector: dict = field(hash=False, compare=False)
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def covers(self, pod: Pod) -> bool:
        return pod.namespace == self.namespace and matches(self.selector, pod.labels)


def budget_from_json(obj: dict) -> Budget:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return Budget(
        namespace=meta.get("namespace") or "default",
        name=meta["name"],
        selector=spec.get("selector") or {},
        min_available=spec.get("minAvailable"),
        max_unavailable=spec.get("maxUnavailable"),
        disruptions_allowed=int(status.get("disruptionsAllowed") or 0),
        current_healthy=int(status.get("currentHealthy") or 0),
        desired_healthy=int(status.get("desiredHealthy") or 0),
        expected_pods=int(status.get("expectedPods") or 0),
    )


def budgets_for(pod: Pod, budgets: list[Budget]) -> list[Budget]:
    return [b for b in budgets if b.covers(pod)]


def allowed_when_all_healthy(budget: Budget, expected: int) -> int:
    """Disruptions the budget would allow with every one of ``expected`` pods healthy (the disruption controller's
    arithmetic: percentages of expected pods, rounded up)."""
    if budget.max_unavailable is not None:
        return scaled_value(budget.max_unavailable, expected, round_up=True)
    if budget.min_available is not None:
        return expected - scaled_value(budget.min_available, expected, round_up=True)
    return expected  # neither set: the API server rejects this; treat as no constraint


def scaling_up_helps(budget: Budget) -> bool:
    """Whether more replicas would let the budget allow an eviction: not for maxUnavailable 0 (or 0%), nor for
    minAvailable 100%, which keep every pod whatever the replica count."""
    if budget.max_unavailable is not None:
        return str(budget.max_unavailable).strip() not in ("0", "0%")
    if budget.min_available is not None:
        return str(budget.min_available).strip() != "100%"
    return True


def loosen_advice(budget: Budget) -> str:
    """The operator's way out of a budget that refuses evictions (never "scale up" where that cannot help)."""
    if scaling_up_helps(budget):
        return "scale the workload up or loosen the budget"
    rule = (f"maxUnavailable {budget.max_unavailable}" if budget.max_unavailable is not None
            else f"minAvailable {budget.min_available}")
    return f"loosen the budget ({rule} lets no pod go, whatever the replica count)"


def never_allows(budget: Budget, expected: int) -> str | None:
    """Why ``budget`` can never let a drain evict a pod, or None when it can."""
    if expected == 0:
        return None
    allowed = allowed_when_all_healthy(budget, expected)
    if allowed > 0:
        return None
    rule = (
        f"maxUnavailable {budget.max_unavailable}"
        if budget.max_unavailable is not None
        else f"minAvailable {budget.min_available}"
    )
    return (
        f"PodDisruptionBudget {budget.key} ({rule}, {expected} pod(s)) allows no disruption even when every pod is "
        f"healthy, so its pods can never be evicted. Next: {loosen_advice(budget)}"
    )


def counts_controllers(budget: Budget) -> bool:
    """Whether the disruption controller takes this budget's expected pods from the pods' controllers' scale
    (maxUnavailable, or a percentage minAvailable) rather than from the pods it selects (integer minAvailable)."""
    if budget.max_unavailable is not None:
        return True
    return isinstance(budget.min_available, str)


def unmanaged_blocker(budget: Budget, covered: list[Pod]) -> str | None:
    """Why ``budget`` refuses every eviction of the ``covered`` pods that have no controller, or None.

    For maxUnavailable or a percentage minAvailable the disruption controller counts only the scale of the pods'
    controllers: a pod without one (a bare pod) is not expected at all, and a budget whose covered pods all lack a
    controller expects none and allows no disruption, ever."""
    bare = sorted(p.key for p in covered if p.owner_kind is None)
    if not bare or not counts_controllers(budget) or len(bare) < len(covered):
        return None
    rule = (f"maxUnavailable {budget.max_unavailable}" if budget.max_unavailable is not None
            else f"minAvailable {budget.min_available}")
    return (f"PodDisruptionBudget {budget.key} ({rule}) selects only pods without a controller ({', '.join(bare)}); "
            "the disruption controller expects no pods for it and allows no eviction, ever. Next: give the budget an "
            "integer minAvailable, or delete those pods yourself")

