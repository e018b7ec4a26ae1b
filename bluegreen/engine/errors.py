"""Named failures of a cutover.

Every message names the thing that blocks (instance, pod, PodDisruptionBudget,
workload, group) and the operator's next step. A drain that stops appends the
state it left behind (``with_state``): which old nodes are still cordoned, which
old nodes it uncordoned so that a moved pod could land again, and which workloads
are below their desired ready count and why. The drain keeps the stop invariant
(see ``stop.py``) before it raises: no pod it moved stays unschedulable because
of a node it cordoned.
"""

from __future__ import annotations

from typing import Any


class CutoverError(Exception):
    """Base of every failure the engine reports on purpose."""

    #: What a stopped drain left behind (a ``stop.StopState``), when the drain described it.
    state: Any = None

    def with_state(self, state: Any) -> CutoverError:
        """This error, its message followed by the state the stop left behind (``state.describe()``)."""
        self.state = state
        self.args = (f"{self.args[0] if self.args else ''}\n{state.describe()}",)
        return self


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
            f"nodes of {group_name} not ready after {waited_s:.0f}s; this step drained nothing:\n"
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
            f"this step drained nothing:\n  {lines}\n"
            "Next: check the target group health checks, security groups and the node port; "
            "or raise rollout.loadBalancerHealthyTimeoutSeconds."
        )


class PreflightBlocked(CutoverError):
    """The drain cannot start safely; every blocker is listed."""

    def __init__(self, blockers: list[str], *, started: bool = False) -> None:
        self.blockers = list(blockers)
        lines = "\n  ".join(blockers)
        what = ("drain stopped before the next node" if started
                else "drain not started; nothing was evicted by this run")
        super().__init__(f"{what} ({len(blockers)} blocker(s)):\n  {lines}")


class EvictionBlocked(CutoverError):
    """A PodDisruptionBudget kept refusing a pod's eviction past the eviction timeout."""

    def __init__(self, pod: str, pdb: str | None, waited_s: float, detail: str = "", *,
                 advice: str | None = None) -> None:
        self.pod = pod
        self.pdb = pdb
        budget = f"PodDisruptionBudget {pdb}" if pdb else "a disruption budget"
        more = f" ({detail})" if detail else ""
        advice = advice or (
            "make the workload able to lose a pod (more replicas, a looser budget), then re-run; "
            "or set rollout.onPdbTimeout=force to delete past the budget"
        )
        super().__init__(
            f"eviction of pod {pod} refused by {budget} for {waited_s:.0f}s (rollout.evictionTimeoutSeconds){more}; "
            f"the drain stopped. Next: {advice}."
        )


class EvictionFailed(CutoverError):
    """The API refused an eviction for a reason that retrying cannot fix."""

    def __init__(self, pod: str, status: int, message: str) -> None:
        self.pod = pod
        self.status = status
        super().__init__(
            f"eviction of pod {pod} failed with HTTP {status}: {message}. The drain stopped. "
            "Next: fix the cause above and re-run."
        )


class DrainTimeout(CutoverError):
    """A node took longer than node_drain_timeout_s."""

    def __init__(self, node: str, waited_s: float, remaining: list[str]) -> None:
        self.node = node
        self.remaining = list(remaining)
        names = ", ".join(remaining[:10]) + (" ..." if len(remaining) > 10 else "")
        super().__init__(
            f"node {node} not drained after {waited_s:.0f}s (rollout.nodeDrainTimeoutSeconds); still waiting on: "
            f"{names or 'nothing listed'}. The drain stopped. Next: look at those pods (kubectl describe pod), "
            "then re-run; or raise rollout.nodeDrainTimeoutSeconds if they only need longer."
        )


class PodsStuckTerminating(DrainTimeout):
    """A node timed out on evicted pods that stay Terminating long after their grace period."""

    def __init__(self, node: str, waited_s: float, remaining: list[str], stuck: list[str]) -> None:
        self.stuck = list(stuck)
        CutoverError.__init__(
            self,
            f"node {node} not drained after {waited_s:.0f}s (rollout.nodeDrainTimeoutSeconds): pod(s) stuck "
            f"Terminating: {'; '.join(stuck[:5])}{' ...' if len(stuck) > 5 else ''}. The drain stopped. Next: find "
            "what should remove each finalizer (its controller or operator) and fix it, or remove the finalizer "
            "yourself if that controller is gone for good (kubectl patch pod <name> --type=merge -p "
            "'{\"metadata\":{\"finalizers\":null}}'), then re-run.",
        )
        self.node = node
        self.remaining = list(remaining)


class JobNotComplete(CutoverError):
    """Job pods on an old node still ran after rollout.jobCompletionTimeoutSeconds (unmanagedPods=block)."""

    def __init__(self, node: str, waited_s: float, pods: list[str]) -> None:
        self.node = node
        self.pods = list(pods)
        super().__init__(
            f"Job pod(s) {', '.join(pods[:5])}{' ...' if len(pods) > 5 else ''} on node {node} still running after "
            f"{waited_s:.0f}s (rollout.jobCompletionTimeoutSeconds); evicting them would lose their work. The drain "
            "stopped. Next: let the Job finish and re-run; or raise rollout.jobCompletionTimeoutSeconds; or set "
            "rollout.unmanagedPods=evict to evict them (the Job recreates the pods it still needs)."
        )


class DoNotDisruptTimeout(CutoverError):
    """rollout.doNotDisrupt=wait: pods on a node still opted out of disruption past the timeout (opt_outs.py)."""

    def __init__(self, node: str, waited_s: float, pods: list[str]) -> None:
        self.node = node
        self.pods = list(pods)
        names = "; ".join(pods[:5]) + (" ..." if len(pods) > 5 else "")
        super().__init__(
            f"pod(s) on node {node} still opt out of disruption after {waited_s:.0f}s "
            f"(rollout.doNotDisruptTimeoutSeconds): {names}; nothing more on that node was evicted and the drain "
            "stopped. Next: let those pods finish or remove the annotation, then re-run; or raise "
            "rollout.doNotDisruptTimeoutSeconds; or set rollout.doNotDisrupt=ignore to evict them anyway."
        )


class SurgeTimeout(CutoverError):
    """A surge move (rolling restart, surge.py) did not complete within rollout.workloadHealthyTimeoutSeconds."""

    def __init__(self, workload: str, waited_s: float, detail: str) -> None:
        self.workload = workload
        self.waited_s = waited_s
        super().__init__(
            f"the surge move of {workload} (a rolling restart) did not complete after {waited_s:.0f}s "
            f"(rollout.workloadHealthyTimeoutSeconds): {detail}; its old pod still serves and the drain stopped "
            "before evicting anything more. Next: check its new pod (kubectl rollout status / kubectl describe pod: "
            "image pull, probes), then re-run; or raise rollout.workloadHealthyTimeoutSeconds; or set "
            "rollout.singleReplica=evict to evict it instead."
        )


class WorkloadUnhealthy(CutoverError):
    """A workload that lost pods did not become fully available again in time."""

    def __init__(self, workload: str, waited_s: float, detail: str, *, before: str = "the next node") -> None:
        self.workload = workload
        self.waited_s = waited_s
        self.detail = detail
        super().__init__(
            f"workload {workload} not fully available {waited_s:.0f}s after its pods were evicted ({detail}); "
            f"the wait is bounded by rollout.workloadHealthyTimeoutSeconds and the drain stopped before {before}. "
            "Next: check why its new pods are not Ready (kubectl describe pod: image pulls, probes), then "
            "re-run; or raise rollout.workloadHealthyTimeoutSeconds if they only need longer."
        )


class ReplacementUnschedulable(CutoverError):
    """A moved pod's replacement is Pending and the scheduler cannot place it: the drain stops at once."""

    def __init__(self, workload: str, pod: str, scheduler_message: str, ready: int, desired: int) -> None:
        self.workload = workload
        self.pod = pod
        self.scheduler_message = scheduler_message
        super().__init__(
            f"pod {pod} of {workload} is Pending ({ready}/{desired} Ready): the scheduler cannot place it: "
            f"\"{scheduler_message}\". The drain stopped before any further eviction. Next: make room for it on the "
            "new color (more or larger new nodes: workers.desiredCapacity / instance type; or smaller requests), "
            "then re-run."
        )


class DrainUnverified(CutoverError):
    """The drain ran to its end but an old node still holds pods it should have moved."""

    def __init__(self, leftovers: list[str]) -> None:
        self.leftovers = list(leftovers)
        names = ", ".join(leftovers[:10]) + (" ..." if len(leftovers) > 10 else "")
        super().__init__(
            f"old nodes still hold pods after the drain: {names}; the old group is not scaled down. "
            "Next: look at how they got there (kubectl describe pod: tolerations for unschedulable nodes?), "
            "then re-run."
        )


class KubernetesApiError(CutoverError):
    """A Kubernetes API call failed for good (not retryable, or retries exhausted)."""

    def __init__(self, what: str, status: int, message: str) -> None:
        self.status = status
        super().__init__(
            f"Kubernetes API {what} failed (HTTP {status}): {message}. Next: check the API server and the "
            "credentials' RBAC, then re-run."
        )


class AlarmNotFound(CutoverError):
    """A CloudWatch alarm named in rollout.alarms does not exist: the guard it stands for would be silently off."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = tuple(names)
        super().__init__(
            f"CloudWatch alarm(s) {', '.join(names)} named in rollout.alarms do not exist (in this account and "
            "region); the cutover is refused, so that a typo does not silently disable the guard. Next: fix the "
            "name(s) (aws cloudwatch describe-alarms --alarm-names ...) or create the alarm(s), then re-run."
        )


class SignalFailed(CutoverError):
    """A health signal (CloudWatch alarm, rollout.healthCommand) failed; rollout.onSignalFailure=stop, or before
    the first eviction (the cutover is refused)."""

    def __init__(self, failures: tuple, when: str, *, started: bool = True) -> None:
        self.failures = tuple(failures)
        self.when = when
        self.started = started
        lines = "\n  ".join(f.describe() for f in failures)
        if started:
            what = f"health signal(s) failed {when}; the drain stopped (rollout.onSignalFailure=stop)"
            advice = ("find out why (the new AMI?); re-run to continue, or go back: set activeAmi to the old AMI "
                      "and run pulumi up")
        else:
            what = f"health signal(s) failing {when}; the cutover is refused and nothing was changed"
            advice = "clear the alarm or fix what the health command reports, then re-run"
        super().__init__(f"{what}:\n  {lines}\nNext: {advice}.")


class RolledBack(CutoverError):
    """A health signal failed and the workloads were moved back onto the old color, which serves again."""

    def __init__(self, failures: tuple, when: str, old_group: str, new_group: str, old_ami: str) -> None:
        self.failures = tuple(failures)
        self.when = when
        self.old_group = old_group
        self.new_group = new_group
        lines = "\n  ".join(f.describe() for f in failures)
        ami = old_ami or "<the AMI of the old group>"
        super().__init__(
            f"rolled back onto {old_group}, which serves again: health signal(s) failed {when}:\n  {lines}\n"
            f"The workloads were moved back onto {old_group} (uncordoned) with their budgets honoured; "
            f"{new_group} is left cordoned at its size for inspection. The cutover did not complete.\n"
            f"Next: to make it permanent, `pulumi config set activeAmi {ami}` and `pulumi up` (this parks "
            f"{new_group}); or fix the cause and re-run `pulumi up` to try the new AMI again."
        )


class RollbackFailed(CutoverError):
    """A health signal failed and the rollback onto the old color could not complete; it stopped safely."""

    def __init__(self, failures: tuple, when: str, old_group: str, cause: BaseException) -> None:
        self.failures = tuple(failures)
        self.when = when
        self.cause = cause
        lines = "\n  ".join(f.describe() for f in failures)
        super().__init__(
            f"rollback onto {old_group} could not complete after health signal(s) failed {when}:\n  {lines}\n"
            f"The rollback stopped: {cause}\n"
            "Next: fix what blocks the rollback, then set activeAmi to the old AMI and run pulumi up (it finishes "
            "moving the workloads back)."
        )
