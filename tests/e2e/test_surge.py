"""End-to-end rehearsals of issue 14, bullets 1 and 2: a single-replica Deployment moved by surge (never below 1/1
Ready, as the sandbox's meter measures it), rollout.singleReplica=block and evict, and pods that opt out of
disruption (rollout.doNotDisrupt block / wait / ignore)."""

from __future__ import annotations

import io
import json

from bluegreen.cli import main as cli_main
from bluegreen.engine.opt_outs import OptOutsReleased, OptOutsWaiting
from bluegreen.engine.progress import NodesCordoned, PodEvicted
from bluegreen.engine.surge import SurgeMoved, SurgeStarted
from bluegreen.sandbox.scenario import load_scenario, parse_scenario
from bluegreen.sandbox.world import Sandbox
from tests.e2e.rehearsing import SPEED, run
from tests.e2e.test_placement import _joined


def assert_safe(report) -> None:
    assert report.pods_lost == [], report.pods_lost
    assert report.budget_violations == [], report.budget_violations


def assert_untouched(report, reporter) -> None:
    """Stopped at the preflight: nothing evicted, nothing cordoned, the old color serving."""
    assert report.result == "failed"
    assert report.pods_evicted == 0 and report.nodes_drained == 0 and report.pods_moved_by_surge == 0
    assert not reporter.of(PodEvicted) and not reporter.of(NodesCordoned)
    assert report.cordoned_nodes == [] and report.serving_color == "blue"


# -- surge moves --------------------------------------------------------------------------------------------------


def test_a_deployment_whose_pdb_never_allows_an_eviction_moves_by_surge_keeping_the_budget():
    report, reporter = run(load_scenario("pdb-held-surge"))
    assert report.result == "ok", report.error
    assert_safe(report)
    for name, desired in (("default/solo", 1), ("default/api", 3)):
        seen = report.lowest_availability[name]
        assert (seen["lowest_ready"], seen["desired"]) == (desired, desired), (name, seen)
        assert report.final_availability[name] == {"ready": desired, "desired": desired, "pending": 0}
    assert not [e for e in reporter.of(PodEvicted) if "solo" in e.pod or "api" in e.pod]
    assert report.pods_moved_by_surge == 4 and report.pods_evicted == 2  # web's two pods, within its budget
    assert sorted(w for e in reporter.of(SurgeStarted) for w in e.workloads) == [
        "Deployment default/api", "Deployment default/solo"]
    # by default (budgetAllowsNone=block) the same budgets are what they always were: blockers, nothing touched
    stopped, events = run(load_scenario("pdb-held-surge"), budget_allows_none="block")
    assert_untouched(stopped, events)
    assert "default/solo" in stopped.error and "allows no disruption" in stopped.error


def test_a_single_replica_deployment_moves_by_surge_never_below_one_ready():
    report, reporter = run(load_scenario("single-replica-surge"))
    assert report.result == "ok", report.error
    assert_safe(report)
    # the meter (the sandbox's own, engine-independent): solo never had fewer than 1 Ready pod
    solo = report.lowest_availability["default/solo"]
    assert (solo["lowest_ready"], solo["desired"]) == (1, 1)
    # its old pod was removed by its controller, not evicted: counted apart, by the meter and by the engine alike
    assert report.pods_moved_by_surge == 1 == report.runs[0].pods_moved_by_surge
    (moved,) = report.measurements["surge_moves"]
    assert moved["workload"] == "default/solo"
    assert [e.workloads for e in reporter.of(SurgeStarted)] == [("Deployment default/solo",)]
    (event,) = reporter.of(SurgeMoved)
    assert event.pods == (moved["pod"],) and event.from_nodes == (moved["from_node"],)
    assert not [e for e in reporter.of(PodEvicted) if "solo" in e.pod]
    # every other pod was evicted once (the StatefulSet cannot surge: evicted as before, 0/1 while it moves)
    evicted = reporter.of(PodEvicted)
    assert report.pods_evicted == len(evicted) == 3 and report.pod_moves_per_evicted_pod == 1.0
    assert {e.workload for e in evicted} == {"StatefulSet default/cache", "Deployment default/web"}
    assert report.lowest_availability["default/cache"]["lowest_ready"] == 0
    assert report.final_availability["default/solo"] == {"ready": 1, "desired": 1, "pending": 0}
    # the surge came after every old node was cordoned, before the first eviction
    kinds = [type(e).__name__ for e in reporter.events if isinstance(e, NodesCordoned | SurgeStarted | PodEvicted)]
    assert kinds[:2] == ["NodesCordoned", "SurgeStarted"]


def test_single_replica_block_stops_before_any_eviction_naming_each_workload():
    report, reporter = run(load_scenario("single-replica-surge"), single_replica="block")
    assert_untouched(report, reporter)
    assert "drain not started" in report.error
    blockers = [line for line in report.error.splitlines() if "rollout.singleReplica=block" in line]
    assert len(blockers) == 2, report.error
    assert any("Deployment default/solo would go to 0/1 Ready" in b and "could move by surge" in b for b in blockers)
    assert any("StatefulSet default/cache" in b and "cannot surge" in b for b in blockers)


def test_single_replica_evict_is_the_old_behaviour_and_the_meter_sees_the_gap():
    report, reporter = run(load_scenario("single-replica-surge"), single_replica="evict")
    assert report.result == "ok", report.error
    assert_safe(report)
    assert report.pods_moved_by_surge == 0 and not reporter.of(SurgeStarted)
    assert report.lowest_availability["default/solo"]["lowest_ready"] == 0  # the outage surge avoids
    assert report.pods_evicted == 4 and report.pod_moves_per_evicted_pod == 1.0


def test_a_surge_whose_new_pod_never_turns_ready_stops_with_the_old_pod_still_serving():
    scenario = parse_scenario({
        "name": "surge-never-ready", "nodes_per_color": 2, "node": {"cpu": "4", "memory": "16Gi", "pods": 110},
        "join_seconds": 10, "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-0bbbbbbbbbbbbbbbb"},
        "load_balancers": {"target_groups": 1, "healthy_after_seconds": 5},
        "workloads": [{"kind": "Deployment", "name": "solo", "ready_seconds": 2}],
        "faults": [{"kind": "never_ready_after_move", "workload": "solo"}],
        "rollout": {"workloadHealthyTimeoutSeconds": 60},
    })
    report, reporter = run(scenario)
    assert report.result == "failed"
    assert "the surge move of Deployment default/solo (a rolling restart) did not complete after 6" in report.error
    assert "new pod(s) not Ready yet: default/solo-" in report.error and "State now:" in report.error, report.error
    assert report.pods_evicted == 0 and report.pods_moved_by_surge == 0
    assert report.lowest_availability["default/solo"]["lowest_ready"] == 1  # the old pod kept serving
    assert report.budget_violations == []


def test_cli_plan_lists_the_workloads_that_move_by_surge():
    box = Sandbox.start(load_scenario("single-replica-surge"), speed=SPEED)
    try:
        _joined(box)
        flags = ["--cluster", box.cluster_name, "--region", box.region, "--aws-endpoint-url", box.aws_endpoint,
                 "--kubeconfig", box.kubeconfig_path, "--to", box.new_color]
        out = io.StringIO()
        assert cli_main(["plan", *flags], out=out) == 0, out.getvalue()
        text = out.getvalue()
        assert "Deployment default/solo: 1 pod(s), moves by surge (rolling restart onto the new nodes; keeps at " \
               "least 1/1 Ready)" in text, text
        assert "warning: StatefulSet default/cache goes to 0/1 Ready while it moves: a StatefulSet" in text, text
        out = io.StringIO()
        assert cli_main(["plan", *flags, "--json"], out=out) == 0
        plan = json.loads(out.getvalue())
        assert plan["surge"] == ["Deployment default/solo"]
        assert {s["workload"]: s["action"] for s in plan["single_replicas"]} == {
            "Deployment default/solo": "surge", "StatefulSet default/cache": "evict"}
        with box.cluster.lock:  # read-only
            assert not any(n["spec"].get("unschedulable") for n in box.cluster.list("nodes"))
    finally:
        box.stop()


# -- opt-outs -----------------------------------------------------------------------------------------------------


def _opt_out_scenario(workloads: list[dict], rollout: dict | None = None):
    return parse_scenario({
        "name": "opt-out", "nodes_per_color": 2, "node": {"cpu": "4", "memory": "16Gi", "pods": 110},
        "join_seconds": 10, "ami": {"from": "ami-0aaaaaaaaaaaaaaaa", "to": "ami-0bbbbbbbbbbbbbbbb"},
        "load_balancers": {"target_groups": 1, "healthy_after_seconds": 5}, "placement": "packed",
        "workloads": workloads, "rollout": rollout or {},
    })


def test_a_do_not_disrupt_pod_blocks_by_default_naming_it():
    report, reporter = run(load_scenario("do-not-disrupt"))
    assert_untouched(report, reporter)
    lines = [line for line in report.error.splitlines() if "opts out of disruption" in line]
    assert len(lines) == 2 and all("default/batch-" in line and 'karpenter.sh/do-not-disrupt="true"' in line
                                   for line in lines), report.error


def test_safe_to_evict_false_blocks_too():
    scenario = _opt_out_scenario([{"kind": "Deployment", "name": "keep", "replicas": 2, "ready_seconds": 2,
                                   "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}])
    report, reporter = run(scenario)
    assert_untouched(report, reporter)
    assert 'cluster-autoscaler.kubernetes.io/safe-to-evict="false"' in report.error


def test_do_not_disrupt_wait_waits_for_the_pod_to_finish_then_drains():
    # A Job's pod opts out while it runs: the drain of its node waits until it completes, never evicts it.
    scenario = _opt_out_scenario(
        [{"kind": "Job", "name": "report", "run_seconds": 400, "ready_seconds": 2,
          "annotations": {"karpenter.sh/do-not-disrupt": "true"}},
         {"kind": "Deployment", "name": "web", "replicas": 2, "ready_seconds": 2, "pdb": {"minAvailable": 1}}],
        {"doNotDisrupt": "wait", "doNotDisruptTimeoutSeconds": 900, "nodeDrainTimeoutSeconds": 1200})
    report, reporter = run(scenario)
    assert report.result == "ok", report.error
    assert_safe(report)
    assert reporter.of(OptOutsWaiting) and reporter.of(OptOutsReleased)
    assert not [e for e in reporter.of(PodEvicted) if "report" in e.pod]


def test_do_not_disrupt_wait_stops_after_its_timeout_with_the_old_color_serving():
    scenario = _opt_out_scenario(
        [{"kind": "Deployment", "name": "batch", "replicas": 2, "ready_seconds": 2,
          "annotations": {"karpenter.sh/do-not-disrupt": "true"}}],
        {"doNotDisrupt": "wait", "doNotDisruptTimeoutSeconds": 30})
    report, reporter = run(scenario)
    assert report.result == "failed"
    assert_safe(report)
    assert "still opt out of disruption after 3" in report.error and "rollout.doNotDisruptTimeoutSeconds" in \
        report.error, report.error
    assert "State now:" in report.error  # the stop invariant stated what it left
    assert report.pods_evicted == 0
    assert report.final_availability["default/batch"] == {"ready": 2, "desired": 2, "pending": 0}


def test_do_not_disrupt_ignore_evicts_them_within_their_budget():
    scenario = _opt_out_scenario(
        [{"kind": "Deployment", "name": "batch", "replicas": 2, "ready_seconds": 2,
          "annotations": {"karpenter.sh/do-not-disrupt": "true"}}], {"doNotDisrupt": "ignore"})
    report, reporter = run(scenario)
    assert report.result == "ok", report.error
    assert_safe(report)
    assert report.pods_evicted == 2 and report.pod_moves_per_evicted_pod == 1.0


def test_surge_moves_come_first_under_the_paced_strategy_too():
    report, reporter = run(load_scenario("single-replica-surge"), strategy="paced")
    assert report.result == "ok", report.error
    assert_safe(report)
    solo = report.lowest_availability["default/solo"]
    assert (solo["lowest_ready"], solo["desired"]) == (1, 1)
    assert report.pods_moved_by_surge == 1 and not [e for e in reporter.of(PodEvicted) if "solo" in e.pod]
