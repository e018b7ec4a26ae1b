"""``WorkerGroup``: one color's launch template and Auto Scaling group, in one pool.

Both colors of every pool are always declared. The active color gets the workers' capacity; the
idle one is parked at 0/0/0 and keeps the image its (possibly still running) nodes
were launched from, so a flip never rewrites the group that is still serving.
No instance refresh is configured: a refresh would replace nodes without a drain.

A pool with several instance types or Spot capacity launches through a mixed instances
policy over its launch template; the template then names no instance type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from bluegreen.engine.naming import (
    CLUSTER_TAG,
    COLOR_LABEL,
    COLOR_TAG,
    DEFAULT_POOL,
    POOL_LABEL,
    POOL_TAG,
    group_name,
    launch_template_name,
)
from bluegreen.infra.config import SpotConfig

# The root device of the EKS-optimized AL2 and AL2023 AMIs.
ROOT_DEVICE = "/dev/xvda"
AUTOSCALER_ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled"


@dataclass(frozen=True)
class Capacity:
    desired: int
    min: int
    max: int

    @staticmethod
    def parked() -> Capacity:
        return Capacity(0, 0, 0)


def active_capacity(desired: int, min_size: int, max_size: int, live_desired: int | None) -> Capacity:
    """The active color's capacity: the configured one, except that a group already serving keeps
    its live desired count (clamped to min..max). Resetting it would let the ASG terminate nodes
    that cluster-autoscaler added, without a drain."""
    if live_desired is None:
        return Capacity(desired, min_size, max_size)
    return Capacity(min(max(live_desired, min_size), max_size), min_size, max_size)


@dataclass(frozen=True)
class WorkerGroupArgs:
    cluster_name: str
    color: str
    # The image of this color's launch template (the idle color keeps its old one).
    ami_id: str
    capacity: Capacity
    instance_type: str
    root_volume_size: int
    # Base64 user data that joins the cluster with this color's label.
    user_data: pulumi.Input[str]
    instance_profile_arn: pulumi.Input[str]
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    key_name: str | None = None
    target_group_arns: Sequence[str] = ()
    classic_elb_names: Sequence[str] = ()
    # Only the active color is discoverable by cluster-autoscaler, so it never grows the idle one.
    autoscaler_discovery: bool = False
    # Node labels, for cluster-autoscaler's scale-from-zero templates.
    labels: Mapping[str, str] = field(default_factory=dict)
    # The seam for the cutover: the ASG update (e.g. the idle color's scale-down) waits for these.
    asg_depends_on: Sequence[pulumi.Resource] = ()
    # Resources the launch template must wait for (the cluster, the workers' access entry).
    depends_on: Sequence[pulumi.Resource] = ()
    # The pool this group belongs to; the default pool's groups keep the names they had before pools.
    pool: str = DEFAULT_POOL
    # Several instance types and/or Spot: a mixed instances policy (instance_type is then the first type).
    instance_types: Sequence[str] = ()
    spot: SpotConfig | None = None

    @property
    def mixed_instances(self) -> bool:
        return bool(self.instance_types) or self.spot is not None

    @property
    def name(self) -> str:
        """The Auto Scaling group's (and launch template's) name: ``<cluster>-<pool>-<color>``."""
        return group_name(self.cluster_name, self.color, self.pool)


def identity_tags(args: WorkerGroupArgs) -> dict[str, str]:
    """Tags that say whose a launch template, instance or volume is (the pool tag outside the default pool)."""
    tags = {CLUSTER_TAG: args.cluster_name, COLOR_TAG: args.color}
    if args.pool != DEFAULT_POOL:
        tags[POOL_TAG] = args.pool
    return tags


def group_tags(args: WorkerGroupArgs) -> dict[str, str]:
    """Tags of the Auto Scaling group (propagated to instances); the engine finds groups by these."""
    tags = {
        "Name": args.name,
        CLUSTER_TAG: args.cluster_name,
        COLOR_TAG: args.color,
        **({POOL_TAG: args.pool} if args.pool != DEFAULT_POOL else {}),
        f"kubernetes.io/cluster/{args.cluster_name}": "owned",
    }
    if args.autoscaler_discovery:
        tags[AUTOSCALER_ENABLED_TAG] = "true"
        tags[f"k8s.io/cluster-autoscaler/{args.cluster_name}"] = "owned"
        node_labels = {COLOR_LABEL: args.color}
        if args.pool != DEFAULT_POOL:
            node_labels[POOL_LABEL] = args.pool
        for key, value in {**node_labels, **args.labels}.items():
            tags[f"k8s.io/cluster-autoscaler/node-template/label/{key}"] = value
    return tags


def mixed_instances_policy(
    launch_template_id: pulumi.Input[str],
    version: pulumi.Input[str],
    instance_types: Sequence[str],
    spot: SpotConfig | None,
) -> dict:
    """The Auto Scaling group's mixed instances policy: the launch template, one override per instance type, and
    how On-Demand and Spot capacity are split (On-Demand only without ``spot``)."""
    if spot is None:
        distribution: dict = {"on_demand_base_capacity": 0, "on_demand_percentage_above_base_capacity": 100}
    else:
        distribution = {
            "on_demand_base_capacity": spot.on_demand_base_capacity,
            "on_demand_percentage_above_base_capacity": spot.on_demand_percentage_above_base_capacity,
            "spot_allocation_strategy": spot.allocation_strategy,
        }
    return {
        "launch_template": {
            "launch_template_specification": {"launch_template_id": launch_template_id, "version": version},
            "overrides": [{"instance_type": t} for t in instance_types],
        },
        "instances_distribution": distribution,
    }


class WorkerGroup(pulumi.ComponentResource):
    """One color's workers: a launch template and an Auto Scaling group, parented to this component."""

    launch_template: aws.ec2.LaunchTemplate
    group: aws.autoscaling.Group

    def __init__(self, name: str, args: WorkerGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-bluegreen:infra:WorkerGroup", name, None, opts)
        self.args = args
        identity = identity_tags(args)
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            name=launch_template_name(args.cluster_name, args.color, args.pool),
            image_id=args.ami_id,
            # A mixed instances policy names the types itself; the template must not pin one.
            instance_type=None if args.mixed_instances else args.instance_type,
            key_name=args.key_name,
            user_data=args.user_data,
            iam_instance_profile={"arn": args.instance_profile_arn},
            vpc_security_group_ids=args.security_group_ids,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                # Two hops so pods (one network hop further) can still reach IMDSv2.
                "http_put_response_hop_limit": 2,
            },
            block_device_mappings=[
                {
                    "device_name": ROOT_DEVICE,
                    "ebs": {
                        "volume_size": args.root_volume_size,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": identity},
                {"resource_type": "volume", "tags": identity},
            ],
            # Keep default == latest, so the data source reading the image sees what the group launches.
            update_default_version=True,
            tags=identity,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        version = self.launch_template.latest_version.apply(str)
        if args.mixed_instances:
            launch: dict = {
                "mixed_instances_policy": mixed_instances_policy(
                    self.launch_template.id, version, args.instance_types or [args.instance_type], args.spot
                )
            }
        else:
            launch = {"launch_template": {"id": self.launch_template.id, "version": version}}
        self.group = aws.autoscaling.Group(
            f"{name}-asg",
            name=args.name,
            desired_capacity=args.capacity.desired,
            min_size=args.capacity.min,
            max_size=args.capacity.max,
            vpc_zone_identifiers=args.subnet_ids,
            **launch,
            target_group_arns=list(args.target_group_arns),
            load_balancers=list(args.classic_elb_names),
            health_check_type="EC2",
            # The cutover's NodesReady step owns the wait (with its own timeout and per-instance errors).
            wait_for_capacity_timeout="0",
            tags=[{"key": k, "value": v, "propagate_at_launch": True} for k, v in group_tags(args).items()],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.asg_depends_on)),
        )
        self.register_outputs(
            {
                "color": args.color,
                "ami": args.ami_id,
                "groupName": self.group.name,
                "desiredCapacity": self.group.desired_capacity,
                "launchTemplateId": self.launch_template.id,
            }
        )
