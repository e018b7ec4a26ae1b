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


# -- status and plan show every pool ---------------------------------------------------------------------------------


def cli(box: Sandbox, *argv: str, target: tuple[str, ...] | None = None) -> tuple[int, str, str]:
    import io

    from bluegreen.cli import main

    out, err = io.StringIO(), io.StringIO()
    flags = ("--cluster", box.cluster_name, "--region", box.region) if target is None else target
    code = main([*argv, *flags, "--aws-endpoint-url", box.aws_endpoint, "--kubeconfig", box.kubeconfig_path],
                out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_status_finds_every_pool_from_tags_and_labels(box: Sandbox) -> None:
    import json

    code, out, err = cli(box, "status", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert list(report["pools"]) == ["workers", "gpu"]
    for pool, nodes in (("workers", 3), ("gpu", 2)):
        colors = {c["color"]: c for c in report["pools"][pool]["colors"]}
        assert report["pools"][pool]["serving"] == ["blue"]
        assert (colors["blue"]["group_name"], colors["blue"]["nodes"]) == (f"sandbox-{pool}-blue", nodes)
        assert colors["green"]["desired"] == 0
    code, text, _ = cli(box, "status")
    assert text.splitlines()[0] == "cluster sandbox: 2 pool(s)"
    assert [line for line in text.splitlines() if line.startswith("pool ")] == [
        "pool workers: serving blue", "pool gpu: serving blue"]


def test_plan_shows_each_pools_cutover_with_its_own_pods(box: Sandbox) -> None:
    import json

    code, out, err = cli(box, "plan", "--json")
    assert code == 0, err
    workers, gpu = json.loads(out)["pools"]
    assert (workers["pool"], workers["from_group"], workers["to_group"]) == (
        "workers", "sandbox-workers-blue", "sandbox-workers-green")
    assert {m["workload"] for m in workers["moves"]} == {"Deployment default/web", "StatefulSet default/db"}
    assert {m["workload"] for m in gpu["moves"]} == {"Deployment default/inference"}
    assert len(gpu["old_nodes"]) == 2 and len(workers["old_nodes"]) == 3


def test_status_and_plan_take_the_cluster_region_and_pools_from_a_stack_file(box: Sandbox, tmp_path) -> None:
    import json

    stack = tmp_path / "Pulumi.sandbox.yaml"
    stack.write_text(
        f"config:\n  aws:region: {box.region}\n  eks-bluegreen:activeAmi: ami-0bbbbbbbbbbbbbbbb\n"
        "  eks-bluegreen:cluster: {name: sandbox}\n"
        "  eks-bluegreen:pools: {gpu: {instanceType: g5.xlarge}}\n")
    code, out, err = cli(box, "status", "--json", target=("--stack", str(stack)))
    assert code == 0, err
    assert list(json.loads(out)["pools"]) == ["workers", "gpu"]
    code, out, err = cli(box, "plan", target=("--stack", str(stack)))
    assert code == 0, err
    assert "pool gpu: plan: blue -> green (2 node(s)); 2 old node(s), 2 pod(s) to move" in out
    assert "pool workers: ready to cut over" in out


def test_status_without_a_cluster_or_stack_is_one_line() -> None:
    import io

    from bluegreen.cli import main

    err = io.StringIO()
    assert main(["status", "--region", "eu-west-1"], out=io.StringIO(), err=err) == 2
    assert err.getvalue() == "error: status: --cluster is required (or --stack with a stack file that sets it)\n"

