"""Auto Scaling groups of a color as observed through the AWS APIs (boto3 clients passed in)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import ClientError

from bluegreen.engine.errors import GroupNotFound
from bluegreen.engine.naming import DEFAULT_POOL
from bluegreen.engine.naming import group_name as _group_name


@dataclass(frozen=True)
class GroupSpec:
    """One color's group as the cutover expects it: its AMI and how many nodes it should run.

    ``pool``: the worker pool the group belongs to; its nodes are told apart by the pool label (naming.in_pool).
    None (the default): the cluster's one pair, named like the default pool, whatever pool label its nodes carry.
    """

    cluster_name: str
    color: str
    ami: str
    desired: int
    pool: str | None = None

    @property
    def group_name(self) -> str:
        return _group_name(self.cluster_name, self.color, self.pool or DEFAULT_POOL)


#: EC2's answer for an instance id it does not know (yet: DescribeInstances is eventually consistent, and an
#: instance the group just launched can be unknown to it for a few seconds).
INSTANCE_NOT_FOUND = "InvalidInstanceID.NotFound"
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")


@dataclass(frozen=True)
class Instance:
    id: str
    lifecycle_state: str  # Pending | InService | Terminating | ...
    health_status: str
    availability_zone: str
    ami: str | None = None
    # DescribeInstances does not know it yet (InvalidInstanceID.NotFound), although its group lists it
    unknown_to_ec2: bool = False


@dataclass(frozen=True)
class Group:
    name: str
    desired: int
    min_size: int
    max_size: int
    instances: tuple[Instance, ...]
    target_group_arns: tuple[str, ...]
    classic_elb_names: tuple[str, ...]
    suspended_processes: tuple[str, ...]
    launch_template: str | None
    launch_template_version: str | None


def describe_group(autoscaling, ec2, name: str, *, with_amis: bool = True) -> Group:
    """The group and its instances (with each instance's AMI from EC2); GroupNotFound when absent."""
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name]).get("AutoScalingGroups") or []
    if not found:
        raise GroupNotFound(name)
    raw = found[0]
    ids = [i["InstanceId"] for i in raw.get("Instances") or []]
    amis, unknown = instance_amis(ec2, ids) if with_amis and ids else ({}, set())
    lt = raw.get("LaunchTemplate") or (
        ((raw.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("LaunchTemplateSpecification") or {}
    )
    return Group(
        name=raw["AutoScalingGroupName"],
        desired=int(raw.get("DesiredCapacity") or 0),
        min_size=int(raw.get("MinSize") or 0),
        max_size=int(raw.get("MaxSize") or 0),
        instances=tuple(
            Instance(
                id=i["InstanceId"],
                lifecycle_state=i.get("LifecycleState") or "",
                health_status=i.get("HealthStatus") or "",
                availability_zone=i.get("AvailabilityZone") or "",
                ami=amis.get(i["InstanceId"]),
                unknown_to_ec2=i["InstanceId"] in unknown,
            )
            for i in raw.get("Instances") or []
        ),
        target_group_arns=tuple(raw.get("TargetGroupARNs") or ()),
        classic_elb_names=tuple(raw.get("LoadBalancerNames") or ()),
        suspended_processes=tuple(p.get("ProcessName", "") for p in raw.get("SuspendedProcesses") or []),
        launch_template=lt.get("LaunchTemplateName") or lt.get("LaunchTemplateId"),
        launch_template_version=lt.get("Version"),
    )


def instance_amis(ec2, ids: list[str]) -> tuple[dict[str, str], set[str]]:
    """(instance id -> AMI, ids EC2 does not know yet). An InvalidInstanceID.NotFound for some of the ids (just
    launched, not yet visible to DescribeInstances) does not fail the read: those ids are set aside, the others
    described; the caller's poll asks again, and its timeout names the instances still unknown."""
    amis: dict[str, str] = {}
    unknown: set[str] = set()
    remaining = list(ids)
    while remaining:
        try:
            answer = ec2.describe_instances(InstanceIds=remaining)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != INSTANCE_NOT_FOUND:
                raise
            # The message names the unknown ids ("The instance IDs 'i-1, i-2' do not exist"); when it does not,
            # each id is asked alone so one unknown instance cannot hide the others.
            named = set(_INSTANCE_ID.findall(exc.response.get("Error", {}).get("Message") or "")) & set(remaining)
            if not named and len(remaining) > 1:
                for one in remaining:
                    more, missing = instance_amis(ec2, [one])
                    amis.update(more)
                    unknown |= missing
                return amis, unknown
            unknown |= named or set(remaining)
            remaining = [i for i in remaining if i not in unknown]
            continue
        for reservation in answer.get("Reservations") or []:
            for inst in reservation.get("Instances") or []:
                amis[inst["InstanceId"]] = inst.get("ImageId")
        break
    return amis, unknown


def launch_template_ami(ec2, template: str, version: str | None = "$Default") -> str | None:
    """The AMI of a launch template version ($Default unless given); None when it cannot be read."""
    key = "LaunchTemplateId" if template.startswith("lt-") else "LaunchTemplateName"
    try:
        versions = ec2.describe_launch_template_versions(**{key: template}, Versions=[version or "$Default"])
    except Exception:  # a missing template is reported as "unknown AMI" by callers, not as a crash
        return None
    items = versions.get("LaunchTemplateVersions") or []
    return (items[0].get("LaunchTemplateData") or {}).get("ImageId") if items else None


def scale(autoscaling, name: str, *, desired: int, min_size: int | None = None, max_size: int | None = None) -> None:
    """Set the group's capacity; min/max follow when given (min is lowered to desired when needed)."""
    params: dict = {"AutoScalingGroupName": name, "DesiredCapacity": desired}
    if min_size is not None:
        params["MinSize"] = min_size
    if max_size is not None:
        params["MaxSize"] = max_size
    autoscaling.update_auto_scaling_group(**params)


#: Processes suspended on the old group while it drains, so it cannot launch replacement capacity.
GUARD_PROCESSES = ("Launch", "AZRebalance")


def suspend_growth(autoscaling, name: str) -> None:
    autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=list(GUARD_PROCESSES))


def resume_growth(autoscaling, name: str) -> None:
    autoscaling.resume_processes(AutoScalingGroupName=name, ScalingProcesses=list(GUARD_PROCESSES))
