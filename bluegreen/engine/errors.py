"""Named failures of a cutover.

Every message names the thing that blocks (instance, pod, PodDisruptionBudget,
workload, group) and the operator's next step. Whatever the failure, the old
color is left serving: at worst its nodes are cordoned, never drained past the
point where the error was raised.
"""

from __future__ import annotations


class CutoverError(Exception):
    """Base of every failure the engine reports on purpose."""


class ConnectError(CutoverError):
    """The cluster or AWS could not be reached or described."""


class GroupNotFound(CutoverError):
    def __init__(self, group_name: str) -> None:
        self.group_name = group_name
        super().__init__(
            f"Auto Scaling group {group_name} does not exist; deploy the stack (pulumi up) "
            "or check the cluster name and region"
        )


class ReadinessTimeout(CutoverError):
    """The new group's instances did not all become Ready nodes in time."""

    def __init__(self, group_name: str, waited_s: float, gaps: list[str]) -> None:
        self.group_name = group_name
        self.gaps = list(gaps)
        lines = "\n  ".join(gaps)
        super().__init__(
            f"nodes of {group_name} not ready after {waited_s:.0f}s; nothing was drained, the old color still serves:\n"
            f"  {lines}\n"
            "Next: fix the instances (kubelet logs, bootstrap user data, AMI) and re-run; "
            "or raise rollout.nodeReadyTimeoutSeconds."
        )


class LoadBalancerTimeout(CutoverError):
    """The new group's instances were not healthy behind every load balancer in time."""

    def __init__(self, group_name: str, waited_s: float, gaps: list[str]) -> None:
        self.group_name = group_name
        self.gaps = list(gaps)
        lines = "\n  ".join(gaps)
        super().__init__(
            f"instances of {group_name} not healthy behind its load balancers after {waited_s:.0f}s; "
            f"nothing was drained, the old color still serves:\n  {lines}\n"
            "Next: check the target group health checks, security groups and the node port; "
            "or raise rollout.loadBalancerHealthyTimeoutSeconds."
        )


class PreflightBlocked(CutoverError):
    """The drain cannot start safely; every blocker is listed."""

    def __init__(self, blockers: list[str]) -> None:
        self.blockers = list(blockers)
        lines = "\n  ".join(blockers)
        super().__init__(
            f"drain not started ({len(blockers)} blocker(s)); nothing was evicted, the old color still serves:\n"
            f"  {lines}"
        )


class EvictionBlocked(CutoverError):
    """A PodDisruptionBudget kept refusing a pod's eviction past the eviction timeout."""

    def __init__(self, pod: str, pdb: str | None, waited_s: float, detail: str = "") -> None:
        self.pod = pod
        self.pdb = pdb
        budget = f"PodDisruptionBudget {pdb}" if pdb else "a disruption budget"
        more = f" ({detail})" if detail else ""
        super().__init__(
            f"eviction of pod {pod} refused by {budget} for {waited_s:.0f}s{more}; the drain stopped, the old nodes "
            "stay cordoned and keep serving. Next: make the workload able to lose a pod (more replicas, a looser "
            "budget), then re-run; or set rollout.onPdbTimeout=force to delete past the budget."
        )


class EvictionFailed(CutoverError):
    """The API refused an eviction for a reason that retrying cannot fix."""

    def __init__(self, pod: str, status: int, message: str) -> None:
        self.pod = pod
        self.status = status
        super().__init__(
            f"eviction of pod {pod} failed with HTTP {status}: {message}. The drain stopped, the old nodes stay "
            "cordoned and keep serving. Next: fix the cause above and re-run."
        )


class DrainTimeout(CutoverError):
    """A node took longer than node_drain_timeout_s."""

    def __init__(self, node: str, waited_s: float, remaining: list[str]) -> None:
        self.node = node
        self.remaining = list(remaining)
        names = ", ".join(remaining[:10]) + (" ..." if len(remaining) > 10 else "")
        super().__init__(
            f"node {node} not drained after {waited_s:.0f}s; still waiting on: {names or 'nothing listed'}. "
            "The old nodes stay cordoned and keep serving. Next: look at those pods (kubectl describe pod), "
            "then re-run; or raise rollout.nodeDrainTimeoutSeconds."
        )


class WorkloadUnhealthy(CutoverError):
    """A workload that lost pods did not become fully available again in time."""

    def __init__(self, workload: str, waited_s: float, detail: str) -> None:
        self.workload = workload
        super().__init__(
            f"workload {workload} not fully available {waited_s:.0f}s after its pods were evicted ({detail}); "
            "the drain stopped before the next node, the remaining old nodes stay cordoned and keep serving. "
            "Next: check why its new pods are not Ready (kubectl describe), then re-run; "
            "or raise rollout.workloadHealthyTimeoutSeconds."
        )


class KubernetesApiError(CutoverError):
    """A Kubernetes API call failed for good (not retryable, or retries exhausted)."""

    def __init__(self, what: str, status: int, message: str) -> None:
        self.status = status
        super().__init__(
            f"Kubernetes API {what} failed (HTTP {status}): {message}. Next: check the API server and the "
            "credentials' RBAC, then re-run."
        )
