"""__main__.py under Pulumi mocks with several worker pools: groups, labels, order of cutovers, mixed instances.

The program runs as Pulumi runs it (tests/unit/infra/harness.py), with the cutover steps of
__main__.py, a default pool (``workers``) and a ``gpu`` pool, against a given live AWS state.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from tests.unit.infra import harness
from tests.unit.infra.harness import FakeAws, Run

OLD = "ami-0aaaaaaaaaaaaaaaa"
NEW = "ami-0bbbbbbbbbbbbbbbb"
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef"
CLUSTER_SG = "sg-0cluster0000000001"
NODE_PORTS_SG = "sg-0123456789abcdef0"
STEP_TYPES = {
    "pulumi-python:dynamic/bluegreen:NodesReady": "nodes-ready",
    "pulumi-python:dynamic/bluegreen:LoadBalancersHealthy": "load-balancers-healthy",
    "pulumi-python:dynamic/bluegreen:Drain": "drain",
}
GPU: dict[str, Any] = {
    "instanceType": "g5.xlarge",
    "desiredCapacity": 2,
    "minSize": 2,
    "maxSize": 4,
    "labels": {"workload-class": "gpu"},
    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    "loadBalancers": {},
}


def config(active_ami: str = OLD, pools: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "aws:region": "eu-west-1",
        "activeAmi": active_ami,
        "cluster": {"name": "prod"},
        "workers": {
            "desiredCapacity": 5,
            "minSize": 5,
            "maxSize": 8,
            "labels": {"workload-class": "general"},
            "securityGroupIds": [NODE_PORTS_SG],
        },
        "loadBalancers": {"targetGroupArns": [TG]},
    }
    if pools is not None:
        values["pools"] = pools
    values.update(extra)
    return values


def run(cfg: dict[str, Any], aws: FakeAws) -> Run:
    result = harness.run_program(cfg, aws)
    assert result.error is None, result.error
    return result


def account(**serving: tuple[str, str]) -> FakeAws:
    """Live state: each pool's serving color and AMI; the other color exists, parked, on the same AMI."""
    aws = FakeAws(clusters={"prod": "API"})
    for pool, (color, ami) in serving.items():
        other = "green" if color == "blue" else "blue"
        desired = 5 if pool == "workers" else 2
        aws.add_group("prod", color, desired, ami, active=True, pool=pool, mixed=pool == "spot")
        aws.add_group("prod", other, 0, ami, pool=pool, mixed=pool == "spot")
    return aws


def tags_of(asg: harness.Registration) -> dict[str, str]:
    return {t["key"]: t["value"] for t in asg.inputs["tags"]}


def kubelet_flags(lt: harness.Registration) -> list[str]:
    mime = base64.b64decode(lt.inputs["userData"]).decode()
    part = mime.split("Content-Type: application/node.eks.aws\n\n", 1)[1].split("\n--//BLUEGREEN//--", 1)[0]
    return yaml.safe_load(part)["spec"]["kubelet"]["flags"]


def steps_of(result: Run, component: str) -> dict[str, harness.Registration]:
    parent = result.urn_of(component)
    return {STEP_TYPES[r.type]: r for r in result.resources if r.type in STEP_TYPES and r.parent == parent}


def test_a_gpu_pool_declares_its_own_pair_with_its_names_labels_taints_and_capacities() -> None:
    result = run(config(pools={"gpu": GPU}), FakeAws(clusters={"prod": "API"}))
    asgs = {r.inputs["name"]: r for r in result.of_type("aws:autoscaling/group:Group")}
    assert set(asgs) == {"prod-workers-blue", "prod-workers-green", "prod-gpu-blue", "prod-gpu-green"}
    capacity = {
        name: (a.inputs["desiredCapacity"], a.inputs["minSize"], a.inputs["maxSize"]) for name, a in asgs.items()
    }
    assert capacity == {
        "prod-workers-blue": (5, 5, 8),
        "prod-workers-green": (0, 0, 0),
        "prod-gpu-blue": (2, 2, 4),
        "prod-gpu-green": (0, 0, 0),
    }
    gpu_blue = result.named("gpu-blue-asg")
    assert gpu_blue.inputs["targetGroupArns"] == [] and result.named("workers-blue-asg").inputs["targetGroupArns"] == [
        TG
    ]
    assert tags_of(gpu_blue)["bluegreen.io/pool"] == "gpu"
    assert tags_of(gpu_blue)["k8s.io/cluster-autoscaler/node-template/label/bluegreen.io/pool"] == "gpu"
    assert "bluegreen.io/pool" not in tags_of(result.named("workers-blue-asg"))
    for color in ("blue", "green"):
        gpu_lt, default_lt = result.named(f"gpu-{color}-lt"), result.named(f"workers-{color}-lt")
        assert gpu_lt.inputs["name"] == f"prod-gpu-{color}" and gpu_lt.inputs["instanceType"] == "g5.xlarge"
        flags = kubelet_flags(gpu_lt)
        assert f"--node-labels=bluegreen.io/color={color},bluegreen.io/pool=gpu,workload-class=gpu" in flags
        assert "--register-with-taints=nvidia.com/gpu=true:NoSchedule" in flags
        # The default pool's nodes carry no pool label: its user data is what it was before pools.
        assert kubelet_flags(default_lt) == [f"--node-labels=bluegreen.io/color={color},workload-class=general"]
        # The pool's security groups (inherited from workers) next to the cluster security group.
        assert gpu_lt.inputs["vpcSecurityGroupIds"] == [CLUSTER_SG, NODE_PORTS_SG]
        assert default_lt.inputs["vpcSecurityGroupIds"] == [CLUSTER_SG, NODE_PORTS_SG]
    pools = result.outputs["pools"]
    assert {name: pool["cutoverOrder"] for name, pool in pools.items()} == {"workers": 1, "gpu": 2}
    assert pools["gpu"]["activeColor"] == "blue" and pools["gpu"]["blue"]["desiredCapacity"] == 2
    assert pools["workers"]["activeColor"] == result.outputs["activeColor"] == "blue"
    assert set(pools["gpu"]["cutoverSteps"]) == {"nodes_ready", "load_balancers_healthy", "drain"}


def test_a_cutover_flips_both_pools_one_after_the_other() -> None:
    result = run(config(NEW, pools={"gpu": GPU}), account(workers=("blue", OLD), gpu=("blue", OLD)))
    assert result.outputs["pools"]["workers"]["cutover"]["drain"] == "blue"
    assert result.outputs["pools"]["gpu"]["cutover"] == {
        "to": "green",
        "drain": "blue",
        "summary": f"blue serving on {OLD}; activeAmi {NEW} goes to green; blue will be drained and scaled to 0",
    }
    default, gpu = steps_of(result, "cutover"), steps_of(result, "cutover-gpu")
    assert {r.name for r in gpu.values()} == {
        "cutover-gpu-nodes-ready-green",
        "cutover-gpu-load-balancers-healthy-green",
        "cutover-gpu-drain-blue",
    }
    for reg in gpu.values():
        props = reg.inputs
        assert (props["pool"], props["new_group"], props["old_group"]) == ("gpu", "prod-gpu-green", "prod-gpu-blue")
        assert props["new_ami"] == NEW and props["old_color_serving"] is True and props["desired"] == 2
        assert props["target_group_arns"] == []
    assert all("pool" not in reg.inputs for reg in default.values())
    # Each idle group's scale-down depends on its own pool's drain (and the default pool's not on the gpu's).
    assert default["drain"].urn in result.named("workers-blue-asg").dependencies
    assert gpu["drain"].urn in result.named("gpu-blue-asg").dependencies
    assert not result.waits_for("workers-blue-asg", "cutover-gpu-drain-blue")
    # One pool at a time: the gpu pool's new group waits for the default pool's drain.
    assert default["drain"].urn in result.named("gpu-green-asg").dependencies
    assert not result.waits_for("workers-green-asg", "cutover-gpu-drain-blue")
    assert any(line.startswith("blue/green pool gpu: blue serving") for line in result.logs)


def test_pools_in_parallel_lifts_the_order() -> None:
    result = run(
        config(NEW, pools={"gpu": GPU}, rollout={"poolsInParallel": True}),
        account(workers=("blue", OLD), gpu=("blue", OLD)),
    )
    assert not result.waits_for("gpu-green-asg", "cutover-drain-blue")
    assert result.named("cutover-gpu-drain-blue").urn in result.named("gpu-blue-asg").dependencies


def test_pools_pick_their_colors_independently() -> None:
    # The gpu pool serves green already on the new AMI; the default pool still has to cut over.
    result = run(config(NEW, pools={"gpu": GPU}), account(workers=("blue", OLD), gpu=("green", NEW)))
    pools = result.outputs["pools"]
    assert (pools["workers"]["activeColor"], pools["workers"]["cutover"]["drain"]) == ("green", "blue")
    assert (pools["gpu"]["activeColor"], pools["gpu"]["cutover"]["drain"]) == ("green", "none")
    # A pool's own activeAmi: the gpu pool stays on the old image while the default pool moves.
    held = run(config(NEW, pools={"gpu": {**GPU, "activeAmi": OLD}}), account(workers=("blue", OLD), gpu=("blue", OLD)))
    assert held.outputs["pools"]["gpu"]["cutover"]["drain"] == "none"
    # A pool's own AMI is named by its own key.
    moved = run(
        config(OLD, pools={"gpu": {**GPU, "activeAmi": NEW}}), account(workers=("blue", OLD), gpu=("blue", OLD))
    )
    assert f"pools.gpu.activeAmi {NEW} goes to green" in moved.outputs["pools"]["gpu"]["cutover"]["summary"]
    assert held.named("gpu-blue-lt").inputs["imageId"] == OLD


def test_a_spot_pool_declares_a_mixed_instances_policy_and_its_live_image_is_read_back() -> None:
    spot = {
        "instanceTypes": ["m5.large", "m5a.large", "m6i.large"],
        "spot": {"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 20},
    }
    result = run(config(pools={"spot": spot}), account(workers=("blue", OLD), spot=("blue", OLD)))
    asg, lt = result.named("spot-blue-asg"), result.named("spot-blue-lt")
    assert "launchTemplate" not in asg.inputs and "instanceType" not in lt.inputs
    policy = asg.inputs["mixedInstancesPolicy"]
    assert [o["instanceType"] for o in policy["launchTemplate"]["overrides"]] == ["m5.large", "m5a.large", "m6i.large"]
    spec = policy["launchTemplate"]["launchTemplateSpecification"]
    assert spec["launchTemplateId"].startswith("lt-") and spec["version"] == "1"
    assert policy["instancesDistribution"] == {
        "onDemandBaseCapacity": 1,
        "onDemandPercentageAboveBaseCapacity": 20,
        "spotAllocationStrategy": "price-capacity-optimized",
    }
    # The default pool is untouched by the spot pool's policy.
    assert "mixedInstancesPolicy" not in result.named("workers-blue-asg").inputs
    # The serving spot group was read through its policy's template: on the active AMI, nothing to do.
    assert result.outputs["pools"]["spot"]["cutover"]["drain"] == "none"
    assert result.outputs["pools"]["spot"]["activeColor"] == "blue"


@pytest.mark.parametrize(
    ("pools", "message"),
    [
        (
            {"gpu": {**GPU, "instanceTyp": "g5.xlarge"}},
            'pools.gpu.instanceTyp: unknown key; did you mean "instanceType"?',
        ),
        (
            {"gpu": {**GPU, "labels": {"node-role.kubernetes.io/gpu": "true"}}},
            "pools.gpu.labels.node-role.kubernetes.io/gpu: not allowed",
        ),
        ({"workers": {}}, "pools.workers: reserved"),
    ],
)
def test_refusals_name_the_key_and_declare_nothing(pools: dict[str, Any], message: str) -> None:
    result = harness.run_program(config(pools=pools), FakeAws(clusters={"prod": "API"}))
    assert result.error is not None and message in str(result.error)
    assert result.resources == []


def test_the_default_pool_is_declared_exactly_as_without_pools() -> None:
    """No churn for existing stacks: adding a pool changes nothing the default pool declares."""
    aws = account(workers=("blue", OLD))
    aws.add_group("prod", "blue", 2, OLD, active=True, pool="gpu")
    for ami in (OLD, NEW):
        alone = run(config(ami), aws)
        with_pool = run(config(ami, pools={"gpu": GPU}), aws)
        by_name = {(r.type, r.name): r for r in with_pool.resources}
        for reg in alone.resources:
            other = by_name[reg.type, reg.name]
            assert (other.inputs, other.parent, other.urn) == (reg.inputs, reg.parent, reg.urn), reg.name
            assert other.dependencies == reg.dependencies, reg.name
        for key in ("activeColor", "activeAmi", "idleColor", "blue", "green", "cutover"):
            assert with_pool.outputs[key] == alone.outputs[key], key
        names = {r.inputs.get("name") for r in alone.of_type("aws:autoscaling/group:Group")}
        assert names == {"prod-workers-blue", "prod-workers-green"}
