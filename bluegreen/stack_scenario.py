"""A rehearsal scenario made from a stack file: the stack's pools, node shapes, labels, taints, capacities and
rollout settings, with a scenario's workloads, timing, faults and runs.

`python -m bluegreen rehearse --stack Pulumi.<stack>.yaml [--scenario ...]` plays it in the sandbox. This module
sits beside the command line (it reads the stack through ``bluegreen.infra.stack_file``, which imports no
pulumi) and hands the rehearsal a plain ``Scenario``: the sandbox never imports the infra layer.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from bluegreen.infra.config import PoolConfig, StackConfig
from bluegreen.infra.stack_file import load_stack_file
from bluegreen.sandbox.instance_types import InstanceType, instance_type
from bluegreen.sandbox.scenario import AmiPair, LoadBalancers, NodeShape, Pool, Scenario, load_scenario

#: The AMI the rehearsal's groups serve on before the cutover to the stack's activeAmi (any other AMI would do:
#: the rehearsal shows the cutover onto the stack's AMI, whatever it replaces).
PREVIOUS_AMI = "ami-00000000000000000"
PREVIOUS_AMI_ALT = "ami-00000000000000001"


class StackRehearsalError(ValueError):
    """A stack the sandbox cannot rehearse (e.g. an instance type missing from its table); one line, with the
    next step."""


def previous_ami(active_ami: str) -> str:
    """An AMI id other than ``active_ami`` for the groups to serve on before the cutover."""
    return PREVIOUS_AMI if active_ami != PREVIOUS_AMI else PREVIOUS_AMI_ALT


def node_type(pool: PoolConfig) -> InstanceType:
    """The pool's node as the rehearsal sizes it: its instance type, or with several (a mixed instances policy)
    the smallest of them (the capacity the pool can count on)."""
    try:
        types = [instance_type(name) for name in pool.workers.instance_type_choices]
    except KeyError as error:
        raise StackRehearsalError(f"{pool.key('instanceType')}: {error}") from None
    return min(types, key=lambda t: (t.vcpus, t.memory_gib, t.max_pods))


def node_shape(pool: PoolConfig) -> NodeShape:
    """What one node of the pool offers the scheduler on EKS (allocatable from the instance type table), with the
    pool's labels and taints."""
    kind = node_type(pool)
    taints = tuple({"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect}
                   for t in pool.workers.taints)
    return NodeShape(cpu=kind.allocatable_cpu, memory=kind.allocatable_memory, pods=kind.max_pods,
                     instance_type=kind.name, labels=dict(pool.workers.labels), taints=taints)


def stack_pool(pool: PoolConfig) -> Pool:
    """One stack pool as a scenario pool: its desired capacity per color, its node shape, its AMI pair."""
    return Pool(
        name=pool.name, nodes_per_color=pool.workers.desired_capacity, node=node_shape(pool),
        ami=AmiPair(from_=previous_ami(pool.active_ami), to=pool.active_ami),
        load_balancers=bool(pool.load_balancers.target_group_arns or pool.load_balancers.classic_elb_names),
    )


def stack_scenario(stack: StackConfig, base: Scenario, *, label: str = "stack") -> Scenario:
    """``base`` (its workloads, timing, placement, faults and runs) on the stack's pools, load balancers and
    rollout settings. Pure."""
    default, *others = [stack_pool(p) for p in stack.all_pools()]
    lbs = stack.load_balancers
    return replace(
        base,
        name=f"{label} ({base.name} workloads)",
        nodes_per_color=default.nodes_per_color,
        node=default.node,
        ami=default.ami,
        pools=tuple(others),
        pools_in_parallel=stack.pools_in_parallel,
        load_balancers=LoadBalancers(
            target_groups=len(lbs.target_group_arns), classic_elbs=len(lbs.classic_elb_names),
            healthy_after_seconds=base.load_balancers.healthy_after_seconds,
        ),
        # Every engine setting as the stack has it (its poll interval too: the sandbox's clock is simulated).
        rollout=asdict(stack.rollout),
    )


def load_stack_scenario(stack_path: str, scenario_source: str | None = None) -> tuple[StackConfig, Scenario]:
    """Read the stack file and the scenario (default: the builtin ``small``) and combine them. Raises ConfigError
    (the stack), ScenarioError (the scenario) or StackRehearsalError, each one line naming the key."""
    stack = load_stack_file(stack_path)
    base = load_scenario(scenario_source)
    return stack, stack_scenario(stack, base, label=f"stack {stack.cluster.name}")
