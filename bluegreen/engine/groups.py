"""Auto Scaling groups of a color as observed through the AWS APIs (boto3 clients passed in)."""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.engine.errors import GroupNotFound
from bluegreen.engine.naming import group_name as _group_name


@dataclass(frozen=True)
class GroupSpec:
    """One color's group as the cutover expects it: its AMI and how many nodes it should run."""

    cluster_name: str
    color: str
    ami: str
    desired: int

    @property
    def group_name(self) -> str:
        return _group_name(self.cluster_name, self.color)


@dataclass(frozen=True)
class Instance:
    id: str
    lifecycle_state: str  # Pending | InService | Terminating | ...
    health_status: str
    availability_zone: str
    ami: str | None = None


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
    amis: dict[str, str] = {}
    ids = [i["InstanceId"] for i in raw.get("Instances") or []]
    if with_amis and ids:
        for reservation in ec2.describe_instances(InstanceIds=ids).get("Reservations") or []:
            for inst in reservation.get("Instances") or []:
                amis[inst["InstanceId"]] = inst.get("ImageId")
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
            )
            for i in raw.get("Instances") or []
        ),
        target_group_arns=tuple(raw.get("TargetGroupARNs") or ()),
        classic_elb_names=tuple(raw.get("LoadBalancerNames") or ()),
        suspended_processes=tuple(p.get("ProcessName", "") for p in raw.get("SuspendedProcesses") or []),
        launch_template=lt.get("LaunchTemplateName") or lt.get("LaunchTemplateId"),
        launch_template_version=lt.get("Version"),
    )


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
