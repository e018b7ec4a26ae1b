"""The drain facade on the sandbox: guards held while it drains and lifted after, report shape, re-run."""

from __future__ import annotations

import json

import pytest

from bluegreen.engine.api import (
    ClusterTarget,
    GroupSpec,
    connect,
    drain,
    status,
    wait_load_balancers_healthy,
    wait_nodes_ready,
)
from bluegreen.engine.connection import local_session
from bluegreen.engine.naming import CA_SCALE_DOWN_DISABLED, DRAIN_STATE_ANNOTATION
from bluegreen.engine.progress import CollectingReporter, NodeDrained, NodesUncordoned, PodEvicted
from bluegreen.rehearsal import program_step
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox
from tests.integration.engine.kube_world import Crash, CrashAt


class Probe(CollectingReporter):
    """At the first eviction, looks at what the guards should be holding."""

    def __init__(self, conn, old_group: str) -> None:
        super().__init__()
        self.conn, self.old_group, self.seen = conn, old_group, None

    def emit(self, event) -> None:
        super().emit(event)
        if isinstance(event, PodEvicted) and self.seen is None:
            group = self.conn.autoscaling.describe_auto_scaling_groups(
                AutoScalingGroupNames=[self.old_group])["AutoScalingGroups"][0]
            green = self.conn.kube.nodes_of_color("green")
            blue = self.conn.kube.nodes_of_color("blue")
            self.seen = {
                "suspended": {p["ProcessName"] for p in group.get("SuspendedProcesses") or []},
                "protected": sum(CA_SCALE_DOWN_DISABLED in (n["metadata"].get("annotations") or {}) for n in green),
                "cordoned": sum(bool(n["spec"].get("unschedulable")) for n in blue),
            }


def test_drain_guards_cordons_all_first_and_cleans_up():
    scenario = load_scenario("small")
    box = Sandbox.start(scenario, speed=40.0)
    try:
        conn = connect(ClusterTarget(box.cluster_name, box.region, box.aws_endpoint, box.kubeconfig_path),
                       session=local_session(box.region))
        old = GroupSpec(box.cluster_name, "blue", scenario.ami.from_, 3)
        new = GroupSpec(box.cluster_name, "green", scenario.ami.to, 3)
        settings = scenario.rollout_settings()
        program_step(conn, box.cluster_name, "green", scenario.ami.to, 3)
        ready = wait_nodes_ready(conn, new, settings, CollectingReporter(), box.clock)
        assert len(ready.nodes) == 3
        wait_load_balancers_healthy(conn, new, settings, CollectingReporter(), box.clock, like_group=old.group_name)
        probe = Probe(conn, old.group_name)
        report = drain(conn, old, new, settings, probe, box.clock)
        assert probe.seen == {"suspended": {"Launch", "AZRebalance"}, "protected": 3, "cordoned": 3}
        data = report.to_dict()
        json.dumps(data)
        assert len(data["nodes_drained"]) == 3 and data["pods_evicted"] == 5 == len(data["evicted_pods"])
        group = conn.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[old.group_name])["AutoScalingGroups"][0]
        assert not group.get("SuspendedProcesses")
        assert not any(CA_SCALE_DOWN_DISABLED in (n["metadata"].get("annotations") or {})
                       for n in conn.kube.nodes_of_color("green"))
        # A re-run (pulumi up again before the old group is scaled down) recognises the finished work.
        again = drain(conn, old, new, settings, CollectingReporter(), box.clock)
        assert again.nodes_drained == () and len(again.nodes_already_drained) == 3 and again.pods_evicted == ()
        measured = box.measurements()
        assert measured["pods_evicted"] == 5 and measured["pod_moves_per_evicted_pod"] == 1.0
        assert measured["budget_violations"] == [] or all(v["kind"] == "DaemonSet"
                                                          for v in measured["budget_violations"])
    finally:
        box.stop()


def test_going_back_mid_cutover_leaves_nothing_cordoned_on_the_serving_color():
    scenario = load_scenario("small")
    box = Sandbox.start(scenario, speed=40.0)
    try:
        conn = connect(ClusterTarget(box.cluster_name, box.region, box.aws_endpoint, box.kubeconfig_path),
                       session=local_session(box.region))
        blue = GroupSpec(box.cluster_name, "blue", scenario.ami.from_, 3)
        green = GroupSpec(box.cluster_name, "green", scenario.ami.to, 3)
        settings = scenario.rollout_settings()
        program_step(conn, box.cluster_name, "green", scenario.ami.to, 3)
        # blue -> green, killed after its first node: every blue node cordoned, some pods already on green.
        with pytest.raises(Crash):
            drain(conn, blue, green, settings, CrashAt(lambda e, _: isinstance(e, NodeDrained)), box.clock)
        assert all(n["spec"].get("unschedulable") for n in conn.kube.nodes_of_color("blue"))
        # Going back (activeAmi set to the old AMI): a drain green -> blue. Its readiness gate reclaims blue first.
        reporter = CollectingReporter()
        report = drain(conn, green, blue, settings, reporter, box.clock)
        assert report.result == "ok" and report.forced == ()
        reclaimed = [e for e in reporter.of(NodesUncordoned) if e.color == "blue"]
        assert len(reclaimed) == 1 and len(reclaimed[0].nodes) == 3
        for node in conn.kube.nodes_of_color("blue"):
            assert not node["spec"].get("unschedulable")
            assert DRAIN_STATE_ANNOTATION not in (node["metadata"].get("annotations") or {})
        assert {w: (r, d) for w, r, d in report.verified} == {"Deployment default/web": (3, 3),
                                                              "StatefulSet default/db": (2, 2)}
        apps = [p for p in conn.kube.list_pods() if p["metadata"]["ownerReferences"][0]["kind"] != "DaemonSet"]
        blue_nodes = {n["metadata"]["name"] for n in conn.kube.nodes_of_color("blue")}
        assert apps and all(p["spec"]["nodeName"] in blue_nodes for p in apps)
        now = status(conn, box.cluster_name)
        assert now.serving == ("blue",) and now.below_desired == ()
        assert now.to_dict()["cordoned_nodes"] == sorted(n["metadata"]["name"]
                                                          for n in conn.kube.nodes_of_color("green"))
        measured = box.measurements()
        assert measured["pods_lost"] == []
    finally:
        box.stop()
