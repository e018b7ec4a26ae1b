"""Sandbox.start and the ticker that ties moto's instances to the fake cluster's nodes."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bluegreen.engine import naming
from bluegreen.sandbox.aws import SandboxBusyError
from bluegreen.sandbox.scenario import ApiErrors, NodeNeverReady, Scenario, TargetUnhealthy, load_scenario
from bluegreen.sandbox.world import IMAGE_LABEL, Sandbox, node_changes

FAST = 50.0  # simulated seconds per real second in these tests


def wait_for(condition: Callable[[], object], sandbox: Sandbox, timeout_real_s: float = 10.0) -> object:
    """Poll ``condition`` until truthy; fail with the sandbox's own errors if it never is."""
    deadline = time.monotonic() + timeout_real_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout_real_s}s real; sandbox errors: {sandbox.errors}")


def nodes_of(sandbox: Sandbox, color: str) -> list[dict]:
    with sandbox.cluster.lock:
        return [n for n in sandbox.cluster.list("nodes") if n["metadata"]["labels"].get(naming.COLOR_LABEL) == color]


def is_ready(obj: dict) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions") or []
    )


def group(sandbox: Sandbox, color: str) -> dict:
    found = sandbox.aws_client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[sandbox.group_name(color)]
    )
    return found["AutoScalingGroups"][0]


def target_states(sandbox: Sandbox) -> dict[str, str]:
    (arn,) = sandbox.target_group_arns
    found = sandbox.aws_client("elbv2").describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in found}


def scale(sandbox: Sandbox, color: str, desired: int) -> None:
    sandbox.aws_client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=sandbox.group_name(color),
        MinSize=desired,
        MaxSize=max(desired, 1),
        DesiredCapacity=desired,
    )


@pytest.fixture
def small() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(load_scenario("small"), speed=FAST)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def start_with(faults: tuple, **changes: object) -> Sandbox:
    scenario: Scenario = replace(load_scenario("small"), faults=faults, **changes)
    return Sandbox.start(scenario, speed=FAST)


def test_six_nodes_starts_in_under_five_seconds_fully_settled() -> None:
    scenario = load_scenario("six-nodes")
    began = time.monotonic()
    sandbox = Sandbox.start(scenario)
    elapsed = time.monotonic() - began
    try:
        assert elapsed < 5.0, f"Sandbox.start took {elapsed:.2f}s"
        blue = nodes_of(sandbox, "blue")
        assert len(blue) == 6 and nodes_of(sandbox, "green") == []
        instances = {
            i["InstanceId"]: i
            for r in sandbox.aws_client("ec2").describe_instances(
                InstanceIds=[i["InstanceId"] for i in group(sandbox, "blue")["Instances"]]
            )["Reservations"]
            for i in r["Instances"]
        }
        assert len(instances) == 6
        for node in blue:
            iid = naming.instance_id_from_provider_id(node["spec"]["providerID"])
            instance = instances[iid]
            zone = instance["Placement"]["AvailabilityZone"]
            assert node["spec"]["providerID"] == naming.provider_id(zone, iid)
            assert node["metadata"]["name"] == instance["PrivateDnsName"]
            labels = node["metadata"]["labels"]
            assert labels[naming.COLOR_LABEL] == "blue"
            assert labels["kubernetes.io/hostname"] == instance["PrivateDnsName"]
            assert labels["topology.kubernetes.io/zone"] == zone
            assert labels["node.kubernetes.io/instance-type"] == scenario.node.instance_type
            assert labels[IMAGE_LABEL] == scenario.ami.from_
            assert node["status"]["capacity"]["cpu"] == scenario.node.cpu
            assert is_ready(node)
        assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in blue} == {"eu-west-1a", "eu-west-1b"}
        with sandbox.cluster.lock:
            pods = sandbox.cluster.list("pods")
        expected = 6 + 4 + 3 + 6 + 1  # web, api, db, one agent per node, the bare pod
        assert len(pods) == expected and all(is_ready(p) for p in pods)
        assert set(target_states(sandbox).values()) == {"healthy"}
        (elb,) = sandbox.classic_elb_names
        health = sandbox.aws_client("elb").describe_instance_health(LoadBalancerName=elb)["InstanceStates"]
        assert {h["State"] for h in health} == {"InService"} and len(health) == 6
        assert sandbox.errors == []
    finally:
        sandbox.stop()


def test_aws_is_arranged_as_the_engine_expects(small: Sandbox) -> None:
    scenario = small.scenario
    cluster = small.aws_client("eks").describe_cluster(name=small.cluster_name)["cluster"]
    assert cluster["endpoint"] == small.kube_url
    for color, size in (("blue", scenario.nodes_per_color), ("green", 0)):
        found = group(small, color)
        assert found["DesiredCapacity"] == size and found["MinSize"] == size
        assert found["TargetGroupARNs"] == small.target_group_arns
        assert found["LoadBalancerNames"] == small.classic_elb_names
        tags = {t["Key"]: t["Value"] for t in found["Tags"]}
        assert tags[naming.CLUSTER_TAG] == small.cluster_name and tags[naming.COLOR_TAG] == color
        assert tags[f"kubernetes.io/cluster/{small.cluster_name}"] == "owned"
        versions = small.aws_client("ec2").describe_launch_template_versions(
            LaunchTemplateName=naming.launch_template_name(small.cluster_name, color), Versions=["$Default"]
        )["LaunchTemplateVersions"]
        assert versions[0]["LaunchTemplateData"]["ImageId"] == scenario.ami.from_
    images = small.aws_client("ec2").describe_images(ImageIds=[scenario.ami.from_, scenario.ami.to])["Images"]
    assert len(images) == 2
    measured = small.measurements()
    assert measured["api_requests"]["kubernetes"] == 0
    assert measured["api_requests"]["aws"] == sum(measured["aws_requests"].values()) > 0  # the calls just made
    assert measured["aws_requests"]["autoscaling"] >= 2 and measured["aws_requests"]["eks"] == 1
    assert "lowest_availability" in measured and measured["pods_evicted"] == 0


def test_new_instances_join_after_join_seconds_and_targets_turn_healthy(small: Sandbox) -> None:
    scenario = small.scenario
    began = small.clock.now()
    scale(small, "green", 3)
    green_ids = {i["InstanceId"] for i in group(small, "green")["Instances"]}
    assert len(green_ids) == 3
    assert {target_states(small)[i] for i in green_ids} == {"initial"}
    nodes = wait_for(lambda: len(nodes_of(small, "green")) == 3 and nodes_of(small, "green"), small)
    joined_after = small.clock.now() - began
    assert joined_after >= scenario.join_seconds
    assert joined_after < scenario.join_seconds + 10, "nodes should join soon after join_seconds"
    assert {naming.instance_id_from_provider_id(n["spec"]["providerID"]) for n in nodes} == green_ids
    assert all(is_ready(n) for n in nodes)
    assert {n["metadata"]["labels"][IMAGE_LABEL] for n in nodes} == {scenario.ami.from_}
    wait_for(lambda: {target_states(small)[i] for i in green_ids} == {"healthy"}, small)
    assert small.clock.now() - began >= scenario.load_balancers.healthy_after_seconds
    # the DaemonSet follows the new nodes
    wait_for(lambda: small.cluster.get("daemonsets", "kube-system", "node-agent")["status"]["numberReady"] == 6, small)


def test_old_group_to_zero_removes_its_nodes_and_deregisters_its_targets(small: Sandbox) -> None:
    scale(small, "green", 3)
    wait_for(lambda: len(nodes_of(small, "green")) == 3, small)
    blue_ids = {i["InstanceId"] for i in group(small, "blue")["Instances"]}
    scale(small, "blue", 0)
    wait_for(lambda: nodes_of(small, "blue") == [], small)
    assert not blue_ids & set(target_states(small))
    (elb,) = small.classic_elb_names
    health = small.aws_client("elb").describe_instance_health(LoadBalancerName=elb)["InstanceStates"]
    assert not blue_ids & {h["InstanceId"] for h in health}
    # the controllers re-create the lost pods on the green nodes
    wait_for(lambda: small.cluster.get("deployments", "default", "web")["status"].get("readyReplicas") == 3, small)
    assert small.errors == []


def test_node_never_ready_fault_keeps_the_first_new_node_not_ready() -> None:
    sandbox = start_with((NodeNeverReady(count=1),))
    try:
        assert all(is_ready(n) for n in nodes_of(sandbox, "blue"))
        scale(sandbox, "green", 3)
        nodes = wait_for(lambda: len(nodes_of(sandbox, "green")) == 3 and nodes_of(sandbox, "green"), sandbox)
        first = group(sandbox, "green")["Instances"]
        assert sorted(is_ready(n) for n in nodes) == [False, True, True]
        (broken,) = [n for n in nodes if not is_ready(n)]
        assert naming.instance_id_from_provider_id(broken["spec"]["providerID"]) in {i["InstanceId"] for i in first}
        time.sleep(0.2)
        assert not is_ready(sandbox.cluster.get("nodes", None, broken["metadata"]["name"])), "it stays NotReady"
    finally:
        sandbox.stop()


def test_target_unhealthy_fault_hits_one_new_target_only() -> None:
    sandbox = start_with((TargetUnhealthy(count=1),))
    try:
        assert set(target_states(sandbox).values()) == {"healthy"}  # the old color is unaffected
        began = sandbox.clock.now()
        scale(sandbox, "green", 3)
        green = {i["InstanceId"] for i in group(sandbox, "green")["Instances"]}
        settled = began + sandbox.scenario.load_balancers.healthy_after_seconds + 5
        wait_for(lambda: sandbox.clock.now() > settled, sandbox)
        states = sorted(target_states(sandbox)[i] for i in green)
        assert states == ["healthy", "healthy", "unhealthy"]
    finally:
        sandbox.stop()


def test_faults_with_color_old_hit_the_serving_color_from_the_start() -> None:
    sandbox = start_with((NodeNeverReady(count=1, color="old"), TargetUnhealthy(count=1, color="old")))
    try:
        assert sorted(is_ready(n) for n in nodes_of(sandbox, "blue")) == [False, True, True]
        assert sorted(target_states(sandbox).values()) == ["healthy", "healthy", "unhealthy"]
        scale(sandbox, "green", 2)
        wait_for(lambda: len(nodes_of(sandbox, "green")) == 2, sandbox)
        assert all(is_ready(n) for n in nodes_of(sandbox, "green")), "the new color is not affected"
    finally:
        sandbox.stop()


def test_api_errors_fault_starts_after_setup() -> None:
    sandbox = start_with((ApiErrors(rate=0.5, status=503, seed=1),))
    try:
        statuses = []
        for _ in range(40):
            try:
                with urllib.request.urlopen(f"{sandbox.kube_url}/api/v1/nodes", timeout=5) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        assert set(statuses) == {200, 503}
        assert len(nodes_of(sandbox, "blue")) == 3  # setup itself was not disturbed
        assert sandbox.measurements()["kubernetes_requests"]["errors_injected"] == statuses.count(503)
    finally:
        sandbox.stop()


def test_clients_reach_both_servers(small: Sandbox) -> None:
    from kubernetes import client as k8s

    api_client = small.kube_api_client()
    try:
        nodes = k8s.CoreV1Api(api_client).list_node(label_selector=f"{naming.COLOR_LABEL}=blue").items
        assert len(nodes) == 3
    finally:
        api_client.close()
    assert Path(small.kubeconfig_path).is_file()
    assert small.aws_endpoint.startswith("http://127.0.0.1:")
    assert small.kube_url.startswith("http://127.0.0.1:")


def test_stop_cleans_up_and_another_sandbox_can_start() -> None:
    first = Sandbox.start(load_scenario("small"), speed=FAST)
    with pytest.raises(SandboxBusyError):
        Sandbox.start(load_scenario("small"), speed=FAST)
    workdir = first.workdir
    first.stop()
    first.stop()  # idempotent
    assert not Path(workdir).exists()
    with Sandbox.start(load_scenario("small"), speed=FAST) as second:
        assert len(nodes_of(second, "blue")) == 3


def test_node_changes_decides_joins_and_leaves_from_plain_data() -> None:
    from bluegreen.sandbox.aws import GroupInstance
    from bluegreen.sandbox.world import WorkerInstance

    def worker(iid: str, state: str = "running") -> WorkerInstance:
        instance = GroupInstance("g", iid, "eu-west-1a", f"{iid}.internal", "m5", "ami-1", "InService", state)
        return WorkerInstance("green", instance)

    workers = [worker("i-new"), worker("i-young"), worker("i-joined"), worker("i-stopping", "shutting-down")]
    changes = node_changes(
        workers,
        joined={"i-joined": "i-joined.internal", "i-stopping": "i-stopping.internal", "i-gone": "i-gone.internal"},
        first_seen={"i-new": 0.0, "i-young": 25.0},
        now=30.0,
        join_seconds=20.0,
    )
    assert [w.instance.instance_id for w in changes.joins] == ["i-new"]
    assert sorted(changes.leaves) == [("i-gone", "i-gone.internal"), ("i-stopping", "i-stopping.internal")]
