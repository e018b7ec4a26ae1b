"""Kubernetes Events on the nodes a cutover touches: a drain that rolls back (a real health command failing after
the first node) leaves BlueGreen* Events that the API lists by node and `kubectl describe node` shows, and posts its
start and its rollback to rollout.notifyUrl (a loopback server)."""

from __future__ import annotations

import subprocess

import pytest

from bluegreen.engine.api import ClusterTarget, GroupSpec, connect, drain, wait_load_balancers_healthy, wait_nodes_ready
from bluegreen.engine.connection import local_session
from bluegreen.engine.errors import RolledBack
from bluegreen.engine.node_events import COMPONENT, node_events
from bluegreen.engine.progress import CollectingReporter, NodeCordoned, NodeDrained, RollbackStarted
from bluegreen.rehearsal import program_step
from bluegreen.sandbox.scenario import load_scenario
from bluegreen.sandbox.world import Sandbox
from tests.integration.sandbox.kube_fixtures import KUBECTL
from tests.unit.engine.test_notify import Hook


def test_node_events_mapping_marks_the_rollback() -> None:
    assert [(e.node, e.reason) for e in node_events(NodeCordoned("n1"), False)] == [("n1", "BlueGreenCordon")]
    drained = node_events(NodeDrained("n1", 1, 3, 2, 12.0), True)
    assert [(e.reason, e.type) for e in drained] == [("BlueGreenRollback", "Warning")]
    assert drained[0].message == "Rollback: Drained (1/3): 2 pod(s) moved in 12s"
    assert node_events(RollbackStarted("a", "b", "why"), False) == []


def test_a_rolled_back_drain_leaves_events_on_every_node_it_touched() -> None:
    scenario = load_scenario("small")
    box = Sandbox.start(scenario, speed=40.0)
    try:
        conn = connect(ClusterTarget(box.cluster_name, box.region, box.aws_endpoint, box.kubeconfig_path),
                       session=local_session(box.region))
        old = GroupSpec(box.cluster_name, "blue", scenario.ami.from_, 3)
        new = GroupSpec(box.cluster_name, "green", scenario.ami.to, 3)
        command = 'test "$BLUEGREEN_CHECK" = "before the first eviction" || { echo "checkout 502"; exit 2; }'
        program_step(conn, box.cluster_name, "green", scenario.ami.to, 3)
        with Hook() as hook:
            settings = scenario.rollout_settings().with_overrides(health_command=command, notify_url=hook.url)
            wait_nodes_ready(conn, new, settings, CollectingReporter(), box.clock)
            wait_load_balancers_healthy(conn, new, settings, CollectingReporter(), box.clock,
                                        like_group=old.group_name)
            with pytest.raises(RolledBack, match="checkout 502"):
                drain(conn, old, new, settings, CollectingReporter(), box.clock)
        assert [b["event"] for b in hook.bodies] == ["start", "rollback"]  # rollout.notifyUrl: one POST each
        assert "checkout 502" in hook.bodies[1]["text"] and "rolled back onto" in hook.bodies[1]["text"]
        events = conn.kube.request("GET", "/api/v1/namespaces/default/events").body["items"]
        ours = [e for e in events if e.get("source", {}).get("component") == COMPONENT]
        by_node: dict[str, list[str]] = {}
        for event in ours:
            assert event["involvedObject"]["kind"] == "Node"
            by_node.setdefault(event["involvedObject"]["name"], []).append(event["reason"])
        blue = [n["metadata"]["name"] for n in conn.kube.nodes_of_color("blue")]
        green = [n["metadata"]["name"] for n in conn.kube.nodes_of_color("green")]
        # Blue: cordoned by the drain, one drained, then uncordoned by the rollback; green: every step a rollback's.
        assert all({"BlueGreenCordon", "BlueGreenRollback"} <= set(by_node[n]) for n in blue), by_node
        assert sum("BlueGreenDrained" in by_node[n] for n in blue) == 1, by_node
        assert all(set(by_node[n]) == {"BlueGreenRollback"} for n in green), by_node
        if KUBECTL is not None:
            described = subprocess.run([KUBECTL, "--kubeconfig", box.kubeconfig_path, "describe", "node", green[0]],
                                       capture_output=True, text=True, timeout=60)
            assert described.returncode == 0, described.stderr
            assert "BlueGreenRollback" in described.stdout and COMPONENT in described.stdout
    finally:
        box.stop()
