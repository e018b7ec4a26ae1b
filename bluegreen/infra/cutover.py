"""The cutover in the resource graph: NodesReady(new) -> LoadBalancersHealthy(new) -> Drain(old).

``Cutover`` groups the three dynamic resources. The stack places it between the
new color's worker group (``after``) and the old color's scale-down (which
depends on ``Cutover.done``)::

    WorkerGroup new (ASG at capacity)
      -> NodesReady(new) -> LoadBalancersHealthy(new) -> Drain(old)
          -> WorkerGroup old (ASG scaled to 0)

The colors are part of the resource names (``cutover-nodes-ready-green``,
``cutover-drain-blue``), so ``pulumi preview`` reads as the plan: which color
becomes active and which will be drained. A pool other than the default one
has its own component, ``cutover-<pool>`` (``cutover-gpu-drain-blue``). A flip of colors creates the
newly named steps and forgets the previous ones (their delete touches nothing).
Under one name a step runs again, as an update, only when what it checks changed
or while the old color is still serving (see ``cutover_inputs.decide_run``): an
unchanged config and a finished cutover diff to nothing.

The drain finds the old nodes by color and pool label and providerID, not through
an Output of the old group, so the graph has no cycle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi.dynamic

from bluegreen.engine.clock import Clock
from bluegreen.engine.naming import DEFAULT_POOL
from bluegreen.infra.colors import ColorPlan
from bluegreen.infra.config import PoolConfig, StackConfig
from bluegreen.infra.cutover_inputs import CutoverInputs
from bluegreen.infra.cutover_steps import (
    OUTPUT_KEYS,
    DrainProvider,
    LoadBalancersHealthyProvider,
    NodesReadyProvider,
)
from bluegreen.infra.stack import CutoverSeam

if TYPE_CHECKING:
    from bluegreen.infra.stack import CutoverContext

COMPONENT_TYPE = "eks-bluegreen:infra:Cutover"


class _Step(pulumi.dynamic.Resource):
    """A cutover step: its inputs are a CutoverInputs property bag, its outputs record what it did."""

    status: pulumi.Output[str]
    summary: pulumi.Output[str]
    report: pulumi.Output[dict]
    duration_s: pulumi.Output[float]
    finished_at: pulumi.Output[str]

    #: The dynamic provider class this step runs (an adapter over one engine entry point).
    provider_class: type[pulumi.dynamic.ResourceProvider]

    def __init__(
        self,
        name: str,
        inputs: CutoverInputs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        # Output-only properties are declared as None so the SDK exposes them as Outputs of this object.
        props: dict[str, Any] = {**inputs.to_props(), **dict.fromkeys(OUTPUT_KEYS)}
        super().__init__(self.provider_class(clock), name, props, opts)


class NodesReady(_Step, module="bluegreen", name="NodesReady"):
    """Every instance of the new color joined and Ready (desired count, expected AMI)."""

    provider_class = NodesReadyProvider


class LoadBalancersHealthy(_Step, module="bluegreen", name="LoadBalancersHealthy"):
    """Every instance of the new color healthy in every target group and classic ELB."""

    provider_class = LoadBalancersHealthyProvider


class Drain(_Step, module="bluegreen", name="Drain"):
    """The old color's nodes cordoned and drained onto the new color (gates re-checked first)."""

    provider_class = DrainProvider


class Cutover(pulumi.ComponentResource):
    """The three cutover steps of one stack, in order; ``done`` is what the old color's scale-down waits for."""

    nodes_ready: NodesReady
    load_balancers_healthy: LoadBalancersHealthy
    drain: Drain
    #: The color serving after this update, and the color drained by it (None when nothing is to be drained).
    active_color: str
    drained_color: str | None
    #: Plain summary of the plan for previews: active, drain, why.
    plan: dict[str, Any]
    #: What each step recorded when it last ran (status, summary, durations, the engine's report).
    story: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        inputs: CutoverInputs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        after: Sequence[pulumi.Resource] = (),
        reason: str = "",
        clock: Clock | None = None,
    ) -> None:
        """``after``: the new color's worker group (or its ASG); the gates wait for it to be deployed.

        ``reason``: the color selection's explanation (ColorPlan.reason), shown in the ``plan`` output.
        ``clock``: test-only (the sandbox's simulated time); production uses the system clock.
        """
        super().__init__(COMPONENT_TYPE, name, None, opts)
        new, old = inputs.new_color, inputs.old_color
        self.nodes_ready = NodesReady(
            f"{name}-nodes-ready-{new}",
            inputs,
            pulumi.ResourceOptions(parent=self, depends_on=list(after)),
            clock=clock,
        )
        self.load_balancers_healthy = LoadBalancersHealthy(
            f"{name}-load-balancers-healthy-{new}",
            inputs,
            pulumi.ResourceOptions(parent=self, depends_on=[self.nodes_ready]),
            clock=clock,
        )
        self.drain = Drain(
            f"{name}-drain-{old}",
            inputs,
            pulumi.ResourceOptions(parent=self, depends_on=[self.load_balancers_healthy]),
            clock=clock,
        )
        self.active_color = new
        self.drained_color = old if inputs.old_color_serving else None
        self.plan = cutover_plan(inputs, reason)
        self.story = pulumi.Output.all(
            nodes_ready=_story_of(self.nodes_ready),
            load_balancers_healthy=_story_of(self.load_balancers_healthy),
            drain=_story_of(self.drain),
        )
        self.register_outputs({"plan": self.plan, "story": self.story})

    @property
    def done(self) -> pulumi.Resource:
        """The last step: the old color's scale-down must depend on it."""
        return self.drain


def cutover_plan(inputs: CutoverInputs, reason: str = "") -> dict[str, Any]:
    """What this update will do, as plain data known at preview time (a stack output)."""
    drained = inputs.old_color if inputs.old_color_serving else None
    if drained:
        action = f"cut over from {drained} to {inputs.new_color} on {inputs.new_ami}, then scale {drained} to 0"
    else:
        action = f"{inputs.new_color} serves on {inputs.new_ami}; nothing to drain"
    pool = {} if inputs.pool == DEFAULT_POOL else {"pool": inputs.pool}
    return {
        **pool,
        "active": inputs.new_color,
        "activeAmi": inputs.new_ami,
        "activeGroup": inputs.new_group,
        "drain": drained,
        "drainGroup": inputs.old_group if drained else None,
        "action": action,
        "reason": reason,
    }


def cutover_inputs(
    config: StackConfig,
    plan: ColorPlan,
    region: str,
    *,
    pool: PoolConfig | None = None,
    desired: int | None = None,
    aws_endpoint_url: str | None = None,
    kubeconfig_path: str | None = None,
    kube_context: str | None = None,
) -> CutoverInputs:
    """The steps' inputs for this update of ``pool`` (default: the default pool), from the validated config and the
    pool's color selection.

    ``desired``: the node count the active group is declared with (a serving group keeps its live count);
    default the pool's configured ``desiredCapacity``.
    ``aws_endpoint_url``/``kubeconfig_path``/``kube_context`` are the test-only route to the sandbox;
    a real stack leaves them None.
    """
    pool = pool or config.default_pool
    return CutoverInputs(
        cluster_name=config.cluster.name,
        region=region,
        new_color=plan.active,
        new_ami=plan.active_ami,
        desired=pool.workers.desired_capacity if desired is None else desired,
        old_color_serving=plan.drain_idle,
        target_group_arns=tuple(pool.load_balancers.target_group_arns),
        classic_elb_names=tuple(pool.load_balancers.classic_elb_names),
        settings=config.rollout,
        aws_endpoint_url=aws_endpoint_url,
        kubeconfig_path=kubeconfig_path,
        kube_context=kube_context,
        pool=pool.name,
    )


def component_name(pool: str) -> str:
    """``cutover`` for the default pool (its steps keep the names they had before pools), ``cutover-<pool>`` else."""
    return "cutover" if pool == DEFAULT_POOL else f"cutover-{pool}"


def insert_cutover(context: CutoverContext) -> CutoverSeam:
    """The stack's cutover hook (``bluegreen.infra.stack.CutoverHook``): declare one pool's steps after its active
    group and return what its idle group's scale-down must wait for, with what each step recorded when it last
    ran (the ``cutoverSteps`` output)."""
    # The gates wait for the count the active group is actually declared with, not the configured one: a
    # serving group keeps its live desired count, which the configured one may not match.
    desired = context.active_group.args.capacity.desired
    inputs = cutover_inputs(context.config, context.plan, stack_region(), pool=context.pool, desired=desired)
    cutover = Cutover(
        component_name(context.pool.name), inputs, after=[context.active_group.group], reason=context.plan.reason
    )
    return CutoverSeam(waits_for=(cutover.done,), story=cutover.story)


def stack_region() -> str:
    """The region the AWS provider deploys to: ``aws:region``, else the environment the provider also reads."""
    region = pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise pulumi.RunError(
            "aws:region: not set; the cutover steps need the cluster's region "
            "(`pulumi config set aws:region eu-west-1`, or AWS_REGION in the environment)"
        )
    return region


def _story_of(step: _Step) -> pulumi.Output[dict]:
    return pulumi.Output.all(
        status=step.status,
        summary=step.summary,
        duration_s=step.duration_s,
        finished_at=step.finished_at,
        report=step.report,
    )


__all__ = [
    "COMPONENT_TYPE",
    "Cutover",
    "Drain",
    "LoadBalancersHealthy",
    "component_name",
    "NodesReady",
    "cutover_inputs",
    "cutover_plan",
    "insert_cutover",
    "stack_region",
]
