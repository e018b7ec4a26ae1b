"""Engine steps against the whole sandbox (moto + fake Kubernetes API), before any cutover has started."""

from __future__ import annotations

import io
import json

import pytest

from bluegreen.cli import main as cli_main
from bluegreen.engine.api import (
    ClusterTarget,
    GroupSpec,
    LoadBalancerSpec,
    connect,
    drain,
    preflight,
    scale_group,
    status,
    wait_load_balancers_healthy,
    wait_nodes_ready,
)
from bluegreen.engine.connection import local_session
from bluegreen.engine.errors import ConnectError, LoadBalancerTimeout, ReadinessTimeout
from bluegreen.engine.progress import CollectingReporter, GateWaiting, NodeCordoned
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox

# Long enough (simulated) for a first look even on a loaded machine, short enough to keep the tests quick.
FAST = dict(node_ready_timeout_s=60.0, lb_healthy_timeout_s=60.0)


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox.start(load_scenario("small"), speed=40.0)
    yield box
    box.stop()


def groups(box):
    s = box.scenario
    old = GroupSpec(box.cluster_name, box.old_color, s.ami.from_, s.nodes_per_color)
    new = GroupSpec(box.cluster_name, box.new_color, s.ami.to, s.nodes_per_color)
    return old, new


def eks_connection(box):
    # No kubeconfig: DescribeCluster (moto, pointed at the fake API) plus a minted k8s-aws-v1 token.
    return connect(ClusterTarget(box.cluster_name, box.region, aws_endpoint_url=box.aws_endpoint),
                   session=local_session(box.region))


def test_connect_through_describe_cluster_and_a_minted_token(sandbox):
    conn = eks_connection(sandbox)
    colors = {n["metadata"]["labels"].get("bluegreen.io/color") for n in conn.kube.list_nodes()}
    assert colors == {"blue"} and len(conn.kube.nodes_of_color("blue")) == 3
    header = conn.kube.api_client.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    assert header.startswith("Bearer k8s-aws-v1.")


def test_status_reports_both_colors(sandbox):
    report = status(eks_connection(sandbox), sandbox.cluster_name)
    blue, green = report.colors
    assert report.serving == ("blue",)
    assert (blue.desired, blue.nodes, blue.nodes_ready, blue.ami) == (3, 3, 3, sandbox.scenario.ami.from_)
    assert (green.exists, green.desired, green.nodes) == (True, 0, 0)
    assert blue.load_balancer_gaps == ()
    json.dumps(report.to_dict())


def test_readiness_gate_names_what_is_missing_on_timeout(sandbox):
    _, new = groups(sandbox)
    settings = sandbox.scenario.rollout_settings().with_overrides(**FAST)
    reporter = CollectingReporter()
    with pytest.raises(ReadinessTimeout) as info:
        wait_nodes_ready(eks_connection(sandbox), new, settings, reporter, sandbox.clock)
    assert "3 of 3 instance(s) not launched yet (group has 0)" in str(info.value)
    assert reporter.of(GateWaiting)


def test_load_balancer_gate_requires_the_expected_attachments(sandbox):
    _, new = groups(sandbox)
    settings = sandbox.scenario.rollout_settings().with_overrides(**FAST)
    missing = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/elsewhere/0123456789abcdef"
    with pytest.raises(LoadBalancerTimeout, match="not attached to target group elsewhere"):
        wait_load_balancers_healthy(eks_connection(sandbox), new, settings, CollectingReporter(), sandbox.clock,
                                    expected=LoadBalancerSpec(target_group_arns=(missing,)))


def test_drain_refuses_an_unverified_new_group_and_touches_nothing(sandbox):
    old, new = groups(sandbox)
    conn = eks_connection(sandbox)
    settings = sandbox.scenario.rollout_settings().with_overrides(**FAST)
    reporter = CollectingReporter()
    with pytest.raises(ReadinessTimeout):
        drain(conn, old, new, settings, reporter, sandbox.clock)
    assert not reporter.of(NodeCordoned)
    assert not any(n["spec"].get("unschedulable") for n in conn.kube.nodes_of_color("blue"))
    assert sandbox.measurements()["pods_evicted"] == 0


def test_preflight_before_scale_up_estimates_room_from_the_old_nodes(sandbox):
    old, new = groups(sandbox)
    report = preflight(eks_connection(sandbox), old, new, sandbox.scenario.rollout_settings())
    assert report.ok and report.pods_to_move == 5 and len(report.old_nodes) == 3
    assert {m.workload for m in report.moves} == {"Deployment default/web", "StatefulSet default/db"}
    assert any("DaemonSet pod (node-agent)" in s for s in report.staying)
    assert any("not joined yet" in w for w in report.warnings)


def test_cli_plan_and_status_are_read_only(sandbox):
    flags = ["--cluster", sandbox.cluster_name, "--region", sandbox.region, "--aws-endpoint-url",
             sandbox.aws_endpoint, "--kubeconfig", sandbox.kubeconfig_path]
    out = io.StringIO()
    assert cli_main(["plan", *flags, "--json"], out=out) == 0
    plan = json.loads(out.getvalue())
    assert (plan["from"], plan["to"], plan["pods_to_move"], plan["ok"]) == ("blue", "green", 5, True)
    out = io.StringIO()
    assert cli_main(["status", *flags], out=out) == 0
    assert f"cluster {sandbox.cluster_name}: serving blue" in out.getvalue()
    assert not any(n["spec"].get("unschedulable") for n in eks_connection(sandbox).kube.nodes_of_color("blue"))


def test_scale_group_sets_capacity(sandbox):
    conn = eks_connection(sandbox)
    name = f"{sandbox.cluster_name}-workers-green"
    scale_group(conn, name, desired=0, min_size=0, max_size=4)
    group = conn.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert (group["DesiredCapacity"], group["MinSize"], group["MaxSize"]) == (0, 0, 4)


def test_connect_failures_name_the_cluster_and_the_next_step(sandbox, tmp_path):
    with pytest.raises(ConnectError, match="cannot describe EKS cluster nope in .*check the cluster name"):
        connect(ClusterTarget("nope", sandbox.region, aws_endpoint_url=sandbox.aws_endpoint),
                session=local_session(sandbox.region))
    with pytest.raises(ConnectError, match="cannot load kubeconfig .*missing"):
        connect(ClusterTarget("c", sandbox.region, kubeconfig_path=str(tmp_path / "missing")),
                session=local_session(sandbox.region))


def test_ca_file_is_written_once_per_content():
    from bluegreen.engine.connection import _ca_file

    first = _ca_file(b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
    assert first == _ca_file(b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
    assert open(first, "rb").read().startswith(b"-----BEGIN CERTIFICATE-----")


def test_readiness_gate_points_at_a_suspended_launch_process(sandbox):
    _, new = groups(sandbox)
    conn = eks_connection(sandbox)
    conn.autoscaling.suspend_processes(AutoScalingGroupName=new.group_name, ScalingProcesses=["Launch"])
    try:
        settings = sandbox.scenario.rollout_settings().with_overrides(**FAST)
        with pytest.raises(ReadinessTimeout, match="Launch process suspended"):
            wait_nodes_ready(conn, new, settings, CollectingReporter(), sandbox.clock)
    finally:
        conn.autoscaling.resume_processes(AutoScalingGroupName=new.group_name, ScalingProcesses=["Launch"])
