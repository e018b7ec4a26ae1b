"""Health signals end to end: an alarm (moto's CloudWatch) or a real health command fails during a rehearsal, and
the cutover rolls back (or is refused before anything changes), with every workload whole and every budget kept."""

from __future__ import annotations

import pytest
import yaml

from bluegreen.engine.progress import (
    CollectingReporter,
    GroupGuarded,
    NodeCordoned,
    PodEvicted,
    RollbackFinished,
    RollbackStarted,
    SignalChecked,
)
from bluegreen.rehearsal import ExitCode, rehearse
from bluegreen.sandbox.scenario import ScenarioError, parse_scenario
from tests.e2e.rehearsing import SPEED, run
from tests.e2e.test_runs import BUILTIN, assert_serving


def assert_rolled_back(report, reporter) -> None:
    assert report.result == "rolled_back", report.error
    assert report.exit_code == ExitCode.STOPPED and report.to_dict()["exit_code"] == 1
    assert_serving(report, "blue")
    assert report.budget_violations == [], report.budget_violations
    assert len(report.cordoned_on("green")) == 3, report.cordoned_nodes  # the new group, cordoned at its size
    assert report.new_color_capacity["desired"] == 3 and report.old_color_capacity["desired"] == 3
    assert reporter.of(RollbackStarted) and reporter.of(RollbackFinished)
    assert "rolled back onto sandbox-workers-blue, which serves again" in report.error
    assert "pulumi config set activeAmi ami-0aaaaaaaaaaaaaaaa" in report.error


def test_alarm_after_the_first_node_rolls_back():
    report, reporter = run("alarm-after-first-node")
    assert_rolled_back(report, reporter)
    assert "CloudWatch alarm sandbox-web-5xx is in ALARM (Threshold Crossed" in report.error
    assert "failed after node" in report.error
    checks = reporter.of(SignalChecked)
    assert checks[0].when == "before the first eviction" and not checks[0].failed
    assert checks[1].failed and len(checks) == 2  # the rollback's own drain watches no signal


def test_alarm_during_the_bake_rolls_back():
    report, reporter = run("alarm-during-bake")
    assert_rolled_back(report, reporter)
    assert "failed during the bake" in report.error
    # Every old node had been drained before the bake; all of them took their pods back.
    assert report.runs[0].nodes_drained[:3] and len(report.runs[0].nodes_drained) == 6


def test_an_alarm_already_firing_refuses_before_anything_changes():
    report, reporter = run("alarm-already-firing")
    assert report.result == "failed" and report.exit_code == ExitCode.STOPPED
    assert "the cutover is refused and nothing was changed" in report.error
    assert "CloudWatch alarm sandbox-web-5xx is in ALARM" in report.error
    assert not reporter.of(NodeCordoned) and not reporter.of(PodEvicted) and not reporter.of(GroupGuarded)
    assert report.pods_evicted == 0 and report.cordoned_nodes == []
    assert_serving(report, "blue")


def test_a_failing_health_command_rolls_back_with_its_output():
    report, reporter = run("health-command-fails")
    assert_rolled_back(report, reporter)
    assert "exited 3; its last output:\n    | smoke test: GET /checkout returned 502 on green" in report.error


def test_on_signal_failure_stop_stops_without_moving_back():
    document = yaml.safe_load((BUILTIN / "alarm-after-first-node.yaml").read_text())
    document["rollout"]["onSignalFailure"] = "stop"
    reporter = CollectingReporter()
    report = rehearse(parse_scenario(document, source="stop.yaml"), speed=SPEED, reporter=reporter)
    assert report.result == "failed" and "the drain stopped (rollout.onSignalFailure=stop)" in report.error
    assert not reporter.of(RollbackStarted)
    assert report.pods_lost == [] and report.budget_violations == []
    assert len(report.cordoned_on("blue")) == 3  # nothing moved back: the old nodes keep their cordon


def test_an_alarm_fault_must_name_a_watched_alarm():
    document = yaml.safe_load((BUILTIN / "alarm-after-first-node.yaml").read_text())
    document["faults"] = [{"kind": "alarm", "name": "typo", "at": "after_first_node"}]
    with pytest.raises(ScenarioError, match=r"faults\[0\].name.*'typo' is not one of rollout.alarms"):
        parse_scenario(document, source="typo.yaml")


def test_pods_never_ready_on_the_new_ami_roll_back_through_the_workload_health_gate():
    report, reporter = run("never-ready-after-move")
    assert_rolled_back(report, reporter)
    assert "workload health gate: Deployment default/web not fully available" in report.error
    assert not reporter.of(SignalChecked)  # no alarm, no command: the gate alone decided


def test_a_never_ready_fault_must_name_a_workload():
    document = yaml.safe_load((BUILTIN / "never-ready-after-move.yaml").read_text())
    document["faults"] = [{"kind": "never_ready_after_move", "workload": "nope"}]
    with pytest.raises(ScenarioError, match=r"faults\[0\].workload.*'default/nope' is not a workload of this scenario"):
        parse_scenario(document, source="nope.yaml")
