"""The rollback's own decisions: uncordon the old nodes the drain marked, drain back, then name the outcome."""

from __future__ import annotations

import pytest

from bluegreen.engine.errors import EvictionBlocked, RollbackFailed, RolledBack, SignalFailed
from bluegreen.engine.groups import GroupSpec
from bluegreen.engine.naming import DRAIN_STATE_ANNOTATION
from bluegreen.engine.progress import CollectingReporter, NodesUncordoned, RollbackFinished, RollbackStarted
from bluegreen.engine.rollback import roll_back
from bluegreen.engine.signals import SignalFailure, SignalKind


class Kube:
    def __init__(self) -> None:
        self.nodes = [
            {"metadata": {"name": "b1", "annotations": {DRAIN_STATE_ANNOTATION: "drained"}},
             "spec": {"unschedulable": True}},
            {"metadata": {"name": "b2", "annotations": {}}, "spec": {"unschedulable": True}},  # kubectl cordon
        ]
        self.patched: list[str] = []

    def nodes_of_color(self, color, pool=None):
        return self.nodes

    def patch_node(self, name, patch, missing_ok=False):
        self.patched.append(name)


class Clock:
    def now(self) -> float:
        return 0.0


class State:
    evicted = ["default/web-1"]


class Run:
    def __init__(self) -> None:
        self.kube = Kube()
        self.conn = None
        self.reporter = CollectingReporter()
        self.clock = Clock()
        self.old = GroupSpec("prod", "blue", "ami-0aaaaaaaaaaaaaaaa", 0)
        self.new = GroupSpec("prod", "green", "ami-0bbbbbbbbbbbbbbbb", 3)
        self.reversed_runs = 0

    def reversed(self):
        self.reversed_runs += 1
        return "the run the other way"


FAILED = SignalFailed((SignalFailure(SignalKind.ALARM, "web-5xx", "Threshold Crossed"),), "after node b1")


def test_a_rollback_uncordons_only_the_drains_nodes_drains_back_and_says_so() -> None:
    run = Run()
    drained_back = []
    with pytest.raises(RolledBack, match="pulumi config set activeAmi ami-0aaaaaaaaaaaaaaaa") as caught:
        roll_back(run, FAILED, lambda back: drained_back.append(back) or State())
    assert run.kube.patched == ["b1"]  # b2 was cordoned by someone else: left alone
    assert drained_back == ["the run the other way"]
    assert "CloudWatch alarm web-5xx is in ALARM (Threshold Crossed)" in str(caught.value)
    assert [type(e) for e in run.reporter.events] == [RollbackStarted, NodesUncordoned, RollbackFinished]


def test_a_rollback_that_cannot_proceed_names_both_failures() -> None:
    def blocked(back):
        raise EvictionBlocked("default/web-1", "default/web", 300.0)

    with pytest.raises(RollbackFailed, match="(?s)rollback onto prod-workers-blue could not complete.*web-5xx"
                                             ".*refused by PodDisruptionBudget default/web"):
        roll_back(Run(), FAILED, blocked)
