"""Operator sequences (a scenario's ``runs:``), each checked on the final state the sandbox measured: which color
serves the workloads, every workload back at desired, no node of the serving color cordoned, no pod lost, and the
exit code `rehearse` would return (issue 9).

Every rehearsal costs seconds of real time, so the scenarios are small (two nodes per color) and fast (speed 40).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from bluegreen.rehearsal import CRASH_POINTS, ExitCode, rehearse, run_rehearsal
from bluegreen.sandbox.scenario import load_scenario, parse_scenario

SPEED = 40.0
BUILTIN = Path(__file__).resolve().parents[2] / "bluegreen" / "sandbox" / "scenarios"


def with_runs(base: str, runs: list[dict], name: str):
    document = yaml.safe_load((BUILTIN / f"{base}.yaml").read_text())
    document.update(name=name, runs=runs)
    return parse_scenario(document, source=f"{name}.yaml")


def assert_at_desired(report) -> None:
    assert report.final_state_error is None
    assert report.final_availability, "no workload measured"
    below = {k: v for k, v in report.final_availability.items() if v["ready"] != v["desired"] or v["pending"]}
    assert below == {}, (below, [a.error for a in report.runs])


def assert_serving(report, color: str) -> None:
    assert report.serving_color == color, (report.serving_detail, [a.error for a in report.runs])
    assert_at_desired(report)
    assert report.cordoned_on(color) == [], report.cordoned_nodes
    assert report.pods_lost == [], report.pods_lost


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_going_back_from_each_crash_point_leaves_blue_serving_clean(point):
    report = rehearse(with_runs("back-and-forth", [{"to": "to", "crash": point}, {"to": "from"}], f"back-{point}"),
                      speed=SPEED)
    assert [str(a.result) for a in report.runs] == ["crashed", "ok"], [a.error for a in report.runs]
    assert [a.color for a in report.runs] == ["green", "blue"]
    assert_serving(report, "blue")
    assert report.cordoned_nodes == []
    assert report.budget_violations == []
    assert report.new_color_capacity["desired"] == 0 and report.new_color_capacity["nodes"] == 0  # green parked
    assert report.exit_code == ExitCode.OK


def test_going_back_after_a_finished_cutover():
    report = rehearse(with_runs("back-and-forth", [{"to": "to"}, {"to": "from"}], "back-after-success"), speed=SPEED)
    assert [str(a.result) for a in report.runs] == ["ok", "ok"], [a.error for a in report.runs]
    assert [a.color for a in report.runs] == ["green", "blue"]
    assert_serving(report, "blue")
    assert report.budget_violations == []
    assert report.new_color_capacity["desired"] == 0 and report.old_color_capacity["desired"] == 2
    assert report.exit_code == ExitCode.OK


def test_back_and_forth_through_the_command_prints_the_final_truth():
    out = io.StringIO()
    code = run_rehearsal("back-and-forth", as_json=True, speed=SPEED, out=out)
    data = json.loads(out.getvalue())
    assert [(r["to"], r["color"], r["result"]) for r in data["runs"]] == [
        ("to", "green", "crashed"), ("from", "blue", "ok"), ("to", "green", "ok")], [r["error"] for r in data["runs"]]
    for run in data["runs"]:
        assert set(run) >= {"to", "result", "error", "nodes_drained", "pods_evicted", "seconds"}
    assert data["result"] == "ok" and data["serving_color"] == "green"
    assert data["cordoned_nodes"] == [] and data["pods_lost"] == [] and data["budget_violations"] == []
    assert all(v["ready"] == v["desired"] and v["pending"] == 0 for v in data["final_availability"].values())
    assert set(data["final_availability"]) == {"default/web", "default/db", "default/solo"}
    assert code == data["exit_code"] == ExitCode.OK


def test_fragmented_capacity_run_twice_stops_cleanly_and_never_strands_a_pod():
    report = rehearse(load_scenario("fragmented-capacity"), speed=SPEED)
    assert [str(a.result) for a in report.runs] == ["failed", "failed"], [a.error for a in report.runs]
    assert "default/big" in (report.runs[0].error or "")
    # blue was never scaled to zero under the Pending pod, and the stranded pod landed back on it
    assert report.old_color_capacity["desired"] == 3 and report.old_color_capacity["nodes"] == 3
    assert report.final_nodes["blue"]["application_pods"] >= 1
    assert report.cordoned_on("blue") == [], report.cordoned_nodes
    assert report.cordoned_on("green") == [], report.cordoned_nodes
    assert_at_desired(report)
    assert report.pods_lost == [] and report.budget_violations == []
    assert report.exit_code == ExitCode.STOPPED


def test_forcing_past_a_budget_is_loud():
    out = io.StringIO()
    code = run_rehearsal("force-past-budget", as_json=True, speed=SPEED, out=out)
    data = json.loads(out.getvalue())
    assert data["result"] == "forced", data["error"]
    assert data["runs"][0]["result"] == "forced"
    assert len(data["pods_forced"]) == 1 and data["pods_forced"][0].startswith("default/slow-")
    assert data["runs"][0]["pods_forced"] == data["pods_forced"]
    (forced,) = data["runs"][0]["forced"]
    assert forced["pod"] == data["pods_forced"][0] and forced["pdb"] == "default/slow-pdb" and forced["node"]
    assert data["budget_violations"] and data["budget_violations"][0]["workload"] == "default/slow"
    assert data["serving_color"] == "green" and data["cordoned_nodes"] == [] and data["pods_lost"] == []
    assert data["final_availability"] == {"default/slow": {"ready": 2, "desired": 2, "pending": 0}}
    assert code == data["exit_code"] == ExitCode.UNSAFE


def test_a_stopped_run_prints_its_report_even_when_the_final_state_cannot_be_read(monkeypatch):
    import bluegreen.sandbox.outcome as outcome

    def broken(_cluster):
        raise RuntimeError("the cluster is gone")

    monkeypatch.setattr(outcome, "snapshot", broken)
    out = io.StringIO()
    code = run_rehearsal("bare-pod", as_json=True, speed=SPEED, out=out)
    data = json.loads(out.getvalue())
    assert data["result"] == "failed" and "debug-shell has no controller" in data["error"]
    assert "the cluster is gone" in data["final_state_error"]
    assert data["serving_color"] is None and data["final_availability"] == {}
    assert code == ExitCode.STOPPED
