"""End-to-end rehearsals of the pod states a real cluster has (issue 10): unready pods, pods stuck Terminating,
an old node lost mid-drain, an app the new AMI breaks. Each asserts the outcome and the safety invariants."""

from __future__ import annotations

from bluegreen.engine.progress import DeleteNotAwaited, PodEvicted, PodStuckTerminating
from tests.e2e.rehearsing import assert_safe, run


def test_unready_pods_are_evicted_at_once_and_the_cutover_completes():
    report, reporter = run("unready-pods")
    assert report.result == "ok", report.error
    # not assert_safe: the worker's pods are unready before the move, so its lowest ready count starts at 0; the
    # meter judges a violation only against pods that were Ready
    assert report.pods_lost == [] and report.budget_violations == [], (report.pods_lost, report.budget_violations)
    evicted = [e for e in reporter.of(PodEvicted) if e.workload == "Deployment default/worker"]
    assert len(evicted) == 3
    # unready pods cost no availability: the worker pods of one node leave in the same pass, not one by one
    # after each replacement turned Ready
    assert report.pod_moves_per_evicted_pod == 1.0


def test_an_app_the_new_ami_breaks_stops_at_the_health_gate_with_the_old_color_serving():
    report, reporter = run("never-ready-stops")
    assert report.result == "failed"
    assert report.budget_violations == [], report.budget_violations
    assert "workload Deployment default/api not fully available" in report.error, report.error
    assert "uncordoned" in report.error  # the stop invariant: the old nodes take pods again
    assert report.old_color_capacity["nodes"] == 2
    # one api pod at a time (its implicit budget): exactly the one pod moved onto the broken AMI is missing;
    # no second pod was risked
    api = [e for e in reporter.of(PodEvicted) if e.workload == "Deployment default/api"]
    assert len(api) == 1 and len(report.pods_lost) == 1 and report.pods_lost[0].startswith("default/api-")


def test_a_pod_stuck_terminating_is_named_with_its_finalizer_and_stops_the_drain():
    report, reporter = run("stuck-terminating")
    assert report.result == "failed"
    assert_safe(report)
    assert "stuck Terminating" in report.error, report.error
    assert "finalizers sandbox.bluegreen.io/never-released" in report.error
    assert "node ip-" in report.error and "Ready" in report.error
    stuck = reporter.of(PodStuckTerminating)
    assert len(stuck) == 1 and stuck[0].finalizers == ("sandbox.bluegreen.io/never-released",)


def test_an_old_node_lost_mid_drain_is_not_waited_for_and_the_drain_completes():
    report, reporter = run("old-node-lost")
    assert report.result == "ok", report.error
    assert_safe(report)
    skipped = reporter.of(DeleteNotAwaited)
    assert skipped and "unreachable" in skipped[0].node_state


def test_a_rollout_during_the_drain_completes_with_every_workload_at_desired():
    report, reporter = run("rollout-mid-drain")
    assert report.result == "ok", report.error
    assert_safe(report)
    assert report.final_availability == {"default/api": {"ready": 3, "desired": 3, "pending": 0},
                                         "default/web": {"ready": 4, "desired": 4, "pending": 0}}
    # the controllers replaced some old pods themselves while the drain waited: each pod moved at most once
    assert 0 < report.pods_evicted <= 7 and report.pod_moves_per_evicted_pod == 1.0


def test_a_running_job_pod_is_waited_for_and_the_job_completes():
    report, reporter = run("job-waited-for")
    assert report.result == "ok", report.error
    assert_safe(report)
    assert not [e for e in reporter.of(PodEvicted) if e.pod.startswith("default/report-")]  # never evicted
    assert report.final_availability["default/report"] == {"ready": 2, "desired": 2, "pending": 0}
    assert report.final_availability["default/web"] == {"ready": 2, "desired": 2, "pending": 0}


def test_pods_of_an_unknown_controller_kind_move_one_ready_pod_at_a_time():
    report, reporter = run("unknown-owner")
    assert report.result == "ok", report.error
    assert_safe(report)
    assert len([e for e in reporter.of(PodEvicted) if e.workload == "PodSet default/cache"]) == 3
    # the generic rule: never more than one of its three pods down (without it all three would go at once)
    assert report.lowest_availability["default/cache"]["lowest_ready"] == 2
    assert report.final_availability["default/cache"] == {"ready": 3, "desired": 3, "pending": 0}
