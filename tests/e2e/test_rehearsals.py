"""Whole rehearsals from the builtin scenario files, each checked against the invariants:
no pod lost, no workload below its budget (explicit or implicit), every evicted pod moved exactly once,
and the old color still serving whenever a gate or budget stops the cutover."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bluegreen.engine.progress import EvictionRefused, GroupGuarded, GroupUnguarded, PodEvicted
from bluegreen.rehearsal import run_rehearsal, summary_text
from tests.e2e.rehearsing import SPEED, assert_safe, run

ROOT = Path(__file__).resolve().parents[2]


def assert_cut_over(report, nodes: int) -> None:
    assert report.result == "ok", report.error
    assert_safe(report)
    assert report.pod_moves_per_evicted_pod == 1.0
    assert report.nodes_drained == nodes
    assert report.old_color_capacity["desired"] == 0 and report.old_color_capacity["nodes"] == 0
    assert report.new_color_capacity["desired"] == nodes and report.new_color_capacity["nodes"] == nodes
    assert report.api_requests["aws"] > 0 and report.api_requests["kubernetes"] > 0


def assert_old_color_serving(report, nodes: int) -> None:
    assert report.result == "failed"
    assert_safe(report)
    assert report.pods_evicted == 0
    assert report.old_color_capacity["desired"] == nodes and report.old_color_capacity["nodes"] == nodes


def test_clean_cutover():
    report, reporter = run("small")
    assert_cut_over(report, 3)
    assert report.pods_evicted == len(reporter.of(PodEvicted)) > 0
    assert report.attempts[0].result == "ok" and len(report.attempts) == 1
    data = report.to_dict()
    for key in ("result", "error", "duration_s", "nodes_drained", "pods_evicted", "pod_moves_per_evicted_pod",
                "lowest_availability", "budget_violations", "pods_lost", "api_requests", "old_color_capacity",
                "new_color_capacity", "attempts"):
        assert key in data
    assert "default/web" in data["lowest_availability"]
    # The fake API counts response bytes as well as requests; the report gives both per moved pod.
    assert data["api_bytes"]["kubernetes"] > 0
    per_pod = data["kubernetes_per_moved_pod"]
    assert per_pod["requests"] == round(report.api_requests["kubernetes"] / report.pods_evicted, 2)
    assert per_pod["kilobytes"] == round(data["api_bytes"]["kubernetes"] / 1024 / report.pods_evicted, 2)
    assert "per moved pod" in summary_text(report)


def test_budget_that_never_allows_stops_before_any_eviction_naming_it():
    report, _ = run("pdb-blocks")
    assert_old_color_serving(report, 3)
    assert "PodDisruptionBudget default/ledger-pdb" in report.error


def test_node_never_ready_means_no_eviction_at_all():
    report, _ = run("node-never-ready")
    assert_old_color_serving(report, 3)
    assert "not ready after" in report.error and "NotReady" in report.error


def test_unhealthy_target_means_no_eviction():
    report, _ = run("target-unhealthy")
    assert_old_color_serving(report, 3)
    assert "unhealthy" in report.error and "target group" in report.error


def test_bare_pod_is_a_preflight_blocker():
    report, _ = run("bare-pod")
    assert_old_color_serving(report, 3)
    assert "has no controller" in report.error


def test_two_replicas_packed_without_pdb_are_never_both_down():
    report, _ = run("two-replicas-packed")
    assert_cut_over(report, 3)
    checkout = next(v for k, v in report.lowest_availability.items() if k.endswith("/checkout"))
    assert checkout["lowest_ready"] >= 1 and checkout["desired"] == 2


def test_api_errors_are_retried_and_the_cutover_completes():
    report, _ = run("api-errors")
    assert_cut_over(report, 3)


@pytest.mark.parametrize("name", ["crash-after-first-node", "crash-mid-node"])
def test_crash_then_rerun_completes_with_every_pod_moved_once(name):
    report, _ = run(name)
    assert [a.result for a in report.attempts] == ["crashed", "ok"]
    assert_cut_over(report, 3)


@pytest.mark.parametrize("name", ["crash-after-scale-up", "crash-after-gates", "crash-after-cordon"])
def test_other_crash_points_resume(name):
    report, _ = run(name)
    assert [a.result for a in report.attempts] == ["crashed", "ok"]
    assert_cut_over(report, 3)


def test_budgets_that_refuse_for_a_while_are_retried_not_broken():
    report, reporter = run("pdb-heavy")
    assert_cut_over(report, 3)
    assert reporter.of(EvictionRefused)  # 429s happened and were waited out
    assert report.measurements["evictions_refused"] >= len(reporter.of(EvictionRefused))
    assert reporter.of(GroupGuarded) and reporter.of(GroupUnguarded)


def test_six_nodes_with_an_opted_in_bare_pod():
    report, _ = run("six-nodes")
    assert report.result == "ok", report.error
    assert report.nodes_drained == 6 and report.new_color_capacity["nodes"] == 6
    assert report.pods_lost == ["default/debug-shell"]  # unmanaged_pods: evict — gone for good, by opt-in
    assert report.budget_violations == []


def test_cli_rehearse_json_as_a_subprocess():
    done = subprocess.run([sys.executable, "-m", "bluegreen", "rehearse", "--json", "--speed", "40"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data["result"] == "ok" and data["scenario"] == "small" and data["pods_lost"] == []
    failed = subprocess.run([sys.executable, "-m", "bluegreen", "rehearse", "--scenario", "bare-pod", "--speed", "40"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert failed.returncode == 1
    assert "result: failed" in failed.stdout and "debug-shell has no controller" in failed.stdout


def test_scenario_file_with_parallel_nodes_keeps_every_budget(tmp_path):
    text = (ROOT / "bluegreen" / "sandbox" / "scenarios" / "small.yaml").read_text()
    path = tmp_path / "parallel.yaml"
    path.write_text(text.replace("name: small", "name: parallel") + "\nrollout:\n  maxParallelNodes: 3\n")
    out = io.StringIO()
    assert run_rehearsal(str(path), as_json=True, speed=SPEED, out=out) == 0
    data = json.loads(out.getvalue())
    assert data["scenario"] == "parallel" and data["result"] == "ok"
    assert data["nodes_drained"] == 3 and data["pods_lost"] == [] and data["budget_violations"] == []
    assert data["pod_moves_per_evicted_pod"] == 1.0
    for key, seen in data["lowest_availability"].items():
        assert seen["lowest_ready"] >= seen["budget"], key
