"""moto plus the realism layer, through boto3 over HTTP, as the engine will see it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bluegreen.sandbox.aws import AwsRealism, MotoServer, SandboxBusyError, register_amis

REGION = "eu-west-1"
AMI = "ami-0aaaaaaaaaaaaaaaa"


@dataclass
class ManualClock:
    t: float = 0.0

    def now(self) -> float:
        return self.t


@dataclass
class Aws:
    server: MotoServer
    realism: AwsRealism
    clock: ManualClock
    subnets: list[str]
    tg_arn: str
    elb_name: str

    def client(self, service: str):  # noqa: ANN201 - boto3 clients are untyped
        return self.server.client(service)

    def make_group(self, name: str, desired: int) -> None:
        self.client("ec2").create_launch_template(
            LaunchTemplateName=f"{name}-lt", LaunchTemplateData={"ImageId": AMI, "InstanceType": "m5.large"}
        )
        self.client("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": f"{name}-lt", "Version": "$Latest"},
            MinSize=0,
            MaxSize=10,
            DesiredCapacity=desired,
            VPCZoneIdentifier=",".join(self.subnets),
            TargetGroupARNs=[self.tg_arn],
            LoadBalancerNames=[self.elb_name],
        )

    def instances(self, group: str) -> list[str]:
        found = self.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        return sorted(i["InstanceId"] for i in found["AutoScalingGroups"][0]["Instances"])

    def target_states(self) -> dict[str, tuple[str, str | None]]:
        found = self.client("elbv2").describe_target_health(TargetGroupArn=self.tg_arn)["TargetHealthDescriptions"]
        return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason")) for d in found}

    def elb_states(self) -> dict[str, tuple[str, str]]:
        found = self.client("elb").describe_instance_health(LoadBalancerName=self.elb_name)["InstanceStates"]
        return {d["InstanceId"]: (d["State"], d["ReasonCode"]) for d in found}


@pytest.fixture
def aws() -> Iterator[Aws]:
    server = MotoServer(REGION)
    server.start()
    clock = ManualClock()
    realism = AwsRealism(clock.now, healthy_after_s=20.0, region=REGION).install()
    try:
        ec2 = server.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in enumerate("ab")
        ]
        tg_arn = server.client("elbv2").create_target_group(
            Name="tg-web", Protocol="HTTP", Port=30080, VpcId=vpc, TargetType="instance"
        )["TargetGroups"][0]["TargetGroupArn"]
        server.client("elb").create_load_balancer(
            LoadBalancerName="elb-web",
            Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 30080}],
            Subnets=subnets,
        )
        yield Aws(server, realism, clock, subnets, tg_arn, "elb-web")
    finally:
        realism.uninstall()
        server.stop()


def test_targets_are_initial_until_the_health_delay_passes_then_healthy(aws: Aws) -> None:
    aws.make_group("g-blue", 2)
    ids = aws.instances("g-blue")
    assert len(ids) == 2
    assert aws.target_states() == {i: ("initial", "Elb.RegistrationInProgress") for i in ids}
    assert {s for s, _ in aws.elb_states().values()} == {"OutOfService"}
    aws.clock.t = 19.0
    assert {s for s, _ in aws.target_states().values()} == {"initial"}
    aws.clock.t = 20.5
    assert aws.target_states() == {i: ("healthy", None) for i in ids}
    assert aws.elb_states() == {i: ("InService", "N/A") for i in ids}


def test_scale_in_deregisters_the_leaving_instances_only(aws: Aws) -> None:
    aws.make_group("g-blue", 3)
    before = aws.instances("g-blue")
    aws.client("autoscaling").set_desired_capacity(AutoScalingGroupName="g-blue", DesiredCapacity=1)
    after = aws.instances("g-blue")
    assert len(after) == 1
    assert set(aws.target_states()) == set(after)
    assert set(aws.elb_states()) == set(after)
    gone = sorted(set(before) - set(after))
    explicit = aws.client("elbv2").describe_target_health(
        TargetGroupArn=aws.tg_arn, Targets=[{"Id": i} for i in gone]
    )["TargetHealthDescriptions"]
    assert {d["TargetHealth"]["State"] for d in explicit} == {"unused"}


def test_two_colors_share_load_balancers_without_knocking_each_other_out(aws: Aws) -> None:
    aws.make_group("g-blue", 2)
    aws.make_group("g-green", 0)
    blue = aws.instances("g-blue")
    aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="g-green", DesiredCapacity=2)
    green = aws.instances("g-green")
    assert set(aws.target_states()) == set(blue) | set(green)
    assert set(aws.elb_states()) == set(blue) | set(green)
    aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="g-blue", MinSize=0, DesiredCapacity=0)
    assert set(aws.target_states()) == set(green)
    assert set(aws.elb_states()) == set(green)


def test_terminate_and_detach_deregister(aws: Aws) -> None:
    aws.make_group("g-blue", 3)
    first, second, third = aws.instances("g-blue")
    asg = aws.client("autoscaling")
    asg.terminate_instance_in_auto_scaling_group(InstanceId=first, ShouldDecrementDesiredCapacity=True)
    asg.detach_instances(AutoScalingGroupName="g-blue", InstanceIds=[second], ShouldDecrementDesiredCapacity=True)
    assert aws.instances("g-blue") == [third]
    assert set(aws.target_states()) == {third}
    assert set(aws.elb_states()) == {third}


def test_ec2_termination_is_replaced_and_target_groups_follow(aws: Aws) -> None:
    aws.make_group("g-blue", 2)
    victim = aws.instances("g-blue")[0]
    aws.client("ec2").terminate_instances(InstanceIds=[victim])
    now = aws.instances("g-blue")
    assert victim not in now and len(now) == 2
    assert set(aws.target_states()) == set(now)


def test_target_unhealthy_fault_hits_only_the_first_instances_of_the_group(aws: Aws) -> None:
    aws.make_group("g-green", 0)
    aws.realism.fail_targets("g-green", 1)
    aws.client("autoscaling").set_desired_capacity(AutoScalingGroupName="g-green", DesiredCapacity=3)
    aws.clock.t = 100.0
    states = aws.target_states()
    assert sorted(s for s, _ in states.values()) == ["healthy", "healthy", "unhealthy"]
    failing = [i for i, (s, _) in states.items() if s == "unhealthy"]
    assert states[failing[0]] == ("unhealthy", "Target.FailedHealthChecks")
    assert aws.elb_states()[failing[0]] == ("OutOfService", "Instance")


def test_instances_are_balanced_across_zones_and_named_for_the_region(aws: Aws) -> None:
    aws.make_group("g-blue", 4)
    found = aws.client("ec2").describe_instances(InstanceIds=aws.instances("g-blue"))
    instances = [i for r in found["Reservations"] for i in r["Instances"]]
    zones = sorted(i["Placement"]["AvailabilityZone"] for i in instances)
    assert zones == [f"{REGION}a", f"{REGION}a", f"{REGION}b", f"{REGION}b"]
    assert all(i["PrivateDnsName"].endswith(f".{REGION}.compute.internal") for i in instances)
    assert {i["ImageId"] for i in instances} == {AMI}


def test_scenario_amis_can_be_described(aws: Aws) -> None:
    register_amis(REGION, [AMI])
    images = aws.client("ec2").describe_images(ImageIds=[AMI])["Images"]
    assert [i["ImageId"] for i in images] == [AMI]


def test_requests_are_counted_per_service(aws: Aws) -> None:
    aws.server.reset_counts()
    aws.client("ec2").describe_instances()
    aws.client("elbv2").describe_target_groups()
    aws.client("elbv2").describe_target_groups()
    aws.client("elb").describe_load_balancers()
    assert aws.server.request_counts() == {"ec2": 1, "elbv2": 2, "elb": 1}
    assert aws.server.action_counts()["elbv2:DescribeTargetGroups"] == 2


def test_suspended_launch_keeps_a_group_from_growing_until_resumed(aws: Aws) -> None:
    aws.make_group("g-blue", 1)
    asg = aws.client("autoscaling")
    asg.suspend_processes(AutoScalingGroupName="g-blue", ScalingProcesses=["Launch", "AZRebalance"])
    asg.set_desired_capacity(AutoScalingGroupName="g-blue", DesiredCapacity=3)
    assert len(aws.instances("g-blue")) == 1
    victim = aws.instances("g-blue")[0]
    aws.client("ec2").terminate_instances(InstanceIds=[victim])
    assert aws.instances("g-blue") == [], "no replacement while Launch is suspended"
    asg.resume_processes(AutoScalingGroupName="g-blue", ScalingProcesses=["Launch"])
    assert len(aws.instances("g-blue")) == 3
    assert set(aws.target_states()) == set(aws.instances("g-blue"))


def test_suspended_terminate_keeps_instances_on_scale_in_until_resumed(aws: Aws) -> None:
    aws.make_group("g-blue", 2)
    asg = aws.client("autoscaling")
    asg.suspend_processes(AutoScalingGroupName="g-blue", ScalingProcesses=["Terminate"])
    asg.set_desired_capacity(AutoScalingGroupName="g-blue", DesiredCapacity=0)
    found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["g-blue"])["AutoScalingGroups"][0]
    assert found["DesiredCapacity"] == 0 and len(found["Instances"]) == 2
    asg.resume_processes(AutoScalingGroupName="g-blue")
    assert aws.instances("g-blue") == []
    assert aws.target_states() == {}


def test_uninstall_restores_moto(aws: Aws) -> None:
    from moto.elbv2.models import FakeTargetGroup

    patched = FakeTargetGroup.health_for
    aws.realism.uninstall()
    assert FakeTargetGroup.health_for is not patched
    aws.make_group("g-blue", 1)
    assert {s for s, _ in aws.target_states().values()} == {"healthy"}  # moto's own answer again


def test_only_one_server_per_process(aws: Aws) -> None:
    with pytest.raises(SandboxBusyError, match="stop that sandbox first"):
        MotoServer(REGION).start()
