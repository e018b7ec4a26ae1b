"""A sandbox with several pools: each pool's two groups and launch templates named and tagged as the program
names them, its nodes labelled with the pool (outside the default pool), its labels and taints, and its workloads
placed by nodeSelector and tolerations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bluegreen.engine import naming
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(load_scenario("two-pools"), speed=50.0)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def tags_of(group: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in group["Tags"]}


def test_each_pool_has_two_groups_named_and_tagged_like_the_programs(box: Sandbox) -> None:
    groups = {g["AutoScalingGroupName"]: g for g in
              box.aws_client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert set(groups) == {"sandbox-workers-blue", "sandbox-workers-green", "sandbox-gpu-blue", "sandbox-gpu-green"}
    assert (groups["sandbox-workers-blue"]["DesiredCapacity"], groups["sandbox-gpu-blue"]["DesiredCapacity"]) == (3, 2)
    assert groups["sandbox-gpu-green"]["DesiredCapacity"] == 0
    assert naming.POOL_TAG not in tags_of(groups["sandbox-workers-blue"])
    assert tags_of(groups["sandbox-gpu-green"])[naming.POOL_TAG] == "gpu"
    assert tags_of(groups["sandbox-gpu-green"])[naming.COLOR_TAG] == "green"
    # The gpu pool serves no load balancer (load_balancers: false); the default pool serves both.
    assert groups["sandbox-gpu-blue"]["TargetGroupARNs"] == [] and groups["sandbox-gpu-blue"]["LoadBalancerNames"] == []
    assert groups["sandbox-workers-blue"]["TargetGroupARNs"] and groups["sandbox-workers-blue"]["LoadBalancerNames"]
    templates = {t["LaunchTemplateName"] for t in box.aws_client("ec2").describe_launch_templates()["LaunchTemplates"]}
    assert {"sandbox-gpu-blue", "sandbox-gpu-green", "sandbox-workers-blue"} <= templates


def test_pool_nodes_carry_the_pool_label_labels_and_taints(box: Sandbox) -> None:
    with box.cluster.lock:
        nodes = box.cluster.list("nodes")
    by_pool: dict[str | None, list[dict]] = {}
    for node in nodes:
        by_pool.setdefault(node["metadata"]["labels"].get(naming.POOL_LABEL), []).append(node)
    assert {k: len(v) for k, v in by_pool.items()} == {None: 3, "gpu": 2}
    gpu = by_pool["gpu"][0]
    assert gpu["metadata"]["labels"]["workload-class"] == "gpu"
    assert gpu["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "g5.xlarge"
    assert gpu["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert by_pool[None][0]["metadata"]["labels"]["workload-class"] == "general"
    assert "taints" not in by_pool[None][0]["spec"]


def test_workloads_land_on_their_pools(box: Sandbox) -> None:
    with box.cluster.lock:
        nodes = {n["metadata"]["name"]: n["metadata"]["labels"].get(naming.POOL_LABEL, "workers")
                 for n in box.cluster.list("nodes")}
        pods = box.cluster.list("pods")
    pools_of: dict[str, set[str]] = {}
    for pod in pods:
        app = pod["metadata"]["labels"]["app.kubernetes.io/name"]
        pools_of.setdefault(app, set()).add(nodes[pod["spec"]["nodeName"]])
    assert pools_of == {"web": {"workers"}, "db": {"workers"}, "inference": {"gpu"}, "node-agent": {"workers", "gpu"}}
