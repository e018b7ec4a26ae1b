"""The whole stack: cluster, worker identity, both colors of every pool, and the seam where the cutover goes.

``build_stack`` declares resources from an already-validated StackConfig and an already-made
ColorPlan per pool; it decides nothing itself. The cutover (NodesReady -> LoadBalancersHealthy ->
Drain) is inserted by ``cutover``: a function that receives a ``CutoverContext`` for one pool and
returns a ``CutoverSeam``: the resources that pool's idle color's scale-down must wait for.

Pools are declared in cutover order (the default pool first). Unless ``rollout.poolsInParallel``,
each pool's active group waits for the previous pool's seam (its drain), so only one pool at a
time runs surge capacity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from bluegreen.engine.naming import COLORS, DEFAULT_POOL
from bluegreen.infra.cluster import ClusterFacts, created_cluster, existing_cluster, find_existing_cluster
from bluegreen.infra.colors import ColorPlan
from bluegreen.infra.config import PoolConfig, StackConfig
from bluegreen.infra.example import ExampleWorkload
from bluegreen.infra.iam import WorkerIdentity, WorkerIdentityArgs
from bluegreen.infra.userdata import ClusterJoin, user_data
from bluegreen.infra.workers import Capacity, WorkerGroup, WorkerGroupArgs, active_capacity


@dataclass(frozen=True)
class CutoverContext:
    """What the cutover steps of one pool get: the decision, the config (rollout settings included), the new
    group."""

    config: StackConfig
    plan: ColorPlan
    cluster: ClusterFacts
    # The group that becomes (or stays) active, already at the pool's capacity.
    active_group: WorkerGroup
    # The pool being cut over (the default pool: the stack's workers).
    pool: PoolConfig


@dataclass(frozen=True)
class CutoverSeam:
    """What a cutover hook declared for one pool."""

    # What the idle group's scale-down (and, one pool at a time, the next pool's new group) waits for.
    waits_for: tuple[pulumi.Resource, ...]
    # What each step recorded when it last ran (a stack output); None without cutover steps.
    story: pulumi.Output[dict] | None = None


# A hook may also return the resources alone (a sequence), as before seams had a story.
CutoverHook = Callable[[CutoverContext], CutoverSeam | Sequence[pulumi.Resource]]


def as_seam(declared: CutoverSeam | Sequence[pulumi.Resource]) -> CutoverSeam:
    """A hook's answer as a CutoverSeam."""
    return declared if isinstance(declared, CutoverSeam) else CutoverSeam(waits_for=tuple(declared))


def no_cutover_steps(context: CutoverContext) -> CutoverSeam:
    """The bare seam (tests, and programs without the cutover): the old color only scales down after the
    new group is updated. Nothing waits for nodes or drains them; __main__.py passes the real steps."""
    return CutoverSeam(waits_for=(context.active_group.group,))


@dataclass(frozen=True)
class PoolStack:
    """One pool's declared pair: its config, color decision, both groups, and its cutover seam."""

    pool: PoolConfig
    plan: ColorPlan
    groups: dict[str, WorkerGroup]
    seam: CutoverSeam


@dataclass(frozen=True)
class BlueGreenStack:
    config: StackConfig
    # The default pool's decision and groups (as before pools existed).
    plan: ColorPlan
    cluster: ClusterFacts
    identity: WorkerIdentity
    groups: dict[str, WorkerGroup]
    # Every pool, in cutover order, the default pool first.
    pools: dict[str, PoolStack] = field(default_factory=dict)


def _worker_args(
    config: StackConfig,
    pool: PoolConfig,
    color: str,
    ami: str,
    capacity: Capacity,
    active: bool,
    cluster: ClusterFacts,
    identity: WorkerIdentity,
    asg_depends_on: Sequence[pulumi.Resource] = (),
) -> WorkerGroupArgs:
    workers = pool.workers
    taints = [t.kubelet_form() for t in workers.taints]
    name = config.cluster.name
    extra_groups = list(workers.security_group_ids)
    data = pulumi.Output.all(cluster.endpoint, cluster.certificate_authority, cluster.service_cidr).apply(
        lambda a: user_data(
            workers.ami_family, ClusterJoin(name, a[0], a[1], a[2]), color, workers.labels, taints, pool.name
        )
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
        # The cluster security group first, then the pool's own (e.g. letting load balancers reach node ports).
        security_group_ids=cluster.security_group_id.apply(lambda sg: [sg, *extra_groups]),
        subnet_ids=cluster.subnet_ids,
        key_name=workers.key_name,
        target_group_arns=pool.load_balancers.target_group_arns,
        classic_elb_names=pool.load_balancers.classic_elb_names,
        autoscaler_discovery=active,
        labels=workers.labels,
        asg_depends_on=asg_depends_on,
        depends_on=cluster.dependencies,
        pool=pool.name,
        instance_types=workers.instance_types,
        spot=workers.spot,
    )


def _group_name(pool: PoolConfig, color: str) -> str:
    """Logical name of a pool's group of ``color``: per color, never per role, so a flip updates groups instead
    of replacing them; ``workers-<color>`` for the default pool, as before pools existed."""
    return f"{pool.name}-{color}"


def build_stack(
    config: StackConfig,
    plans: ColorPlan | Mapping[str, ColorPlan],
    partition: str = "aws",
    cutover: CutoverHook = no_cutover_steps,
) -> BlueGreenStack:
    """Declare every resource of the stack for ``plans`` (one ColorPlan per pool name; a single ColorPlan for a
    stack with the default pool only); the cutover hook sits between each pool's two groups."""
    by_pool = {DEFAULT_POOL: plans} if isinstance(plans, ColorPlan) else dict(plans)
    missing = [p.name for p in config.all_pools() if p.name not in by_pool]
    if missing:
        raise ValueError(f"no color plan for pool(s) {', '.join(missing)}")
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

    pools: dict[str, PoolStack] = {}
    previous: tuple[pulumi.Resource, ...] = ()
    for pool in config.all_pools():
        plan = by_pool[pool.name]
        w = pool.workers
        capacity = active_capacity(w.desired_capacity, w.min_size, w.max_size, plan.active_live_desired)
        # One pool at a time: this pool's new capacity only comes up once the previous pool has drained.
        after_previous = () if config.pools_in_parallel else previous
        active = WorkerGroup(
            _group_name(pool, plan.active),
            _worker_args(config, pool, plan.active, plan.active_ami, capacity, True, cluster, identity, after_previous),
        )
        if pool.is_default and config.example_workload.enabled:
            ExampleWorkload("example", config.example_workload, cluster.kubeconfig, depends_on=[active.group])
        # The seam: everything the cutover declares sits between the active group and the idle scale-down.
        seam = as_seam(
            cutover(CutoverContext(config=config, plan=plan, cluster=cluster, active_group=active, pool=pool))
        )
        idle = WorkerGroup(
            _group_name(pool, plan.idle),
            _worker_args(
                config, pool, plan.idle, plan.idle_ami, Capacity.parked(), False, cluster, identity, seam.waits_for
            ),
        )
        pools[pool.name] = PoolStack(pool=pool, plan=plan, groups={plan.active: active, plan.idle: idle}, seam=seam)
        previous = seam.waits_for
    default = pools[DEFAULT_POOL]
    return BlueGreenStack(
        config=config, plan=default.plan, cluster=cluster, identity=identity, groups=default.groups, pools=pools
    )


def _colors_output(pool: PoolStack) -> dict[str, dict]:
    return {
        color: {
            "ami": group.args.ami_id,
            "asgName": group.group.name,
            "desiredCapacity": group.args.capacity.desired,
            "minSize": group.args.capacity.min,
            "maxSize": group.args.capacity.max,
        }
        for color in COLORS
        for group in [pool.groups[color]]
    }


def _cutover_output(plan: ColorPlan) -> dict[str, str]:
    return {"to": plan.active, "drain": plan.idle if plan.drain_idle else "none", "summary": plan.reason}


def export_outputs(stack: BlueGreenStack) -> None:
    """Stack outputs: the default pool's active color and AMI, each color's group, the cluster, what this run
    does (as before pools existed), and ``pools``: the same for every pool, in cutover order."""
    plan = stack.plan
    default = stack.pools[DEFAULT_POOL]
    pulumi.export("activeColor", plan.active)
    pulumi.export("activeAmi", plan.active_ami)
    pulumi.export("idleColor", plan.idle)
    pulumi.export("clusterName", stack.config.cluster.name)
    pulumi.export("kubeconfig", stack.cluster.kubeconfig)
    if stack.config.example_workload.enabled:
        pulumi.export("exampleNodePort", stack.config.example_workload.node_port)
    for color, value in _colors_output(default).items():
        pulumi.export(color, value)
    pulumi.export("cutover", _cutover_output(plan))
    if default.seam.story is not None:
        pulumi.export("cutoverSteps", default.seam.story)
    pools: dict[str, dict] = {}
    for order, (name, pool) in enumerate(stack.pools.items(), start=1):
        entry: dict = {
            # Outputs are maps (shown sorted by name): the order pools cut over in, 1 first.
            "cutoverOrder": order,
            "activeColor": pool.plan.active,
            "activeAmi": pool.plan.active_ami,
            "idleColor": pool.plan.idle,
            **_colors_output(pool),
            "cutover": _cutover_output(pool.plan),
        }
        if pool.seam.story is not None:
            entry["cutoverSteps"] = pool.seam.story
        pools[name] = entry
    pulumi.export("pools", pools)
