"""The paced strategy (rollout.strategy: paced) end to end: a canary node alone, then every remaining old node at
once in the waves each budget allows; every invariant of a serial cutover kept, and a stop mid-way that obeys the
stop invariant."""

from __future__ import annotations

import yaml

from bluegreen.engine.progress import (
    NodeDrained,
    NodeDrainStarted,
    PacedDrainStarted,
    PodEvicted,
    RollbackStarted,
    WaveEvicted,
)
from bluegreen.rehearsal import ExitCode
from bluegreen.sandbox.scenario import load_scenario, parse_scenario
from tests.e2e.rehearsing import run
from tests.e2e.test_runs import BUILTIN, assert_serving


def test_paced_on_a_pdb_heavy_scenario_completes_with_every_invariant():
    report, reporter = run(load_scenario("paced-pdb-heavy"))
    assert report.result == "ok", report.error
    assert report.exit_code == ExitCode.OK
    assert report.pods_lost == [] and report.pods_forced == []
    assert report.budget_violations == [], report.budget_violations  # the sandbox's own meter
    for key, seen in report.lowest_availability.items():
        assert seen["lowest_ready"] >= seen["budget"], (key, seen)
    assert report.pod_moves_per_evicted_pod == 1.0
    assert report.nodes_drained == 6 and report.pods_evicted == len(reporter.of(PodEvicted)) == 41
    assert_serving(report, "green")
    assert all(v["ready"] == v["desired"] and v["pending"] == 0 for v in report.final_availability.values())
    assert report.cordoned_nodes == []
    assert report.old_color_capacity["desired"] == 0 and report.old_color_capacity["nodes"] == 0

    events = reporter.events
    (paced,) = reporter.of(PacedDrainStarted)
    assert (paced.nodes, paced.workloads) == (5, 5)
    at = events.index(paced)
    # the canary: the oldest node alone, drained (and its workloads whole again) before the paced phase
    canary = [e for e in events[:at] if isinstance(e, NodeDrainStarted)]
    assert len(canary) == 1 and canary[0].index == 1
    assert {e.node for e in events[:at] if isinstance(e, PodEvicted)} == {canary[0].node}
    assert [e.node for e in events[:at] if isinstance(e, NodeDrained)] == [canary[0].node]
    # then every other node at once: all five started before any of them is drained
    rest = [e for e in events[at:] if isinstance(e, NodeDrained)]
    assert len(rest) == 5 and len([e for e in events[:at] if isinstance(e, NodeDrainStarted)]) == 1
    # each wave no bigger than its budget allows with every pod healthy
    biggest: dict[str, int] = {}
    for wave in reporter.of(WaveEvicted):
        biggest[wave.workload] = max(biggest.get(wave.workload, 0), wave.pods)
    assert biggest == {"Deployment default/web": 2, "Deployment default/api": 2, "Deployment default/worker": 2,
                       "Deployment default/batch": 2, "StatefulSet default/cache": 1}
    # a workload's waves across all remaining nodes: web's ten pods after the canary go in five waves of two
    assert [w.wave for w in reporter.of(WaveEvicted) if w.workload == "Deployment default/web"] == [1, 2, 3, 4, 5]
    # some wave took pods from more than one node at once (the point of pacing)
    assert any(w.nodes > 1 for w in reporter.of(WaveEvicted))


def test_a_paced_drain_stopped_at_a_workloads_gate_obeys_the_stop_invariant():
    report, reporter = run(load_scenario("paced-stops"))
    assert report.result == "failed", report.error
    # exit 3, not 1: the meter counts the api pod moved onto the broken AMI as lost (its replacement is never
    # Ready), as in the serial never-ready-stops rehearsal
    assert report.exit_code == ExitCode.UNSAFE
    assert "workload Deployment default/api not fully available" in report.error, report.error
    assert "the drain stopped before its next wave" in report.error
    assert report.budget_violations == [], report.budget_violations
    assert reporter.of(PacedDrainStarted)  # it stopped in the paced phase, after the canary
    # one wave of api (its implicit budget: one pod) and no second pod risked
    api = [e for e in reporter.of(PodEvicted) if e.workload == "Deployment default/api"]
    assert len(api) == 1 and report.pods_lost == [api[0].pod]
    assert [w.wave for w in reporter.of(WaveEvicted) if w.workload == "Deployment default/api"] == [1]
    # the stop invariant: the old nodes it cordoned take pods again, nothing Pending behind a cordon, and the
    # message states the state
    assert "uncordoned 3 blue node(s)" in report.error
    assert report.cordoned_nodes == []
    assert report.old_color_capacity["desired"] == 3 and report.old_color_capacity["nodes"] == 3
    assert all(v["pending"] == 0 for v in report.final_availability.values()), report.final_availability
    below = {k: (v["ready"], v["desired"]) for k, v in report.final_availability.items() if v["ready"] < v["desired"]}
    assert below == {"default/api": (3, 4)}  # only the pod on the broken AMI, never Ready


def test_a_paced_cutover_whose_gate_times_out_rolls_back_with_the_same_strategy():
    document = yaml.safe_load((BUILTIN / "never-ready-after-move.yaml").read_text())
    document["name"] = "never-ready-after-move-paced"
    document["rollout"]["strategy"] = "paced"
    report, reporter = run(parse_scenario(document, source="paced-rollback.yaml"))
    assert report.result == "rolled_back", report.error
    assert reporter.of(RollbackStarted)
    assert_serving(report, "blue")
    assert report.budget_violations == [] and report.pods_lost == []
    assert len(report.cordoned_on("green")) == 3, report.cordoned_nodes
