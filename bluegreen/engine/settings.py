"""Rollout settings: every knob of a cutover, each with what it does.

The Pulumi program builds this from the stack's ``rollout`` config, the sandbox
from a scenario's ``rollout`` overrides; the engine only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

EmptyDirPolicy = Literal["evict", "block"]
UnmanagedPodPolicy = Literal["block", "evict"]
PdbTimeoutPolicy = Literal["stop", "force"]
SignalFailurePolicy = Literal["rollback", "stop"]
SingleReplicaPolicy = Literal["surge", "evict", "block"]
DoNotDisruptPolicy = Literal["block", "wait", "ignore"]
DrainStrategy = Literal["serial", "paced"]
BudgetAllowsNonePolicy = Literal["block", "surge"]


@dataclass(frozen=True)
class RolloutSettings:
    # How long the new group may take until every instance is a Ready node.
    node_ready_timeout_s: float = 900.0
    # How long the new instances may take to be healthy behind every load balancer.
    lb_healthy_timeout_s: float = 600.0
    # How long one pod's eviction may be refused (429) before the drain stops.
    eviction_timeout_s: float = 300.0
    # How long one node may take to drain, evictions and health gate included.
    node_drain_timeout_s: float = 1800.0
    # How long the moved workloads may take to be fully available again after a node.
    workload_healthy_timeout_s: float = 600.0
    # How long a node's running Job pods are waited for to complete before the unmanaged-pod policy applies
    # (unmanaged_pods: "block" stops the drain naming them, "evict" evicts them; the Job recreates what it needs).
    job_completion_timeout_s: float = 600.0
    # How many old nodes are drained at once (strategy "serial"; "paced" drains its canary alone, then all at once).
    max_parallel_nodes: int = 1
    # "serial": drain max_parallel_nodes old nodes at a time, health gate after each; "paced": drain the oldest node
    # alone as the canary, then evict from every remaining old node at once as each budget allows, each workload
    # gated on its moved pods being Ready before its next wave (engine/paced.py).
    strategy: DrainStrategy = "serial"
    # Pause after the first drained node, to watch the canary before going on.
    canary_pause_s: float = 0.0
    # Pods with emptyDir volumes: "evict" (their scratch data is lost) or "block".
    empty_dir: EmptyDirPolicy = "evict"
    # Pods without a controller: "block" (preflight stops) or "evict" (the pod is gone for good).
    unmanaged_pods: UnmanagedPodPolicy = "block"
    # When a PodDisruptionBudget blocks past eviction_timeout_s: "stop" and explain, or "force" (delete).
    on_pdb_timeout: PdbTimeoutPolicy = "stop"
    # How often waits look again.
    poll_interval_s: float = 5.0
    # CloudWatch alarm names: any in state ALARM is a failed health signal (a missing one refuses the cutover).
    alarms: tuple[str, ...] = ()
    # A shell command (/bin/sh -c) whose non-zero exit is a failed health signal; None: no command.
    health_command: str | None = None
    # How long one run of health_command may take before it counts as failed.
    health_command_timeout_s: float = 60.0
    # After the last node is drained: keep the old group (cordoned, at its size) this long, watching the signals.
    bake_s: float = 0.0
    # When a health signal fails: "rollback" (move the workloads back, then stop) or "stop"; None: rollback when
    # any signal is configured.
    on_signal_failure: SignalFailurePolicy | None = None
    # An http(s) URL that receives one JSON POST (Slack-compatible) at the drain's start, failure, rollback, success.
    notify_url: str | None = None
    # A workload that eviction would take to zero Ready pods (one replica, or every Ready one on one node being
    # drained with no budget keeping any): "surge" (a Deployment moves by a rolling restart onto the new nodes, its
    # new pod Ready before the old one stops; what cannot surge is evicted), "evict", or "block" (preflight stops).
    single_replica: SingleReplicaPolicy = "surge"
    # A Deployment whose PodDisruptionBudget allows no eviction even with every pod healthy (minAvailable 1 over
    # one replica, maxUnavailable 0): "block" (the budget is a preflight blocker, as kubectl and every drain tool
    # honour it) or "surge" (opt-in: it moves by a rolling restart that keeps the budget's floor; the old pods are
    # still stopped, which a budget that allows nothing may have been written to prevent).
    budget_allows_none: BudgetAllowsNonePolicy = "block"
    # Pods annotated karpenter.sh/do-not-disrupt=true or cluster-autoscaler.kubernetes.io/safe-to-evict=false:
    # "block" (preflight stops naming them), "wait" (up to do_not_disrupt_timeout_s for them to finish or lose the
    # annotation, then stop), or "ignore" (evicted like any other pod).
    do_not_disrupt: DoNotDisruptPolicy = "block"
    # How long doNotDisrupt=wait waits on a node for its opted-out pods before the drain stops.
    do_not_disrupt_timeout_s: float = 600.0

    @property
    def has_signals(self) -> bool:
        """A health signal (alarm or command) is configured."""
        return bool(self.alarms) or self.health_command is not None

    @property
    def signal_failure_policy(self) -> SignalFailurePolicy:
        """What a failed signal does: the configured policy, else rollback."""
        return self.on_signal_failure or "rollback"

    @property
    def rolls_back(self) -> bool:
        """A failed signal, or the workload health gate timing out, rolls back: onSignalFailure=rollback, or unset
        with a signal configured (without either, the health gate stops the drain as it always did)."""
        return self.on_signal_failure == "rollback" or (self.on_signal_failure is None and self.has_signals)

    def without_signals(self) -> RolloutSettings:
        """A copy that watches no signal and bakes not at all (the rollback's own drain)."""
        return replace(self, alarms=(), health_command=None, bake_s=0.0)

    def with_overrides(self, **overrides: object) -> RolloutSettings:
        """A copy with ``overrides`` applied; unknown names raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown rollout setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(self, **overrides)  # type: ignore[arg-type]


#: The stack's ``eks-bluegreen:rollout`` config keys -> (RolloutSettings field, kind of value). Kinds: "seconds"
#: (a finite number > 0), "seconds0" (>= 0), "count" (an integer >= 1), "alarmNames", "command", "url", or a tuple
#: of choices. One table for both readers: the stack's config (infra/config.py) and a scenario's ``rollout:`` block
#: (sandbox/scenario.py), so a stack's block pastes into a scenario. Each reader validates by the kind.
ROLLOUT_CONFIG_KEYS: dict[str, tuple[str, Any]] = {
    "nodeReadyTimeoutSeconds": ("node_ready_timeout_s", "seconds"),
    "loadBalancerHealthyTimeoutSeconds": ("lb_healthy_timeout_s", "seconds"),
    "evictionTimeoutSeconds": ("eviction_timeout_s", "seconds"),
    "nodeDrainTimeoutSeconds": ("node_drain_timeout_s", "seconds"),
    "workloadHealthyTimeoutSeconds": ("workload_healthy_timeout_s", "seconds"),
    "jobCompletionTimeoutSeconds": ("job_completion_timeout_s", "seconds"),
    "maxParallelNodes": ("max_parallel_nodes", "count"),
    "strategy": ("strategy", ("serial", "paced")),
    "canaryPauseSeconds": ("canary_pause_s", "seconds0"),
    "emptyDir": ("empty_dir", ("evict", "block")),
    "unmanagedPods": ("unmanaged_pods", ("block", "evict")),
    "onPdbTimeout": ("on_pdb_timeout", ("stop", "force")),
    "pollIntervalSeconds": ("poll_interval_s", "seconds"),
    "alarms": ("alarms", "alarmNames"),
    "healthCommand": ("health_command", "command"),
    "healthCommandTimeoutSeconds": ("health_command_timeout_s", "seconds"),
    "bakeSeconds": ("bake_s", "seconds0"),
    "onSignalFailure": ("on_signal_failure", ("rollback", "stop")),
    "notifyUrl": ("notify_url", "url"),
    "singleReplica": ("single_replica", ("surge", "evict", "block")),
    "budgetAllowsNone": ("budget_allows_none", ("block", "surge")),
    "doNotDisrupt": ("do_not_disrupt", ("block", "wait", "ignore")),
    "doNotDisruptTimeoutSeconds": ("do_not_disrupt_timeout_s", "seconds"),
}
