"""The whole stack: cluster, worker identity, both colors, and the seam where the cutover goes.

``build_stack`` declares resources from an already-validated StackConfig and an already-made
ColorPlan; it decides nothing itself. The cutover (NodesReady -> LoadBalancersHealthy ->
Drain) is inserted by ``cutover``: a function that receives a ``CutoverContext`` and returns
the resources the idle color's scale-down must wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi

from bluegreen.engine.naming import COLORS
from bluegreen.infra.cluster import ClusterFacts, created_cluster, existing_cluster, find_existing_cluster
from bluegreen.infra.colors import ColorPlan
from bluegreen.infra.config import StackConfig
from bluegreen.infra.example import ExampleWorkload
from bluegreen.infra.iam import WorkerIdentity, WorkerIdentityArgs
from bluegreen.infra.userdata import ClusterJoin, user_data
from bluegreen.infra.workers import Capacity, WorkerGroup, WorkerGroupArgs, active_capacity


@dataclass(frozen=True)
class CutoverContext:
    """What the cutover steps get: the decision, the config (rollout settings included), the new group."""

    config: StackConfig
    plan: ColorPlan
    cluster: ClusterFacts
    # The group that becomes (or stays) active, already at the workers' capacity.
    active_group: WorkerGroup


# Returns what the idle group's scale-down must depend on (e.g. [Drain(idle)]).
CutoverHook = Callable[[CutoverContext], Sequence[pulumi.Resource]]


def no_cutover_steps(context: CutoverContext) -> Sequence[pulumi.Resource]:
    """The bare seam (tests, and programs without the cutover): the old color only scales down after the
    new group is updated. Nothing waits for nodes or drains them; __main__.py passes the real steps."""
    return [context.active_group.group]


@dataclass(frozen=True)
class BlueGreenStack:
    config: StackConfig
    plan: ColorPlan
    cluster: ClusterFacts
    identity: WorkerIdentity
    groups: dict[str, WorkerGroup]


def _worker_args(
    config: StackConfig,
    color: str,
    ami: str,
    capacity: Capacity,
    active: bool,
    cluster: ClusterFacts,
    identity: WorkerIdentity,
    asg_depends_on: Sequence[pulumi.Resource] = (),
) -> WorkerGroupArgs:
    workers = config.workers
    taints = [t.kubelet_form() for t in workers.taints]
    name = config.cluster.name
    data = pulumi.Output.all(cluster.endpoint, cluster.certificate_authority, cluster.service_cidr).apply(
        lambda a: user_data(workers.ami_family, ClusterJoin(name, a[0], a[1], a[2]), color, workers.labels, taints)
    )
    return WorkerGroupArgs(
        cluster_name=name,
        color=color,
        ami_id=ami,
        capacity=capacity,
        instance_type=workers.instance_type,
        root_volume_size=workers.root_volume_size,
        user_data=data,
        instance_profile_arn=identity.instance_profile.arn,
        security_group_ids=cluster.security_group_id.apply(lambda sg: [sg]),
        subnet_ids=cluster.subnet_ids,
        key_name=workers.key_name,
        target_group_arns=config.load_balancers.target_group_arns,
        classic_elb_names=config.load_balancers.classic_elb_names,
        autoscaler_discovery=active,
        labels=workers.labels,
        asg_depends_on=asg_depends_on,
        depends_on=cluster.dependencies,
    )


def build_stack(
    config: StackConfig, plan: ColorPlan, partition: str = "aws", cutover: CutoverHook = no_cutover_steps
) -> BlueGreenStack:
    """Declare every resource of the stack for ``plan``; the cutover hook sits between the two groups."""
    # An existing cluster is checked first, so a refusal leaves nothing half-declared.
    found = None if config.cluster.create else find_existing_cluster(config.cluster)
    identity = WorkerIdentity(
        f"{config.cluster.name}-workers",
        WorkerIdentityArgs(cluster_name=config.cluster.name, partition=partition, ssm_core=config.workers.ssm_core),
    )
    if found is None:
        cluster = created_cluster(config.cluster, identity.role)
    else:
        cluster = existing_cluster(config.cluster, found, identity.role.arn)

    w = config.workers
    capacity = active_capacity(w.desired_capacity, w.min_size, w.max_size, plan.active_live_desired)
    # Logical names are per color, never per role, so a flip updates groups instead of replacing them.
    active = WorkerGroup(
        f"workers-{plan.active}",
        _worker_args(config, plan.active, plan.active_ami, capacity, True, cluster, identity),
    )
    if config.example_workload.enabled:
        ExampleWorkload("example", config.example_workload, cluster.kubeconfig, depends_on=[active.group])
    # The seam: everything the cutover declares sits between the active group and the idle scale-down.
    waits_for = list(cutover(CutoverContext(config=config, plan=plan, cluster=cluster, active_group=active)))
    idle = WorkerGroup(
        f"workers-{plan.idle}",
        _worker_args(config, plan.idle, plan.idle_ami, Capacity.parked(), False, cluster, identity, waits_for),
    )
    groups = {plan.active: active, plan.idle: idle}
    return BlueGreenStack(config=config, plan=plan, cluster=cluster, identity=identity, groups=groups)


def export_outputs(stack: BlueGreenStack) -> None:
    """Stack outputs: the active color and AMI, each color's group, the cluster, and what this run does."""
    plan = stack.plan
    pulumi.export("activeColor", plan.active)
    pulumi.export("activeAmi", plan.active_ami)
    pulumi.export("idleColor", plan.idle)
    pulumi.export("clusterName", stack.config.cluster.name)
    pulumi.export("kubeconfig", stack.cluster.kubeconfig)
    if stack.config.example_workload.enabled:
        pulumi.export("exampleNodePort", stack.config.example_workload.node_port)
    for color in COLORS:
        group = stack.groups[color]
        pulumi.export(
            color,
            {
                "ami": group.args.ami_id,
                "asgName": group.group.name,
                "desiredCapacity": group.args.capacity.desired,
                "minSize": group.args.capacity.min,
                "maxSize": group.args.capacity.max,
            },
        )
    pulumi.export(
        "cutover",
        {
            "to": plan.active,
            "drain": plan.idle if plan.drain_idle else "none",
            "summary": plan.reason,
        },
    )
