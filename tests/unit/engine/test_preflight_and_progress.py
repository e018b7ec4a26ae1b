"""Preflight over a plain cluster view; progress reporters."""

from __future__ import annotations

import io

from bluegreen.engine.budgets import budget_from_json
from bluegreen.engine.nodes import node_from_json
from bluegreen.engine.pods import pod_from_json
from bluegreen.engine.preflight import plan_drain
from bluegreen.engine.progress import (
    CollectingReporter,
    FanOutReporter,
    GateWaiting,
    NodeDrained,
    PodEvicted,
    PrintReporter,
)
from bluegreen.engine.settings import RolloutSettings
from bluegreen.engine.view import ClusterView
from tests.unit.engine.test_decisions import node_json, pod_json


class StepClock:
    def __init__(self):
        self.t = 0.0

    def now(self):
        return self.t

    def sleep(self, s):
        self.t += s


def view(pods, budgets=(), new_nodes=2):
    old = [node_from_json(node_json(f"old{i}", f"i-o{i}", color="blue")) for i in range(2)]
    new = [node_from_json(node_json(f"new{i}", f"i-n{i}")) for i in range(new_nodes)]
    return ClusterView(tuple(old), tuple(new), tuple(pod_from_json(p) for p in pods),
                       tuple(budget_from_json(b) for b in budgets), {("default", "web-abc"): ("Deployment", "web")})


def pdb(name, selector, **spec):
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"selector": {"matchLabels": selector}, **spec}}


def test_clean_plan_groups_pods_by_workload_and_lists_what_stays():
    pods = [pod_json("web-abc-1", node="old0"), pod_json("web-abc-2", node="old1"),
            pod_json("agent-1", node="old0", owner=("DaemonSet", "agent")),
            pod_json("web-abc-3", node="new0")]
    report = plan_drain(view(pods, [pdb("web", {"app": "web"}, minAvailable=1)]), RolloutSettings(), new_desired=2)
    assert report.ok and report.pods_to_move == 2
    assert report.moves[0].workload == "Deployment default/web"
    assert report.moves[0].budget == "PodDisruptionBudget default/web"
    assert report.staying == ("default/agent-1: DaemonSet pod (agent)",)
    assert report.to_dict()["room"]["cpu_needed_m"] == 200


def test_a_budget_over_bare_pods_only_blocks_even_when_they_may_be_evicted():
    # The disruption controller counts controllers' scale for maxUnavailable: a bare pod is not expected, so its
    # budget allows nothing, ever; an integer minAvailable counts the pods themselves and works.
    pods = [pod_json("bare", node="old0", owner=None, labels={"app": "bare"})]
    settings = RolloutSettings(unmanaged_pods="evict")
    blocked = plan_drain(view(pods, [pdb("bare", {"app": "bare"}, maxUnavailable=1)]), settings, new_desired=2)
    assert "PodDisruptionBudget default/bare (maxUnavailable 1) selects only pods without a controller" in "\n".join(
        blocked.blockers)
    pods.append(pod_json("bare-2", node="old1", owner=None, labels={"app": "bare"}))
    fine = plan_drain(view(pods, [pdb("bare", {"app": "bare"}, minAvailable=1)]), settings, new_desired=2)
    assert fine.ok, fine.blockers


def test_every_blocker_is_reported_at_once():
    pods = [pod_json("web-abc-1", node="old0"), pod_json("web-abc-2", node="old1"),
            pod_json("bare", node="old0", owner=None, labels={"app": "bare"}),
            pod_json("big", node="old1", owner=("StatefulSet", "db"), labels={"app": "db"}, cpu="10")]
    budgets = [pdb("web-strict", {"app": "web"}, maxUnavailable=0), pdb("db-a", {"app": "db"}, minAvailable=0),
               pdb("db-b", {"app": "db"}, minAvailable=0)]
    report = plan_drain(view(pods, budgets), RolloutSettings(), new_desired=2)
    text = "\n".join(report.blockers)
    assert not report.ok
    assert "pod default/bare has no controller" in text
    assert "PodDisruptionBudget default/web-strict (maxUnavailable 0, 2 pod(s)) allows no disruption" in text
    assert "pod default/big is covered by 2 PodDisruptionBudgets (default/db-a, default/db-b)" in text
    assert ("pod default/big (StatefulSet default/db) would fit on no new node: 0/2 nodes are available: "
            "2 Insufficient cpu. Next: raise workers.desiredCapacity") in text


def test_room_is_estimated_from_old_nodes_before_the_new_ones_join():
    pods = [pod_json("web-abc-1", node="old0", cpu="1500m")]
    report = plan_drain(view(pods, new_nodes=0), RolloutSettings(), new_desired=1)
    assert report.ok and report.cpu_free_m == 2000
    assert any("not joined yet" in w for w in report.warnings)
    short = plan_drain(view([pod_json("web-abc-1", node="old0", cpu="3")], new_nodes=0), RolloutSettings(),
                       new_desired=1)
    assert short.blockers == (
        "pod default/web-abc-1 (Deployment default/web) would fit on no new node: 0/1 nodes are available: "
        "1 Insufficient cpu. Next: raise workers.desiredCapacity or use a larger instance type",)


def test_print_reporter_lines_and_dedup():
    out = io.StringIO()
    clock = StepClock()
    printer = PrintReporter(out, clock)
    collect = CollectingReporter()
    fan = FanOutReporter(printer, collect)
    waiting = GateWaiting("nodes-ready", "c-workers-green", 1, 3, ("instance i-1: not joined",))
    fan.emit(waiting)
    fan.emit(waiting)
    clock.sleep(12.5)
    fan.emit(PodEvicted("default/web-1", "old0", "Deployment default/web"))
    fan.emit(NodeDrained("old0", 1, 3, 4, 30.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("nodes-ready c-workers-green: 1/3 ready, waiting: instance i-1: not joined")
    assert lines[1].startswith("[   12.5s] evicted default/web-1")
    assert "drained old0 (1/3): 4 pod(s) moved in 30s" in lines[2]
    assert len(collect.events) == 4 and len(collect.of(PodEvicted)) == 1
    assert collect.events[2].to_dict()["event"] == "PodEvicted"


def test_print_reporter_repeats_an_unchanged_wait_as_a_heartbeat():
    out = io.StringIO()
    clock = StepClock()
    printer = PrintReporter(out, clock, heartbeat_s=60)
    waiting = GateWaiting("load-balancers", "c-workers-green", 0, 2, ("i-1: initial",))
    for _ in range(5):  # polls every 20 s: printed at 0 s and again once 60 s have passed
        printer.emit(waiting)
        clock.sleep(20)
    lines = out.getvalue().splitlines()
    assert [line[:10] for line in lines] == ["[    0.0s]", "[   60.0s]"]
